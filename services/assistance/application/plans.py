"""Plan use cases (一户一档一方案): open a household's plan with recommended measures and a contact
person, close it on elimination, reopen it on rollback; officers add, edit, move and drop
measures; departments acknowledge referrals and report back. Each runs in the caller's unit of
work and adds its events to the outbox there."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from services.assistance.adapters.orm import contacts, measures, plans
from services.assistance.adapters.repository import Repository
from services.assistance.domain.catalogue import CATALOGUE, Department, MeasureType
from services.assistance.domain.contacts import choose_contact, ensure_same_village
from services.assistance.domain.errors import RuleViolation
from services.assistance.domain.lifecycle import (
    TERMINAL_MEASURE_STATES,
    ActorKind,
    MeasureAction,
    MeasureState,
    PlanStatus,
    ensure_plan_editable,
    plan_status_after_measures,
    transition_measure,
)
from services.assistance.domain.recommendation import HouseholdProfile, Recommendation, recommend
from services.assistance.domain.schedule import MonitoringStatus, next_visit_due, plan_due_date
from shared.auth import Principal
from shared.db import UnitOfWork
from shared.errors import Conflict, Forbidden, NotFound

from .common import assistance_event, conflict_from, ensure_sees, policy_for

__all__ = [
    "SYSTEM",
    "Actor",
    "add_measure",
    "announce_visit",
    "assign_contact",
    "close_plan",
    "contact_hash",
    "edit_measure",
    "open_plan",
    "reopen_plan",
    "transition",
]


class Actor:
    """Who did it, as recorded in histories (never a resident ID number)."""

    def __init__(self, by: str, role: str) -> None:
        self.by, self.role = by, role

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        label = principal.sub if principal.role != "citizen" else "citizen"
        return cls(f"{principal.role}:{label}"[:200], principal.role)


SYSTEM = Actor("system:assistance", "system")


def _measure_row(plan: Any, mt: MeasureType, department: Department, at: dt.datetime, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "plan_id": plan.id,
        "household_id": plan.household_id,
        "region_code": plan.region_code,
        "type": str(mt),
        "department": str(department),
        "status": str(MeasureState.PROPOSED),
        "last_progress_at": at,
        "version": 1,
        "created_at": at,
        "updated_at": at,
        **extra,
    }


async def contact_hash(uow: UnitOfWork, contact_id: str | None) -> str | None:
    """The contact person's inbox address (`contacts.sub_hash`), if they have an account."""
    if not contact_id:
        return None
    q = sa.select(contacts.c.sub_hash).where(contacts.c.id == contact_id)
    value: str | None = (await uow.session.execute(q)).scalar_one_or_none()
    return value


async def announce_visit(
    uow: UnitOfWork,
    *,
    visit_id: str,
    plan_id: str,
    household_id: str,
    region_code: str,
    due: dt.date,
    contact_id: str | None,
) -> None:
    """`visit_scheduled`: the next visit of a plan, the id it will be recorded under and its due
    date — notification sets the contact person's reminder from it. Published again (same
    `visit_id`) whenever the date or the contact person changes: the reminder moves."""
    uow.add_event(
        assistance_event(
            "visit_scheduled",
            household_id,
            region_code,
            {
                "visit_id": visit_id,
                "plan_id": plan_id,
                "household_id": household_id,
                "region_code": region_code,
                "due_date": due.isoformat(),
                "contact_id": contact_id,
                "contact_person_sub_hash": await contact_hash(uow, contact_id),
            },
        )
    )


def cancel_visit_event(plan: Any, reason: str) -> Any:
    """`visit_cancelled`: the announced visit will not happen (the household was cleared out)."""
    return assistance_event(
        "visit_cancelled",
        plan.household_id,
        plan.region_code,
        {
            "visit_id": plan.next_visit_id,
            "plan_id": plan.id,
            "household_id": plan.household_id,
            "region_code": plan.region_code,
            "reason": reason,
        },
    )


def measure_status_event(m: Any, from_status: str | None, to_status: str, on: dt.date) -> Any:
    """`measure_status_changed`: a measure added (`from` null) or moved on its lifecycle — what
    identification counts toward elimination (open / closed / dropped) and dates measures by."""
    get = m.get if isinstance(m, dict) else lambda k: getattr(m, k)
    return assistance_event(
        "measure_status_changed",
        get("household_id"),
        get("region_code"),
        {
            "measure_id": get("id"),
            "plan_id": get("plan_id"),
            "household_id": get("household_id"),
            "region_code": get("region_code"),
            "type": get("type"),
            "department": get("department"),
            "from": from_status,
            "to": to_status,
            "on": on.isoformat(),
        },
    )


