"""Read models: plans (the DESIGN.md contract fields and more), measures, contact persons with
masked name and phone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.adapters.orm import contact_assignments, contacts, measure_history, measures, plan_history
from services.assistance.domain.lifecycle import ActorKind, MeasureState, allowed_measure_actions
from services.assistance.domain.schedule import is_overdue
from shared.app import ServiceContext
from shared.auth import Principal
from shared.pii import mask_numbers_in_value, mask_phone

__all__ = ["contact_read", "mask_name", "measure_read", "plan_read", "plan_summary"]


def mask_name(name: str) -> str:
    """`王小明` → `王**`: the family name only."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def contact_read(ctx: ServiceContext, row: Any, households: int | None = None) -> dict[str, Any]:
    name = ctx.cipher.decrypt(row.name_enc, context=b"contacts.name")
    phone = ctx.cipher.decrypt(row.phone_enc, context=b"contacts.phone") if row.phone_enc else None
    out: dict[str, Any] = {
        "id": row.id,
        "region_code": row.region_code,
        "name": mask_name(name),
        "phone": mask_phone(phone) if phone else None,
        "unit": mask_numbers_in_value(row.unit),  # free text: masked again for rows written before
        "active": row.active,
        "has_account": row.sub_hash is not None,
    }
    if households is not None:
        out["households"] = households
    return out


def measure_read(row: Any, principal: Principal | None = None) -> dict[str, Any]:
    out = {
        "id": row.id,
        "plan_id": row.plan_id,
        "household_id": row.household_id,
        "region_code": row.region_code,
        "type": row.type,
        "department": row.department,
        "status": row.status,
        "origin": row.origin,
        "rule": row.rule,
        "source": row.source,
        "reason": mask_numbers_in_value(row.reason),
        "description": mask_numbers_in_value(row.description),
        "outcome": mask_numbers_in_value(row.outcome),
        "drop_reason": mask_numbers_in_value(row.drop_reason),
        "last_progress_at": row.last_progress_at.isoformat() if row.last_progress_at else None,
        "version": row.version,
    }
    if principal is not None:
        kind = ActorKind.DEPARTMENT if principal.role == "department" else ActorKind.OFFICER
        allowed = principal.is_officer or (principal.role == "department" and principal.dept == row.department)
        out["allowed_actions"] = (
            [str(a) for a in allowed_measure_actions(MeasureState(row.status), kind)] if allowed else []
        )
    return out


async def _contact_map(ctx: ServiceContext, session: AsyncSession, ids: set[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    rows = (await session.execute(sa.select(contacts).where(contacts.c.id.in_(ids)))).all()
    return {r.id: contact_read(ctx, r) for r in rows}


async def plan_summary(
    ctx: ServiceContext, session: AsyncSession, rows: list[Any], today: dt.date
) -> list[dict[str, Any]]:
    """Contract fields (`id`, `household_id`, `status`, `due_date`, `contact_person`, `measures`
    [{`id`, `type`, `department`, `status`}]) plus schedule fields, for many plans at once."""
    if not rows:
        return []
    contact_by_id = await _contact_map(ctx, session, {r.contact_id for r in rows if r.contact_id})
    ms = (
        await session.execute(
            sa.select(measures)
            .where(measures.c.plan_id.in_([r.id for r in rows]))
            .order_by(measures.c.position, measures.c.created_at)
        )
    ).all()
    by_plan: dict[str, list[dict[str, Any]]] = {}
    for m in ms:
        by_plan.setdefault(m.plan_id, []).append(
            {"id": m.id, "type": m.type, "department": m.department, "status": m.status}
        )
    return [
        {
            "id": r.id,
            "household_id": r.household_id,
            "region_code": r.region_code,
            "case_id": r.case_id,
            "status": r.status,
            "origin": r.origin,
            "opened_on": r.opened_on.isoformat(),
            "due_date": r.due_date.isoformat(),
            "drawn_up_on": r.drawn_up_on.isoformat() if r.drawn_up_on else None,
            "overdue": r.drawn_up_on is None and r.status != "closed" and is_overdue(r.due_date, today),
            "contact_person": contact_by_id.get(r.contact_id) if r.contact_id else None,
            "last_visit_on": r.last_visit_on.isoformat() if r.last_visit_on else None,
            "next_visit_due": r.next_visit_due.isoformat() if r.next_visit_due else None,
            "version": r.version,
            "measures": by_plan.get(r.id, []),
        }
        for r in rows
    ]


def _history(rows: list[Any], *, with_measure: bool) -> list[dict[str, Any]]:
    out = []
    for h in rows:
        item = {
            "action": h.action,
            "from": h.from_status,
            "to": h.to_status,
            "by": h.by,
            "role": h.role,
            "at": h.at.isoformat(),
            "note": mask_numbers_in_value(h.note),
        }
        if with_measure:
            item["measure_id"] = h.measure_id
        out.append(item)
    return out


async def plan_read(
    ctx: ServiceContext, session: AsyncSession, principal: Principal, row: Any, today: dt.date
) -> dict[str, Any]:
    [out] = await plan_summary(ctx, session, [row], today)
    ms = (
        await session.execute(
            sa.select(measures).where(measures.c.plan_id == row.id).order_by(measures.c.position, measures.c.created_at)
        )
    ).all()
    hist = (
        await session.execute(
            sa.select(measure_history)
            .where(measure_history.c.measure_id.in_([m.id for m in ms]))
            .order_by(measure_history.c.id)
        )
    ).all()
    by_measure: dict[str, list[Any]] = {}
    for h in hist:
        by_measure.setdefault(h.measure_id, []).append(h)
    out["measures"] = [
        {**measure_read(m, principal), "history": _history(by_measure.get(m.id, []), with_measure=False)} for m in ms
    ]
    ph = (
        await session.execute(
            sa.select(plan_history).where(plan_history.c.plan_id == row.id).order_by(plan_history.c.id)
        )
    ).all()
    out["history"] = _history(list(ph), with_measure=True)
    assignments = (
        await session.execute(
            sa.select(contact_assignments)
            .where(contact_assignments.c.plan_id == row.id)
            .order_by(contact_assignments.c.id)
        )
    ).all()
    out["contact_history"] = [
        {
            "contact_id": a.contact_id,
            "previous_contact_id": a.previous_contact_id,
            "reason": mask_numbers_in_value(a.reason),
            "by": a.by,
            "at": a.at.isoformat(),
        }
        for a in assignments
    ]
    return out
