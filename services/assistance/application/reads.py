"""Read use cases and read models: plans (the DESIGN.md contract fields and more), measures,
contact persons with masked name and phone, visits and the visit schedule — each checking the
caller's reach first, then asking the `Reads` queries, and answering with the typed read models
of `views.py` (the routers map them to JSON)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
from .views import (
    ContactChange,
    ContactView,
    HistoryItem,
    MeasureBrief,
    MeasureDetail,
    MeasureView,
    PlanDetail,
    PlanPolicy,
    PlanSummary,
    VisitDue,
    VisitView,
)

__all__ = [
    "ListContacts",
    "ListMeasures",
    "ListPlans",
    "ListVisits",
    "ListVisitsDue",
    "contact_view",
    "get_contact",
    "get_measure",
    "get_plan",
    "list_contacts",
    "list_measures",
    "list_plans",
    "list_visits",
    "mask_name",
    "measure_view",
    "plan_detail",
    "visit_schedule",
    "visit_view",
]


@dataclass(frozen=True, slots=True)
class ListPlans:
    """Plans in `region` (within the caller's; default theirs), or a household's; `overdue`: not
    drawn up past their due date."""

    region: str | None = None
    household_id: str | None = None
    status: str | None = None
    contact: str | None = None
    overdue: bool = False
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ListMeasures:
    """Measures in `region`; `stalled`: unfinished and without progress for `measure_stall_days`."""

    region: str | None = None
    status: str | None = None
    department: str | None = None
    type: str | None = None
    stalled: bool = False
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ListContacts:
    region: str | None = None


@dataclass(frozen=True, slots=True)
class ListVisits:
    household_id: str | None = None
    region: str | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class ListVisitsDue:
    """Visits due by `until` (overdue ones included), or with `only_overdue` the overdue ones."""

    region: str | None = None
    contact: str | None = None
    until: dt.date | None = None
    only_overdue: bool = False


def mask_name(name: str) -> str:
    """`王小明` → `王**`: the family name only."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def contact_view(cipher: FieldCipher, row: Contact, households: int | None = None) -> ContactView:
    name = cipher.decrypt(row.name_enc, context=b"contacts.name")
    phone = cipher.decrypt(row.phone_enc, context=b"contacts.phone") if row.phone_enc else None
    return ContactView(
        id=row.id,
        region_code=row.region_code,
        name=mask_name(name),
        phone=mask_phone(phone) if phone else None,
        unit=mask_numbers_in_value(row.unit),  # free text: masked again for rows written before
        active=row.active,
        has_account=row.sub_hash is not None,
        households=households,
    )


def measure_view(row: Measure, principal: Principal | None = None) -> MeasureView:
    """The measure; read for `principal`, with the actions they may take on it."""
    allowed: tuple[str, ...] | None = None
    if principal is not None:
        kind = ActorKind.DEPARTMENT if principal.role == "department" else ActorKind.OFFICER
        may = principal.is_officer or (principal.role == "department" and principal.dept == row.department)
        allowed = tuple(str(a) for a in allowed_measure_actions(MeasureState(row.status), kind)) if may else ()
    return MeasureView(
        id=row.id,
        plan_id=row.plan_id,
        household_id=row.household_id,
        region_code=row.region_code,
        type=row.type,
        department=row.department,
        status=row.status,
        origin=row.origin,
        rule=row.rule,
        source=row.source,
        reason=mask_numbers_in_value(row.reason),
        description=mask_numbers_in_value(row.description),
        outcome=mask_numbers_in_value(row.outcome),
        drop_reason=mask_numbers_in_value(row.drop_reason),
        last_progress_at=row.last_progress_at,
        version=row.version,
        allowed_actions=allowed,
    )


async def _plan_summary(reads: Reads, cipher: FieldCipher, rows: list[Plan], today: dt.date) -> list[PlanSummary]:
    """Contract fields (`id`, `household_id`, `status`, `due_date`, `contact_person`, `measures`
    [{`id`, `type`, `department`, `status`}]) plus schedule fields, for many plans at once."""
    if not rows:
        return []
    contact_by_id = {
        c.id: contact_view(cipher, c) for c in await reads.contacts({r.contact_id for r in rows if r.contact_id})
    }
    by_plan: dict[str, list[MeasureBrief]] = {}
    for m in await reads.measures_of([r.id for r in rows]):
        by_plan.setdefault(m.plan_id, []).append(MeasureBrief(m.id, m.type, m.department, m.status))
    return [
        PlanSummary(
            id=r.id,
            household_id=r.household_id,
            region_code=r.region_code,
            case_id=r.case_id,
            status=r.status,
            origin=r.origin,
            opened_on=r.opened_on,
            due_date=r.due_date,
            drawn_up_on=r.drawn_up_on,
            overdue=r.drawn_up_on is None and r.status != "closed" and is_overdue(r.due_date, today),
            contact_person=contact_by_id.get(r.contact_id) if r.contact_id else None,
            last_visit_on=r.last_visit_on,
            next_visit_due=r.next_visit_due,
            version=r.version,
            measures=tuple(by_plan.get(r.id, [])),
        )
        for r in rows
    ]


def _history(rows: list[HistoryEntry]) -> tuple[HistoryItem, ...]:
    return tuple(
        HistoryItem(
            action=h.action,
            from_status=h.from_status,
            to_status=h.to_status,
            by=h.by,
            role=h.role,
            at=h.at,
            note=mask_numbers_in_value(h.note),
            measure_id=h.measure_id,
        )
        for h in rows
    )


async def plan_detail(reads: Reads, cipher: FieldCipher, principal: Principal, row: Plan, today: dt.date) -> PlanDetail:
    """The plan with its measures, their histories, the plan's history and its contact persons."""
    [summary] = await _plan_summary(reads, cipher, [row], today)
    ms = await reads.measures_of([row.id])
    by_measure: dict[str, list[HistoryEntry]] = {}
    for h in await reads.measure_histories([m.id for m in ms]):
        by_measure.setdefault(h.measure_id or "", []).append(h)
    return PlanDetail(
        plan=summary,
        measures=tuple(MeasureDetail(measure_view(m, principal), _history(by_measure.get(m.id, []))) for m in ms),
        history=_history(await reads.plan_history(row.id)),
        contact_history=tuple(
            ContactChange(
                contact_id=a.contact_id,
                previous_contact_id=a.previous_contact_id,
                reason=mask_numbers_in_value(a.reason),
                by=a.by,
                at=a.at,
            )
            for a in await reads.assignments(row.id)
        ),
    )


async def list_plans(
    reads: Reads, cipher: FieldCipher, principal: Principal, q: ListPlans, *, today: dt.date
) -> list[PlanSummary]:
    require_reader(principal)
    f = PlanFilter(
        scope=region_filter(principal, q.region),
        household_id=q.household_id,
        status=q.status,
        contact_id=q.contact,
        overdue_on=today if q.overdue else None,
        limit=q.limit,
        offset=q.offset,
    )
    return await _plan_summary(reads, cipher, await reads.plans(f), today)


async def get_plan(
    reads: Reads, cipher: FieldCipher, principal: Principal, plan_id: str, *, today: dt.date
) -> PlanDetail:
    """The plan in full, with the plan-due parameter it was opened under and its source."""
    require_reader(principal)
    row = await reads.plan(plan_id)
    if row is None:
        raise NotFound("plan not found")
    ensure_sees(principal, row.region_code, "plan")
    detail = await plan_detail(reads, cipher, principal, row, today)
    policy = assistance_policy(row.region_code, row.opened_on)
    return PlanDetail(
        plan=detail.plan,
        measures=detail.measures,
        history=detail.history,
        contact_history=detail.contact_history,
        policy=PlanPolicy(policy.plan_due_days, policy.source("plan_due_days")),
    )


async def list_measures(reads: Reads, principal: Principal, q: ListMeasures, *, now: dt.datetime) -> list[MeasureView]:
    """Measures in a region; a department sees its own. `stalled`: not closed or dropped and
    without progress for the policy's `measure_stall_days`."""
    require_reader(principal)
    f = MeasureFilter(
        scope=region_filter(principal, q.region),
        department=q.department,
        status=q.status,
        type=q.type,
        unfinished=q.stalled,
        caller_department=principal.dept if principal.role == "department" else None,
    )
    rows = await reads.measures(f)
    if q.stalled:
        rows = [r for r in rows if is_stalled(r, now)]
    return [measure_view(r, principal) for r in rows[q.offset : q.offset + q.limit]]


async def get_measure(reads: Reads, principal: Principal, measure_id: str) -> MeasureView:
    require_reader(principal)
    m = await reads.measure(measure_id)
    if m is None or not principal.sees(m.region_code):
        raise NotFound("measure not found")
    if principal.role == "department" and principal.dept != m.department:
        raise NotFound("measure not found")
    return measure_view(m, principal)


async def list_contacts(reads: Reads, cipher: FieldCipher, principal: Principal, q: ListContacts) -> list[ContactView]:
    require_reader(principal)
    return [contact_view(cipher, c, n) for c, n in await reads.roster(region_filter(principal, q.region))]


async def get_contact(reads: Reads, cipher: FieldCipher, principal: Principal, contact_id: str) -> ContactView:
    require_reader(principal)
    row = await reads.contact(contact_id)
    if row is None:
        raise NotFound("contact not found")
    ensure_sees(principal, row.region_code, "contact")
    return contact_view(cipher, row)


def visit_view(r: Visit) -> VisitView:
    return VisitView(
        id=r.id,
        plan_id=r.plan_id,
        household_id=r.household_id,
        region_code=r.region_code,
        contact_id=r.contact_id,
        visited_on=r.visited_on,
        mode=r.mode,
        findings=mask_numbers_in_value(r.findings),  # masked when written; again for older rows
        income=r.income,
        attachments=mask_numbers_in_value(r.attachments),
    )


async def list_visits(reads: Reads, principal: Principal, q: ListVisits) -> list[VisitView]:
    require_reader(principal)
    return [visit_view(r) for r in await reads.visits(region_filter(principal, q.region), q.household_id, q.limit)]


async def visit_schedule(reads: Reads, principal: Principal, q: ListVisitsDue, *, today: dt.date) -> list[VisitDue]:
    """Visits due by `until` (overdue ones included and flagged), or only the overdue ones."""
    require_reader(principal)
    scope = region_filter(principal, q.region)
    rows = await reads.visit_schedule(
        scope, q.contact, until=None if q.only_overdue else q.until, before=today if q.only_overdue else None
    )
    return [
        VisitDue(
            plan_id=r.id,
            household_id=r.household_id,
            region_code=r.region_code,
            contact_id=r.contact_id,
            plan_status=r.status,
            last_visit_on=r.last_visit_on,
            due_date=r.next_visit_due,
            overdue=r.next_visit_due < today,
            days_overdue=max((today - r.next_visit_due).days, 0),
        )
        for r in rows
        if r.next_visit_due is not None
    ]