async def _insert_recommendations(
    uow: UnitOfWork, plan: Any, recs: Sequence[Recommendation], at: dt.datetime, actor: Actor
) -> list[dict[str, Any]]:
    repo = Repository(uow.session)
    current = await repo.plan_measures(plan.id)
    existing = {m.type for m in current if m.status != MeasureState.DROPPED}
    rows: list[dict[str, Any]] = []
    for r in recs:
        if str(r.type) in existing:
            continue
        row = _measure_row(
            plan,
            r.type,
            r.department,
            at,
            origin="recommended",
            rule=r.rule,
            source=r.source,
            reason=r.reason,
            position=len(current) + len(rows),
        )
        rows.append(row)
    for row in rows:
        await uow.session.execute(measures.insert().values(**row))
        await repo.measure_history(
            row["id"],
            "propose",
            by=actor.by,
            role=actor.role,
            at=at,
            from_status=None,
            to_status=row["status"],
            note=f"{row['rule']}: {row['reason']}",
        )
        await repo.plan_history(
            plan.id, "measure_proposed", by=actor.by, role=actor.role, at=at, measure_id=row["id"], note=row["type"]
        )
        uow.add_event(measure_status_event(row, None, row["status"], at.date()))
    return rows


async def open_plan(
    uow: UnitOfWork,
    *,
    household_id: str,
    region_code: str,
    case_id: str | None,
    opened_on: dt.date,
    profile: HouseholdProfile,
    origin: str,
    at: dt.datetime,
) -> tuple[Any, list[dict[str, Any]], bool]:
    """The household's one plan that is not closed — created (with recommended measures and the
    least-loaded contact of the village) or, when one exists (e.g. opened by the green channel),
    completed with any recommended measure it lacks. Returns (plan row, new measures, created)."""
    repo = Repository(uow.session)
    policy = policy_for(region_code, opened_on)
    recs = recommend(profile)
    current = await repo.active_plan(household_id)
    if current is not None:
        if case_id and not current.case_id:
            await repo.update_plan(current, {"case_id": case_id}, at)
            current = await repo.plan(current.id)
        new = await _insert_recommendations(uow, current, recs, at, SYSTEM)
        if new:
            await _after_measures_changed(uow, current, at, SYSTEM)
            current = await repo.plan(current.id)
        return current, new, False

    contact = choose_contact(await repo.contact_loads(region_code), region_code)
    plan_id = str(uuid.uuid4())
    visit_id = str(uuid.uuid4())
    await uow.session.execute(
        plans.insert().values(
            id=plan_id,
            household_id=household_id,
            region_code=region_code,
            case_id=case_id,
            status=str(PlanStatus.OPEN),
            active_key=household_id,
            origin=origin,
            opened_on=opened_on,
            due_date=plan_due_date(opened_on, policy.plan_due_days),
            contact_id=contact.contact_id if contact else None,
            next_visit_due=next_visit_due(opened_on, MonitoringStatus.MONITORED, policy.visits),
            next_visit_id=visit_id,
            version=1,
            created_at=at,
            updated_at=at,
        )
    )
    await repo.plan_history(
        plan_id,
        "open",
        by=SYSTEM.by,
        role=SYSTEM.role,
        at=at,
        to_status="open",
        note=f"{origin}; due within {policy.plan_due_days} days ({policy.source('plan_due_days')})",
    )
    if contact:
        await repo.record_assignment(plan_id, contact.contact_id, None, "least-loaded in the village", SYSTEM.by, at)
        await repo.plan_history(
            plan_id, "contact_assigned", by=SYSTEM.by, role=SYSTEM.role, at=at, note=contact.contact_id
        )
    plan = await repo.plan(plan_id)
    new = await _insert_recommendations(uow, plan, recs, at, SYSTEM)
    uow.add_event(
        assistance_event(
            "plan_created",
            household_id,
            region_code,
            {
                "plan_id": plan_id,
                "household_id": household_id,
                "region_code": region_code,
                "case_id": case_id,
                "origin": origin,
                "due_date": plan.due_date.isoformat(),
                "contact_id": plan.contact_id,
                "contact_person_sub_hash": await contact_hash(uow, plan.contact_id),
                "measures": [{"id": m["id"], "type": m["type"], "department": m["department"]} for m in new],
            },
        )
    )
    await announce_visit(
        uow,
        visit_id=visit_id,
        plan_id=plan_id,
        household_id=household_id,
        region_code=region_code,
        due=plan.next_visit_due,
        contact_id=plan.contact_id,
    )
    return plan, new, True


