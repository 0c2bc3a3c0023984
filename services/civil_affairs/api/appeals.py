"""Appeals (申诉/复核申请) over HTTP: schema → command → use case → schema."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query

from services.civil_affairs.adapters.appeals_subjects import IdentificationSubjects, identification_url
from services.civil_affairs.adapters.context import extras_of
from services.civil_affairs.application import appeals as uc
from services.civil_affairs.application.appeals import GrievanceDeps
from services.civil_affairs.application.ports import Work
from shared.app import ServiceContext, get_ctx, get_principal, get_uow
from shared.auth import Principal

from .appeals_schemas import AppealCreate, AppealPage, AppealRead, AppealTransition

#: appeals and complaints have UUIDs; anything else cannot name one (422, never a database error)
_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
router = APIRouter(prefix="/api/v1", tags=["appeals"])


def grievance_deps(ctx: ServiceContext = Depends(get_ctx)) -> GrievanceDeps:
    extras = extras_of(ctx)
    subjects = IdentificationSubjects(
        identification_url(extras.identification_url),
        ctx.settings.secret("internal_secret"),
        transport=extras.identification_transport,
    )
    return GrievanceDeps(cipher=ctx.cipher, now=ctx.now, subjects=subjects)


def _read(result: uc.AppealView) -> AppealRead:
    return AppealRead.model_validate(result, from_attributes=True)


@router.post("/appeals", status_code=201, response_model=AppealRead)
async def file_appeal(
    body: AppealCreate,
    uow: Work = Depends(get_uow),
    deps: GrievanceDeps = Depends(grievance_deps),
    principal: Principal = Depends(get_principal),
) -> AppealRead:
    """A citizen appeals a refusal that concerns them (identification checks that they submitted
    the application or belong to the household), or an officer files on their behalf. Routed to
    the level above the one that decided, with a deadline from the policy in force."""
    cmd = uc.FileAppeal(
        principal=principal,
        subject_kind=body.subject.kind,
        subject_id=body.subject.id,
        household_id=body.household_id,
        region_code=body.region_code,
        grounds=body.grounds,
        attachments=body.attachments,
        decided_level=body.decided_level,
        appellant_id_number=body.appellant_id_number,
    )
    return _read(await uc.file_appeal(cmd, uow, deps))


@router.get("/appeals", response_model=AppealPage)
async def list_appeals(
    state: str | None = Query(default=None, pattern=r"^[a-z_]{1,20}$"),
    household_id: str | None = Query(default=None, pattern=r"^[A-Za-z0-9_\-:.]{1,64}$"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=1_000_000),
    uow: Work = Depends(get_uow),
    deps: GrievanceDeps = Depends(grievance_deps),
    principal: Principal = Depends(get_principal),
) -> AppealPage:
    """A citizen's own appeals; an officer's within region, newest first."""
    cmd = uc.ListAppeals(principal, state=state, household_id=household_id, limit=limit, offset=offset)
    return AppealPage.model_validate(await uc.list_appeals(cmd, uow, deps), from_attributes=True)


@router.get("/appeals/{appeal_id}", response_model=AppealRead)
async def read_appeal(
    appeal_id: str = Path(pattern=_ID),
    uow: Work = Depends(get_uow),
    deps: GrievanceDeps = Depends(grievance_deps),
    principal: Principal = Depends(get_principal),
) -> AppealRead:
    return _read(await uc.get_appeal(principal, appeal_id, uow, deps))


@router.post("/appeals/{appeal_id}/transitions", response_model=AppealRead)
async def act_on_appeal(
    body: AppealTransition,
    appeal_id: str = Path(pattern=_ID),
    uow: Work = Depends(get_uow),
    deps: GrievanceDeps = Depends(grievance_deps),
    principal: Principal = Depends(get_principal),
) -> AppealRead:
    """`start_review`, `decide` (`outcome` upheld | overturned | partly_upheld, with `reason`) by
    an officer of the reviewing level; `withdraw` by the appellant or an officer within region."""
    cmd = uc.ActOnAppeal(
        principal, appeal_id, body.action, outcome=body.outcome, reason=body.reason, version=body.version
    )
    return _read(await uc.act_on_appeal(cmd, uow, deps))
