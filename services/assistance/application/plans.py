"""Plan use cases (一户一档一方案): open a household's plan with recommended measures and a contact
person, close it on elimination, reopen it on rollback, reassign its contact person. Each takes a
command and the unit of work and adds its events to the outbox there; the officer's commits it,
those the consumers call leave the commit to the inbox transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.assistance.domain.catalogue import Department, MeasureType
from services.assistance.domain.contacts import choose_contact, ensure_same_village
from services.assistance.domain.errors import RuleViolation
from services.assistance.domain.lifecycle import MeasureState, PlanStatus, plan_status_after_measures
from services.assistance.domain.recommendation import HouseholdProfile, Recommendation, recommend
from services.assistance.domain.schedule import MonitoringStatus, next_visit_due, plan_due_date
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound

from .common import SYSTEM, Actor, assistance_event, conflict_from, ensure_sees, policy_for
from .plan_events import announce_visit, cancel_visit_event, contact_hash, measure_status_event
from .ports import Work
from .records import Measure, Plan

__all__ = [
    "AssignContact",
    "ClosePlan",
    "OpenPlan",
    "OpenedPlan",
    "ReopenPlan",
    "after_measures_changed",
    "assign_contact",
    "close_plan",
    "new_measure",
    "open_plan",
    "plan_for_officer",
    "plan_of",
    "reopen_plan",
]


@dataclass(frozen=True, slots=True)
class OpenPlan:
    household_id: str
    region_code: str
    case_id: str | None
    opened_on: dt.date
    profile: HouseholdProfile
    origin: str  # identified | green_channel
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class OpenedPlan:
    plan: Plan
    new_measures: list[Measure]
    created: bool


@dataclass(frozen=True, slots=True)
class ClosePlan:
    household_id: str
    on: dt.date
    at: dt.datetime
    action: str = "close"  # close (风险消除) | cleared (清退: no more visits)


@dataclass(frozen=True, slots=True)
class ReopenPlan:
    household_id: str
    on: dt.date
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class AssignContact:
    plan_id: str
    contact_id: str
    reason: str


def new_measure(
    plan: Plan,
    mt: MeasureType,
    department: Department,
    at: dt.datetime,
    *,
    origin: str,
    position: int,
    source: str | None,
    reason: str | None,
    rule: str | None = None,
    description: str | None = None,
) -> Measure:
    """A proposed measure of the plan, as first stored."""
    return Measure(
        id=str(uuid.uuid4()),
        plan_id=plan.id,
        household_id=plan.household_id,
        region_code=plan.region_code,
        type=str(mt),
        department=str(department),
        status=str(MeasureState.PROPOSED),
        position=position,
        origin=origin,
        rule=rule,
        source=source,
        reason=reason,
        description=description,
        outcome=None,
        drop_reason=None,
        last_progress_at=at,
        version=1,
        created_at=at,
        updated_at=at,
    )


async def _insert_recommendations(
    uow: Work, plan: Plan, recs: Sequence[Recommendation], at: dt.datetime, actor: Actor
) -> list[Measure]:
    current = await uow.measures.of_plan(plan.id)
    existing = {m.type for m in current if m.status != MeasureState.DROPPED}
    new: list[Measure] = []
    for r in recs:
        if str(r.type) in existing:
            continue
        new.append(
            new_measure(
                plan,
                r.type,
                r.department,
                at,
                origin="recommended",
                rule=r.rule,
                source=r.source,
                reason=r.reason,
                position=len(current) + len(new),
            )
        )
    for m in new:
        await uow.measures.add(m)
        await uow.measures.add_history(
            m.id,
            "propose",
            by=actor.by,
            role=actor.role,
            at=at,
            from_status=None,
            to_status=m.status,
            note=f"{m.rule}: {m.reason}",
        )
        await uow.plans.add_history(
            plan.id, "measure_proposed", by=actor.by, role=actor.role, at=at, measure_id=m.id, note=m.type
        )
        uow.add_event(measure_status_event(m, None, m.status, at.date()))
    return new


async def plan_of(uow: Work, plan_id: str) -> Plan:
    """The plan, or 404."""
    plan = await uow.plans.get(plan_id)
    if plan is None:
        raise NotFound("plan not found")
    return plan


async def open_plan(uow: Work, cmd: OpenPlan) -> OpenedPlan:
    """The household's one plan that is not closed — created (with recommended measures and the
    least-loaded contact of the village) or, when one exists (e.g. opened by the green channel),
    completed with any recommended measure it lacks."""
    at = cmd.at
    policy = policy_for(cmd.region_code, cmd.opened_on)
    recs = recommend(cmd.profile)
    current = await uow.plans.active(cmd.household_id)
    if current is not None:
        if cmd.case_id and not current.case_id:
            await uow.plans.update(current, {"case_id": cmd.case_id}, at)
            current = await plan_of(uow, current.id)
        new = await _insert_recommendations(uow, current, recs, at, SYSTEM)
        if new:
            await after_measures_changed(uow, current, at, SYSTEM)
            current = await plan_of(uow, current.id)
        return OpenedPlan(current, new, created=False)

    contact = choose_contact(await uow.contacts.loads(cmd.region_code), cmd.region_code)
    plan_id = str(uuid.uuid4())
    visit_id = str(uuid.uuid4())
    await uow.plans.add(
        Plan(
            id=plan_id,
            household_id=cmd.household_id,
            region_code=cmd.region_code,
            case_id=cmd.case_id,
            status=str(PlanStatus.OPEN),
            active_key=cmd.household_id,
            origin=cmd.origin,
            opened_on=cmd.opened_on,
            due_date=plan_due_date(cmd.opened_on, policy.plan_due_days),
            drawn_up_on=None,
            contact_id=contact.contact_id if contact else None,
            last_visit_on=None,
            next_visit_due=next_visit_due(cmd.opened_on, MonitoringStatus.MONITORED, policy.visits),
            next_visit_id=visit_id,
            completed_at=None,
            closed_at=None,
            version=1,
            created_at=at,
            updated_at=at,
        )
    )
    await uow.plans.add_history(
        plan_id,
        "open",
        by=SYSTEM.by,
        role=SYSTEM.role,
        at=at,
        to_status="open",
        note=f"{cmd.origin}; due within {policy.plan_due_days} days ({policy.source('plan_due_days')})",
    )
    if contact:
        await uow.plans.add_assignment(plan_id, contact.contact_id, None, "least-loaded in the village", SYSTEM.by, at)
        await uow.plans.add_history(
            plan_id, "contact_assigned", by=SYSTEM.by, role=SYSTEM.role, at=at, note=contact.contact_id
        )
    plan = await plan_of(uow, plan_id)
    new = await _insert_recommendations(uow, plan, recs, at, SYSTEM)
    uow.add_event(
        assistance_event(
            "plan_created",
            cmd.household_id,
            cmd.region_code,
            {
                "plan_id": plan_id,
                "household_id": cmd.household_id,
                "region_code": cmd.region_code,
                "case_id": cmd.case_id,
                "origin": cmd.origin,
                "due_date": plan.due_date.isoformat(),
                "contact_id": plan.contact_id,
                "contact_person_sub_hash": await contact_hash(uow, plan.contact_id),
                "measures": [{"id": m.id, "type": m.type, "department": m.department} for m in new],
            },
        )
    )
    if plan.next_visit_due is not None:
        await announce_visit(
            uow,
            visit_id=visit_id,
            plan_id=plan_id,
            household_id=cmd.household_id,
            region_code=cmd.region_code,
            due=plan.next_visit_due,
            contact_id=plan.contact_id,
        )
    return OpenedPlan(plan, new, created=True)


async def close_plan(uow: Work, cmd: ClosePlan) -> Plan | None:
    """风险消除: the plan closes and visits go to the six-month rhythm (清退: no more visits)."""
    plan = await uow.plans.active(cmd.household_id)
    if plan is None:
        return None
    policy = policy_for(plan.region_code, cmd.on)
    due = next_visit_due(cmd.on, MonitoringStatus.ELIMINATED, policy.visits) if cmd.action == "close" else None
    visit_id = (plan.next_visit_id or str(uuid.uuid4())) if due is not None else None
    await uow.plans.update(
        plan,
        {
            "status": str(PlanStatus.CLOSED),
            "active_key": None,
            "closed_at": cmd.at,
            "next_visit_due": due,
            "next_visit_id": visit_id,
        },
        cmd.at,
    )
    await uow.plans.add_history(
        plan.id, cmd.action, by=SYSTEM.by, role=SYSTEM.role, at=cmd.at, from_status=plan.status, to_status="closed"
    )
    uow.add_event(
        assistance_event(
            "plan_closed",
            cmd.household_id,
            plan.region_code,
            {
                "plan_id": plan.id,
                "household_id": cmd.household_id,
                "region_code": plan.region_code,
                "reason": cmd.action,
            },
        )
    )
    if due is not None and visit_id is not None:
        await announce_visit(
            uow,
            visit_id=visit_id,
            plan_id=plan.id,
            household_id=cmd.household_id,
            region_code=plan.region_code,
            due=due,
            contact_id=plan.contact_id,
        )
    elif plan.next_visit_id:
        uow.add_event(cancel_visit_event(plan, cmd.action))
    return plan


async def reopen_plan(uow: Work, cmd: ReopenPlan) -> Plan | None:
    """回退: the latest plan is open again (unless one already is), visits monthly again."""
    if await uow.plans.active(cmd.household_id) is not None:
        return None
    plan = await uow.plans.latest(cmd.household_id)
    if plan is None:
        return None
    policy = policy_for(plan.region_code, cmd.on)
    due = next_visit_due(cmd.on, MonitoringStatus.MONITORED, policy.visits)
    visit_id = plan.next_visit_id or str(uuid.uuid4())
    await uow.plans.update(
        plan,
        {
            "status": str(PlanStatus.OPEN),
            "active_key": cmd.household_id,
            "closed_at": None,
            "completed_at": None,
            "next_visit_due": due,
            "next_visit_id": visit_id,
        },
        cmd.at,
    )
    await uow.plans.add_history(
        plan.id,
        "reopen",
        by=SYSTEM.by,
        role=SYSTEM.role,
        at=cmd.at,
        from_status=plan.status,
        to_status="open",
        note="rolled_back",
    )
    uow.add_event(
        assistance_event(
            "plan_reopened",
            cmd.household_id,
            plan.region_code,
            {"plan_id": plan.id, "household_id": cmd.household_id, "region_code": plan.region_code},
        )
    )
    await announce_visit(
        uow,
        visit_id=visit_id,
        plan_id=plan.id,
        household_id=cmd.household_id,
        region_code=plan.region_code,
        due=due,
        contact_id=plan.contact_id,
    )
    return plan


async def after_measures_changed(uow: Work, plan: Plan, at: dt.datetime, actor: Actor) -> None:
    """Recompute the plan's status from its measures; publish `plan_completed` on completion."""
    plan = await plan_of(uow, plan.id)
    states = [MeasureState(m.status) for m in await uow.measures.of_plan(plan.id)]
    new = plan_status_after_measures(PlanStatus(plan.status), states)
    if new == plan.status:
        return
    values: dict[str, Any] = {"status": str(new), "completed_at": at if new is PlanStatus.COMPLETED else None}
    await uow.plans.update(plan, values, at)
    await uow.plans.add_history(
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


async def plan_for_officer(uow: Work, principal: Principal, plan_id: str) -> Plan:
    """The plan an officer of its region is about to change (404 outside it, 403 if no officer)."""
    plan = await plan_of(uow, plan_id)
    ensure_sees(principal, plan.region_code, "plan")
    if not principal.is_officer:
        raise Forbidden("only officers change plans", code="role_not_allowed")
    return plan


async def assign_contact(uow: Work, principal: Principal, cmd: AssignContact, *, at: dt.datetime) -> Plan:
    """Reassign the plan's contact person (history kept; committed); the contact must be on the
    household's village roster (409 `contact_other_village`). Returns the plan."""
    plan = await plan_for_officer(uow, principal, cmd.plan_id)
    contact = await uow.contacts.get(cmd.contact_id)
    if contact is None or not principal.sees(contact.region_code):
        raise NotFound("contact not found")
    try:
        ensure_same_village(contact.region_code, plan.region_code)
    except RuleViolation as err:
        raise conflict_from(err) from None
    if not contact.active:
        raise Conflict("the contact person is no longer active", code="contact_inactive")
    actor = Actor.of(principal)
    await uow.plans.update(plan, {"contact_id": cmd.contact_id}, at)
    await uow.plans.add_assignment(plan.id, cmd.contact_id, plan.contact_id, cmd.reason, actor.by, at)
    await uow.plans.add_history(
        plan.id,
        "contact_reassigned",
        by=actor.by,
        role=actor.role,
        at=at,
        note=f"{plan.contact_id or '-'} → {cmd.contact_id}: {cmd.reason}",
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
            contact_id=cmd.contact_id,
        )
    await uow.commit()
    return await plan_of(uow, plan.id)