async def close_plan(
    uow: UnitOfWork, *, household_id: str, on: dt.date, at: dt.datetime, action: str = "close"
) -> Any | None:
    """风险消除: the plan closes and visits go to the six-month rhythm (清退: no more visits)."""
    repo = Repository(uow.session)
    plan = await repo.active_plan(household_id)
    if plan is None:
        return None
    policy = policy_for(plan.region_code, on)
    due = next_visit_due(on, MonitoringStatus.ELIMINATED, policy.visits) if action == "close" else None
    visit_id = (plan.next_visit_id or str(uuid.uuid4())) if due is not None else None
    await repo.update_plan(
        plan,
        {
            "status": str(PlanStatus.CLOSED),
            "active_key": None,
            "closed_at": at,
            "next_visit_due": due,
            "next_visit_id": visit_id,
        },
        at,
    )
    await repo.plan_history(
        plan.id, action, by=SYSTEM.by, role=SYSTEM.role, at=at, from_status=plan.status, to_status="closed"
    )
    uow.add_event(
        assistance_event(
            "plan_closed",
            household_id,
            plan.region_code,
            {"plan_id": plan.id, "household_id": household_id, "region_code": plan.region_code, "reason": action},
        )
    )
    if due is not None and visit_id is not None:
        await announce_visit(
            uow,
            visit_id=visit_id,
            plan_id=plan.id,
            household_id=household_id,
            region_code=plan.region_code,
            due=due,
            contact_id=plan.contact_id,
        )
    elif plan.next_visit_id:
        uow.add_event(cancel_visit_event(plan, action))
    return plan


async def reopen_plan(uow: UnitOfWork, *, household_id: str, on: dt.date, at: dt.datetime) -> Any | None:
    """回退: the latest plan is open again (unless one already is), visits monthly again."""
    repo = Repository(uow.session)
    if await repo.active_plan(household_id) is not None:
        return None
    plan = await repo.latest_plan(household_id)
    if plan is None:
        return None
    policy = policy_for(plan.region_code, on)
    due = next_visit_due(on, MonitoringStatus.MONITORED, policy.visits)
    visit_id = plan.next_visit_id or str(uuid.uuid4())
    await repo.update_plan(
        plan,
        {
            "status": str(PlanStatus.OPEN),
            "active_key": household_id,
            "closed_at": None,
            "completed_at": None,
            "next_visit_due": due,
            "next_visit_id": visit_id,
        },
        at,
    )
    await repo.plan_history(
        plan.id,
        "reopen",
        by=SYSTEM.by,
        role=SYSTEM.role,
        at=at,
        from_status=plan.status,
        to_status="open",
        note="rolled_back",
    )
    uow.add_event(
        assistance_event(
            "plan_reopened",
            household_id,
            plan.region_code,
            {"plan_id": plan.id, "household_id": household_id, "region_code": plan.region_code},
        )
    )
    await announce_visit(
        uow,
        visit_id=visit_id,
        plan_id=plan.id,
        household_id=household_id,
        region_code=plan.region_code,
        due=due,
        contact_id=plan.contact_id,
    )
    return plan


