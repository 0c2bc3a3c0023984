"""Complaints (12345 热线 / 投诉举报) over HTTP: schema → command → use case → schema."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from services.civil_affairs.application import complaints as uc
from services.civil_affairs.application.appeals import GrievanceDeps
from services.civil_affairs.application.ports import Work
from shared.app import get_principal, get_uow
from shared.auth import Principal

from .appeals import grievance_deps
from .appeals_schemas import ComplaintCreate, ComplaintPage, ComplaintRead, ComplaintTransition

#: appeals and complaints have UUIDs; anything else cannot name one (422, never a database error)
_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
router = APIRouter(prefix="/api/v1", tags=["complaints"])


@router.post("/complaints", status_code=201, response_model=ComplaintRead)
async def file_complaint(
    body: ComplaintCreate,
    uow: Work = Depends(get_uow),
    deps: GrievanceDeps = Depends(grievance_deps),
    principal: Principal = Depends(get_principal),
) -> ComplaintRead:
    """Intake: a citizen through the app, an officer recording a hotline call, letter or visit, a
    department referring one. Routed by topic and region; acknowledgement and reply deadlines in
    working days from the policy in force."""
    cmd = uc.FileComplaint(
        principal=principal,
        channel=body.channel,
        text=body.text,
        region_code=body.region_code,
        topic=body.topic,
        household_id=body.household_id,
        person_id_number=body.person.id_number if body.person else None,
        contact_phone=body.contact_phone,
        officer_level=body.officer_level,
    )
    return ComplaintRead.model_validate(await uc.file_complaint(cmd, uow, deps), from_attributes=True)


@router.get("/complaints", response_model=ComplaintPage)
async def list_complaints(
    state: str | None = Query(default=None, pattern=r"^[a-z_]{1,20}$"),
    topic: str | None = Query(default=None, pattern=r"^[a-z_]{1,24}$"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=1_000_000),
    uow: Work = Depends(get_uow),
    deps: GrievanceDeps = Depends(grievance_deps),
    principal: Principal = Depends(get_principal),
) -> ComplaintPage:
    cmd = uc.ListComplaints(principal, state=state, topic=topic, limit=limit, offset=offset)
    return ComplaintPage.model_validate(await uc.list_complaints(cmd, uow, deps), from_attributes=True)


@router.get("/complaints/{complaint_id}", response_model=ComplaintRead)
async def read_complaint(
    complaint_id: str = Path(pattern=_ID),
    uow: Work = Depends(get_uow),
    deps: GrievanceDeps = Depends(grievance_deps),
    principal: Principal = Depends(get_principal),
) -> ComplaintRead:
    return ComplaintRead.model_validate(
        await uc.get_complaint(principal, complaint_id, uow, deps), from_attributes=True
    )


@router.post("/complaints/{complaint_id}/transitions", response_model=ComplaintRead)
async def act_on_complaint(
    body: ComplaintTransition,
    complaint_id: str = Path(pattern=_ID),
    uow: Work = Depends(get_uow),
    deps: GrievanceDeps = Depends(grievance_deps),
    principal: Principal = Depends(get_principal),
) -> ComplaintRead:
    """`acknowledge` (受理), `transfer` (转办: `to_region` a unit covering the place, or
    `to_department`), `reply` (`note` the reply), `close` (办结, `satisfaction`), `reopen` (`note` why)."""
    cmd = uc.ActOnComplaint(
        principal,
        complaint_id,
        body.action,
        note=body.note,
        to_region=body.to_region,
        to_department=body.to_department,
        satisfaction=body.satisfaction,
        version=body.version,
    )
    return ComplaintRead.model_validate(await uc.act_on_complaint(cmd, uow, deps), from_attributes=True)
