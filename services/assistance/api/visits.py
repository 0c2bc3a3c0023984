"""Contact persons (roster per village, masked) and visits: record, list, due and overdue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.adapters.orm import contacts, plans, visits
from services.assistance.adapters.repository import Repository
from services.assistance.application.common import (
    ensure_sees,
    region_filter,
    require_reader,
)
from services.assistance.application.reads import contact_read
from services.assistance.application.visits import create_contact, link_contact_account, record_visit
from shared.app import ServiceContext, get_ctx, get_principal, get_session, get_uow
from shared.auth import Principal
from shared.db import UnitOfWork
from shared.errors import NotFound
from shared.pii import mask_numbers_in_value

from .schemas import ContactAccount, ContactCreate, VisitCreate

router = APIRouter(prefix="/api/v1", tags=["contacts and visits"])


def _prefix(col: Any, region: str) -> Any:
    return col.like(f"{region}%") if region else sa.true()


@router.post("/contacts", status_code=201)
async def add_contact(
    body: ContactCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """A contact person (帮扶联系人) on a village's roster; name and phone stored encrypted."""
    cid = await create_contact(
        ctx,
        uow,
        principal,
        region_code=body.region_code,
        name=body.name,
        phone=body.phone,
        unit=body.unit,
        at=ctx.now(),
        sub=body.sub,
    )
    await uow.commit()
    return contact_read(ctx, await Repository(uow.session).contact(cid), 0)


@router.put("/contacts/{contact_id}/account")
async def put_contact_account(
    contact_id: str,
    body: ContactAccount,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Link the contact person's account (their token `sub`) so that notification puts new plans,
    visit reminders and overdue alerts in their inbox; `null` unlinks it."""
    row = await link_contact_account(ctx, uow, principal, contact_id=contact_id, sub=body.sub, at=ctx.now())
    await uow.commit()
    return contact_read(ctx, row)


@router.get("/contacts")
async def list_contacts(
    region: str | None = None,
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    require_reader(principal)
    scope = region_filter(principal, region)
    load = (
        sa.select(plans.c.contact_id, sa.func.count().label("n"))
        .where(plans.c.active_key.is_not(None))
        .group_by(plans.c.contact_id)
        .subquery()
    )
    q = (
        sa.select(contacts, sa.func.coalesce(load.c.n, 0).label("households"))
        .select_from(contacts.outerjoin(load, load.c.contact_id == contacts.c.id))
        .where(_prefix(contacts.c.region_code, scope))
        .order_by(contacts.c.region_code, contacts.c.id)
    )
    rows = (await session.execute(q)).all()
    return {"items": [contact_read(ctx, r, int(r.households)) for r in rows]}


@router.get("/contacts/{contact_id}")
async def get_contact(
    contact_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    require_reader(principal)
    row = await Repository(session).contact(contact_id)
    if row is None:
        raise NotFound("contact not found")
    ensure_sees(principal, row.region_code, "contact")
    return contact_read(ctx, row)


@router.post("/visits", status_code=201)
async def add_visit(
    body: VisitCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """A visit (or phone call): not dated in the future (422); with updated income it publishes
    `assistance.income_updated`."""
    out = await record_visit(
        uow,
        principal,
        household_id=body.household_id,
        visited_on=body.visited_on,
        contact_id=body.contact_id,
        mode=body.mode,
        findings=body.findings,
        income=body.income.model_dump(exclude_none=True) if body.income else None,
        attachments=body.attachments,
        today=ctx.today(),
        at=ctx.now(),
    )
    await uow.commit()
    return out


@router.get("/visits")
async def list_visits(
    household_id: str | None = None,
    region: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    require_reader(principal)
    scope = region_filter(principal, region)
    q = sa.select(visits).where(_prefix(visits.c.region_code, scope))
    if household_id is not None:
        q = q.where(visits.c.household_id == household_id)
    rows = (await session.execute(q.order_by(visits.c.visited_on.desc(), visits.c.id).limit(limit))).all()
    return {
        "items": [
            {
                "id": r.id,
                "plan_id": r.plan_id,
                "household_id": r.household_id,
                "region_code": r.region_code,
                "contact_id": r.contact_id,
                "visited_on": r.visited_on.isoformat(),
                "mode": r.mode,
                "findings": mask_numbers_in_value(r.findings),  # masked when written; again for older rows
                "income": r.income,
                "attachments": mask_numbers_in_value(r.attachments),
            }
            for r in rows
        ]
    }


async def _schedule(
    session: AsyncSession, scope: str, contact: str | None, until: dt.date | None, day: dt.date, only_overdue: bool
) -> list[dict[str, Any]]:
    q = sa.select(plans).where(plans.c.next_visit_due.is_not(None), _prefix(plans.c.region_code, scope))
    if contact is not None:
        q = q.where(plans.c.contact_id == contact)
    if only_overdue:
        q = q.where(plans.c.next_visit_due < day)
    elif until is not None:
        q = q.where(plans.c.next_visit_due <= until)
    rows = (await session.execute(q.order_by(plans.c.next_visit_due, plans.c.id))).all()
    return [
        {
            "plan_id": r.id,
            "household_id": r.household_id,
            "region_code": r.region_code,
            "contact_id": r.contact_id,
            "plan_status": r.status,
            "last_visit_on": r.last_visit_on.isoformat() if r.last_visit_on else None,
            "due_date": r.next_visit_due.isoformat(),
            "overdue": r.next_visit_due < day,
            "days_overdue": max((day - r.next_visit_due).days, 0),
        }
        for r in rows
    ]


@router.get("/visits/due")
async def visits_due(
    region: str | None = None,
    contact: str | None = None,
    until: dt.date | None = None,
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Visits due by `until` (default: the end of the next 30 days), overdue ones included and
    flagged; monthly while monitored, six-monthly after elimination (002 篇八 §(一))."""
    require_reader(principal)
    day = ctx.today()
    items = await _schedule(
        session, region_filter(principal, region), contact, until or day + dt.timedelta(days=30), day, False
    )
    return {"as_of": day.isoformat(), "items": items}


@router.get("/visits/overdue")
async def visits_overdue(
    region: str | None = None,
    contact: str | None = None,
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    require_reader(principal)
    day = ctx.today()
    items = await _schedule(session, region_filter(principal, region), contact, None, day, True)
    return {"as_of": day.isoformat(), "items": items}