async def _after_measures_changed(uow: UnitOfWork, plan: Any, at: dt.datetime, actor: Actor) -> None:
    """Recompute the plan's status from its measures; publish `plan_completed` on completion."""
    repo = Repository(uow.session)
    plan = await repo.plan(plan.id)
    states = [MeasureState(m.status) for m in await repo.plan_measures(plan.id)]
    new = plan_status_after_measures(PlanStatus(plan.status), states)
    if new == plan.status:
        return
    values: dict[str, Any] = {"status": str(new), "completed_at": at if new is PlanStatus.COMPLETED else None}
    await repo.update_plan(plan, values, at)
    await repo.plan_history(
        plan.id,
        "complete" if new is PlanStatus.COMPLETED else "reopen_for_measure",
        by=actor.by,
        role=actor.role,
        at=at,
        from_status=plan.status,
        to_status=str(new),
    )
    if new is PlanStatus.COMPLETED:
        uow.add_event(
            assistance_event(
                "plan_completed",
                plan.household_id,
                plan.region_code,
                {
                    "plan_id": plan.id,
                    "household_id": plan.household_id,
                    "region_code": plan.region_code,
                    "measures_closed": sum(1 for s in states if s is MeasureState.CLOSED),
                    "measures_dropped": sum(1 for s in states if s is MeasureState.DROPPED),
                },
            )
        )


async def _plan_for_officer(repo: Repository, principal: Principal, plan_id: str) -> Any:
    plan = await repo.plan(plan_id)
    if plan is None:
        raise NotFound("plan not found")
    ensure_sees(principal, plan.region_code, "plan")
    if not principal.is_officer:
        raise Forbidden("only officers change plans", code="role_not_allowed")
    return plan


async def add_measure(
    uow: UnitOfWork,
    principal: Principal,
    *,
    plan_id: str,
    measure_type: MeasureType,
    reason: str,
    description: str | None,
    at: dt.datetime,
) -> dict[str, Any]:
    repo = Repository(uow.session)
    plan = await _plan_for_officer(repo, principal, plan_id)
    try:
        ensure_plan_editable(PlanStatus(plan.status))
    except RuleViolation as err:
        raise conflict_from(err) from None
    actor = Actor.of(principal)
    spec = CATALOGUE[measure_type]
    row = _measure_row(
        plan,
        measure_type,
        spec.department,
        at,
        origin="officer",
        reason=reason,
        description=description,
        source=spec.source,
        position=len(await repo.plan_measures(plan.id)),
    )
    await uow.session.execute(measures.insert().values(**row))
    await repo.measure_history(
        row["id"], "add", by=actor.by, role=actor.role, at=at, from_status=None, to_status=row["status"], note=reason
    )
    await repo.plan_history(
        plan.id,
        "measure_added",
        by=actor.by,
        role=actor.role,
        at=at,
        measure_id=row["id"],
        note=f"{row['type']}: {reason}",
    )
    uow.add_event(measure_status_event(row, None, row["status"], at.date()))
    await _after_measures_changed(uow, plan, at, actor)
    return row


async def edit_measure(
    uow: UnitOfWork,
    principal: Principal,
    *,
    measure_id: str,
    reason: str,
    description: str | None,
    department: Department | None,
    version: int | None,
    at: dt.datetime,
) -> None:
    repo = Repository(uow.session)
    m = await repo.measure(measure_id)
    if m is None or (principal.role == "department" and principal.dept != m.department):
        # another department's measure does not exist for this caller (404, not 403)
        raise NotFound("measure not found")
    plan = await _plan_for_officer(repo, principal, m.plan_id)
    try:
        ensure_plan_editable(PlanStatus(plan.status))
    except RuleViolation as err:
        raise conflict_from(err) from None
    if MeasureState(m.status) in TERMINAL_MEASURE_STATES:
        raise Conflict(f"a {m.status} measure cannot be edited", code="state_not_allowed")
    values: dict[str, Any] = {}
    changes = []
    if description is not None:
        values["description"] = description
        changes.append("description")
    if department is not None and department != m.department:
        values["department"] = str(department)
        changes.append(f"department {m.department}→{department}")
    actor = Actor.of(principal)
    await repo.update_measure(m, values, at, version)
    await repo.measure_history(
        m.id,
        "edit",
        by=actor.by,
        role=actor.role,
        at=at,
        from_status=m.status,
        to_status=m.status,
        note=f"{', '.join(changes) or 'no change'}: {reason}",
    )
    await repo.plan_history(
        plan.id, "measure_edited", by=actor.by, role=actor.role, at=at, measure_id=m.id, note=reason
    )


