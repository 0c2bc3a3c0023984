"""Contact persons (roster per village, masked) and visits: record, list, due and overdue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query

from services.assistance.adapters.queries import AssistanceReads
from services.assistance.adapters.unit_of_work import AssistanceUnitOfWork
from services.assistance.application import reads
from services.assistance.application import visits as use
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal

from .bodies import contact_body, visit_body, visit_due_body
from .deps import get_reads, get_work
from .schemas import ContactAccount, ContactCreate, VisitCreate

router = APIRouter(prefix="/api/v1", tags=["contacts and visits"])


@router.post("/contacts", status_code=201)
async def add_contact(
    body: ContactCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """A contact person (帮扶联系人) on a village's roster; name and phone stored encrypted."""
    cmd = use.CreateContact(body.region_code, body.name, body.phone, body.unit, body.sub)
    contact = await use.create_contact(uow, ctx.cipher, principal, cmd, at=ctx.now())
    return contact_body(reads.contact_view(ctx.cipher, contact, 0))


@router.put("/contacts/{contact_id}/account")
async def put_contact_account(
    contact_id: str,
    body: ContactAccount,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Link the contact person's account (their token `sub`) so that notification puts new plans,
    visit reminders and overdue alerts in their inbox; `null` unlinks it."""
    cmd = use.LinkContactAccount(contact_id, body.sub)
    contact = await use.link_contact_account(uow, ctx.cipher, principal, cmd, at=ctx.now())
    return contact_body(reads.contact_view(ctx.cipher, contact))


@router.get("/contacts")
async def list_contacts(
    region: str | None = None,
    ctx: ServiceContext = Depends(get_ctx),
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    items = await reads.list_contacts(queries, ctx.cipher, principal, reads.ListContacts(region))
    return {"items": [contact_body(c) for c in items]}


@router.get("/contacts/{contact_id}")
async def get_contact(
    contact_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return contact_body(await reads.get_contact(queries, ctx.cipher, principal, contact_id))


@router.post("/visits", status_code=201)
async def add_visit(
    body: VisitCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """A visit (or phone call): not dated in the future (422); with updated income it publishes
    `assistance.income_updated`."""
    cmd = use.RecordVisit(
        household_id=body.household_id,
        visited_on=body.visited_on,
        contact_id=body.contact_id,
        mode=body.mode,
        findings=body.findings,
        income=body.income.model_dump(exclude_none=True) if body.income else None,
        attachments=list(body.attachments),
    )
    done = await use.record_visit(uow, principal, cmd, today=ctx.today(), at=ctx.now())
    v = done.visit
    return {
        "id": v.id,
        "plan_id": v.plan_id,
        "household_id": v.household_id,
        "region_code": v.region_code,
        "contact_id": v.contact_id,
        "visited_on": v.visited_on.isoformat(),
        "mode": v.mode,
        "findings": v.findings,
        "income": v.income,
        "attachments": list(v.attachments),
        "next_visit_due": done.next_visit_due.isoformat(),
    }


@router.get("/visits")
async def list_visits(
    household_id: str | None = None,
    region: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    items = await reads.list_visits(queries, principal, reads.ListVisits(household_id, region, limit))
    return {"items": [visit_body(v) for v in items]}


@router.get("/visits/due")
async def visits_due(
    region: str | None = None,
    contact: str | None = None,
    until: dt.date | None = None,
    ctx: ServiceContext = Depends(get_ctx),
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Visits due by `until` (default: the end of the next 30 days), overdue ones included and
    flagged; monthly while monitored, six-monthly after elimination (002 篇八 §(一))."""
    day = ctx.today()
    q = reads.ListVisitsDue(region, contact, until=until or day + dt.timedelta(days=30))
    items = await reads.visit_schedule(queries, principal, q, today=day)
    return {"as_of": day.isoformat(), "items": [visit_due_body(r) for r in items]}


@router.get("/visits/overdue")
async def visits_overdue(
    region: str | None = None,
    contact: str | None = None,
    ctx: ServiceContext = Depends(get_ctx),
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    day = ctx.today()
    q = reads.ListVisitsDue(region, contact, until=None, only_overdue=True)
    items = await reads.visit_schedule(queries, principal, q, today=day)
    return {"as_of": day.isoformat(), "items": [visit_due_body(r) for r in items]}
