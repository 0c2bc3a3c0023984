"""Read use cases and read models: plans (the DESIGN.md contract fields and more), measures,
contact persons with masked name and phone, visits and the visit schedule — each checking the
caller's reach first, then asking the `Reads` queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.assistance.domain.lifecycle import ActorKind, MeasureState, allowed_measure_actions
from services.assistance.domain.params import assistance_policy
from services.assistance.domain.schedule import is_overdue
from shared.auth import Principal
from shared.errors import NotFound
from shared.pii import FieldCipher, mask_numbers_in_value, mask_phone

from .common import ensure_sees, region_filter, require_reader
from .ports import MeasureFilter, PlanFilter, Reads
from .records import Contact, HistoryEntry, Measure, Plan, Visit
from .sweep import is_stalled

__all__ = [
    "contact_read",
    "get_contact",
    "get_measure",
    "get_plan",
    "list_contacts",
    "list_measures",
    "list_plans",
    "list_visits",
    "mask_name",
    "measure_read",
    "plan_read",
    "visit_schedule",
]


def mask_name(name: str) -> str:
    """`王小明` → `王**`: the family name only."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def contact_read(cipher: FieldCipher, row: Contact, households: int | None = None) -> dict[str, Any]:
    name = cipher.decrypt(row.name_enc, context=b"contacts.name")
    phone = cipher.decrypt(row.phone_enc, context=b"contacts.phone") if row.phone_enc else None
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


def measure_read(row: Measure, principal: Principal | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
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


async def _plan_summary(reads: Reads, cipher: FieldCipher, rows: list[Plan], today: dt.date) -> list[dict[str, Any]]:
    """Contract fields (`id`, `household_id`, `status`, `due_date`, `contact_person`, `measures`
    [{`id`, `type`, `department`, `status`}]) plus schedule fields, for many plans at once."""
    if not rows:
        return []
    contact_by_id = {
        c.id: contact_read(cipher, c) for c in await reads.contacts({r.contact_id for r in rows if r.contact_id})
    }
    by_plan: dict[str, list[dict[str, Any]]] = {}
    for m in await reads.measures_of([r.id for r in rows]):
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


def _history(rows: list[HistoryEntry], *, with_measure: bool) -> list[dict[str, Any]]:
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
    reads: Reads, cipher: FieldCipher, principal: Principal, row: Plan, today: dt.date
) -> dict[str, Any]:
    """The plan with its measures, their histories, the plan's history and its contact persons."""
    [out] = await _plan_summary(reads, cipher, [row], today)
    ms = await reads.measures_of([row.id])
    by_measure: dict[str, list[HistoryEntry]] = {}
    for h in await reads.measure_histories([m.id for m in ms]):
        by_measure.setdefault(h.measure_id or "", []).append(h)
    out["measures"] = [
        {**measure_read(m, principal), "history": _history(by_measure.get(m.id, []), with_measure=False)} for m in ms
    ]
    out["history"] = _history(await reads.plan_history(row.id), with_measure=True)
    out["contact_history"] = [
        {
            "contact_id": a.contact_id,
            "previous_contact_id": a.previous_contact_id,
            "reason": mask_numbers_in_value(a.reason),
            "by": a.by,
            "at": a.at.isoformat(),
        }
        for a in await reads.assignments(row.id)
    ]
    return out


async def list_plans(
    reads: Reads,
    cipher: FieldCipher,
    principal: Principal,
    *,
    region: str | None,
    household_id: str | None,
    status: str | None,
    contact: str | None,
    overdue: bool,
    limit: int,
    offset: int,
    today: dt.date,
) -> list[dict[str, Any]]:
    require_reader(principal)
    f = PlanFilter(
        scope=region_filter(principal, region),
        household_id=household_id,
        status=status,
        contact_id=contact,
        overdue_on=today if overdue else None,
        limit=limit,
        offset=offset,
    )
    return await _plan_summary(reads, cipher, await reads.plans(f), today)


async def get_plan(
    reads: Reads, cipher: FieldCipher, principal: Principal, plan_id: str, *, today: dt.date
) -> dict[str, Any]:
    """The plan in full, with the plan-due parameter it was opened under and its source."""
    require_reader(principal)
    row = await reads.plan(plan_id)
    if row is None:
        raise NotFound("plan not found")
    ensure_sees(principal, row.region_code, "plan")
    out = await plan_read(reads, cipher, principal, row, today)
    policy = assistance_policy(row.region_code, row.opened_on)
    out["policy"] = {"plan_due_days": {"value": policy.plan_due_days, "source": policy.source("plan_due_days")}}
    return out


async def list_measures(
    reads: Reads,
    principal: Principal,
    *,
    region: str | None,
    status: str | None,
    department: str | None,
    type: str | None,
    stalled: bool,
    limit: int,
    offset: int,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Measures in a region; a department sees its own. `stalled`: not closed or dropped and
    without progress for the policy's `measure_stall_days`."""
    require_reader(principal)
    f = MeasureFilter(
        scope=region_filter(principal, region),
        department=department,
        status=status,
        type=type,
        unfinished=stalled,
        caller_department=principal.dept if principal.role == "department" else None,
    )
    rows = await reads.measures(f)
    if stalled:
        rows = [r for r in rows if is_stalled(r, now)]
    return [measure_read(r, principal) for r in rows[offset : offset + limit]]


async def get_measure(reads: Reads, principal: Principal, measure_id: str) -> dict[str, Any]:
    require_reader(principal)
    m = await reads.measure(measure_id)
    if m is None or not principal.sees(m.region_code):
        raise NotFound("measure not found")
    if principal.role == "department" and principal.dept != m.department:
        raise NotFound("measure not found")
    return measure_read(m, principal)


async def list_contacts(
    reads: Reads, cipher: FieldCipher, principal: Principal, *, region: str | None
) -> list[dict[str, Any]]:
    require_reader(principal)
    return [contact_read(cipher, c, n) for c, n in await reads.roster(region_filter(principal, region))]


async def get_contact(reads: Reads, cipher: FieldCipher, principal: Principal, contact_id: str) -> dict[str, Any]:
    require_reader(principal)
    row = await reads.contact(contact_id)
    if row is None:
        raise NotFound("contact not found")
    ensure_sees(principal, row.region_code, "contact")
    return contact_read(cipher, row)


def _visit_read(r: Visit) -> dict[str, Any]:
    return {
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


async def list_visits(
    reads: Reads, principal: Principal, *, household_id: str | None, region: str | None, limit: int
) -> list[dict[str, Any]]:
    require_reader(principal)
    return [_visit_read(r) for r in await reads.visits(region_filter(principal, region), household_id, limit)]


async def visit_schedule(
    reads: Reads,
    principal: Principal,
    *,
    region: str | None,
    contact: str | None,
    until: dt.date | None,
    only_overdue: bool,
    today: dt.date,
) -> list[dict[str, Any]]:
    """Visits due by `until` (overdue ones included and flagged), or only the overdue ones."""
    require_reader(principal)
    scope = region_filter(principal, region)
    rows = await reads.visit_schedule(
        scope, contact, until=None if only_overdue else until, before=today if only_overdue else None
    )
    return [
        {
            "plan_id": r.id,
            "household_id": r.household_id,
            "region_code": r.region_code,
            "contact_id": r.contact_id,
            "plan_status": r.status,
            "last_visit_on": r.last_visit_on.isoformat() if r.last_visit_on else None,
            "due_date": r.next_visit_due.isoformat(),
            "overdue": r.next_visit_due < today,
            "days_overdue": max((today - r.next_visit_due).days, 0),
        }
        for r in rows
        if r.next_visit_due is not None
    ]