async def transition(
    uow: UnitOfWork,
    principal: Principal,
    *,
    measure_id: str,
    action: MeasureAction,
    note: str | None,
    outcome: str | None,
    reason: str | None,
    version: int | None,
    at: dt.datetime,
) -> None:
    """accept | refer | start | close | drop. Officers of the region do all of them; the
    measure's lead department (dept claim) acknowledges a referral (`start`) and reports back
    (`close` with the outcome)."""
    repo = Repository(uow.session)
    m = await repo.measure(measure_id)
    if m is None:
        raise NotFound("measure not found")
    ensure_sees(principal, m.region_code, "measure")
    if principal.role == "department":
        if principal.dept != m.department:
            raise NotFound("measure not found")
        actor_kind = ActorKind.DEPARTMENT
    elif principal.is_officer:
        actor_kind = ActorKind.OFFICER
    else:
        raise Forbidden("only officers and the lead department act on measures", code="role_not_allowed")
    plan = await repo.plan(m.plan_id)
    try:
        ensure_plan_editable(PlanStatus(plan.status))
        target = MeasureAction(action)
        new_state = transition_measure(MeasureState(m.status), target, actor=actor_kind, outcome=outcome, reason=reason)
    except RuleViolation as err:
        raise conflict_from(err) from None
    values: dict[str, Any] = {"status": str(new_state), "last_progress_at": at}
    if target is MeasureAction.CLOSE:
        values["outcome"] = outcome
    if target is MeasureAction.DROP:
        values["drop_reason"] = reason
    actor = Actor.of(principal)
    await repo.update_measure(m, values, at, version)
    text = outcome if target is MeasureAction.CLOSE else reason if target is MeasureAction.DROP else note
    await repo.measure_history(
        m.id,
        str(target),
        by=actor.by,
        role=actor.role,
        at=at,
        from_status=m.status,
        to_status=str(new_state),
        note=text,
    )
    await repo.plan_history(
        plan.id, f"measure_{target}", by=actor.by, role=actor.role, at=at, measure_id=m.id, note=text
    )
    uow.add_event(measure_status_event(m, m.status, str(new_state), at.date()))
    if target is MeasureAction.ACCEPT and plan.drawn_up_on is None:
        await repo.update_plan(plan, {"drawn_up_on": at.date()}, at)
        uow.add_event(
            assistance_event(
                "plan_drawn_up",
                plan.household_id,
                plan.region_code,
                {
                    "plan_id": plan.id,
                    "household_id": plan.household_id,
                    "region_code": plan.region_code,
                    "drawn_up_on": at.date().isoformat(),
                    "due_date": plan.due_date.isoformat(),
                },
            )
        )
    if target is MeasureAction.REFER:
        uow.add_event(
            assistance_event(
                "measure_referred",
                m.household_id,
                m.region_code,
                {
                    "measure_id": m.id,
                    "plan_id": m.plan_id,
                    "household_id": m.household_id,
                    "region_code": m.region_code,
                    "type": m.type,
                    "department": m.department,
                },
            )
        )
    await _after_measures_changed(uow, plan, at, actor)


async def assign_contact(
    uow: UnitOfWork, principal: Principal, *, plan_id: str, contact_id: str, reason: str, at: dt.datetime
) -> None:
    """Reassign the plan's contact person (history kept); the contact must be on the household's
    village roster (409 `contact_other_village`)."""
    repo = Repository(uow.session)
    plan = await _plan_for_officer(repo, principal, plan_id)
    contact = await repo.contact(contact_id)
    if contact is None or not principal.sees(contact.region_code):
        raise NotFound("contact not found")
    try:
        ensure_same_village(contact.region_code, plan.region_code)
    except RuleViolation as err:
        raise conflict_from(err) from None
    if not contact.active:
        raise Conflict("the contact person is no longer active", code="contact_inactive")
    actor = Actor.of(principal)
    await repo.update_plan(plan, {"contact_id": contact_id}, at)
    await repo.record_assignment(plan.id, contact_id, plan.contact_id, reason, actor.by, at)
    await repo.plan_history(
        plan.id,
        "contact_reassigned",
        by=actor.by,
        role=actor.role,
        at=at,
        note=f"{plan.contact_id or '-'} → {contact_id}: {reason}",
    )
    if plan.next_visit_due is not None and plan.next_visit_id:
        # the same visit, now the new contact person's: their reminder replaces the old one's
        await announce_visit(
            uow,
            visit_id=plan.next_visit_id,
            plan_id=plan.id,
            household_id=plan.household_id,
            region_code=plan.region_code,
            due=plan.next_visit_due,
            contact_id=contact_id,
        )
