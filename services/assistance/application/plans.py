"""Plan use cases (一户一档一方案): open a household's plan with recommended measures and a contact
person, close it on elimination, reopen it on rollback; officers add, edit, move and drop
measures; departments acknowledge referrals and report back. Each takes a command and the unit
of work and adds its events to the outbox there; those an officer calls commit it, those the
consumers call leave the commit to the inbox transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import Event

from .common import assistance_event, conflict_from, ensure_sees, policy_for
from .ports import Work
from .records import Measure, Plan

__all__ = [
    "SYSTEM",
    "Actor",
    "AddMeasure",
    "AssignContact",
    "ClosePlan",
    "EditMeasure",
    "OpenPlan",
    "OpenedPlan",
    "ReopenPlan",
    "TransitionMeasure",
    "add_measure",
    "announce_visit",
    "assign_contact",
    "close_plan",
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


# --- commands and results -------------------------------------------------------------------


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
class AddMeasure:
    plan_id: str
    measure_type: MeasureType
    reason: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class EditMeasure:
    measure_id: str
    reason: str
    description: str | None = None
    department: Department | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class TransitionMeasure:
    measure_id: str
    action: MeasureAction
    note: str | None = None
    outcome: str | None = None
    reason: str | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class AssignContact:
    plan_id: str
    contact_id: str
    reason: str


# --- events ---------------------------------------------------------------------------------


async def _contact_hash(uow: Work, contact_id: str | None) -> str | None:
    """The contact person's inbox address (`contacts.sub_hash`), if they have an account."""
    if not contact_id:
        return None
    return (await uow.contacts.sub_hashes([contact_id])).get(contact_id)


async def announce_visit(
    uow: Work,
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
                "contact_person_sub_hash": await _contact_hash(uow, contact_id),
            },
        )
    )


def _cancel_visit_event(plan: Plan, reason: str) -> Event:
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


def _measure_status_event(m: Measure, from_status: str | None, to_status: str, on: dt.date) -> Event:
    """`measure_status_changed`: a measure added (`from` null) or moved on its lifecycle — what
    identification counts toward elimination (open / closed / dropped) and dates measures by."""
    return assistance_event(
        "measure_status_changed",
        m.household_id,
        m.region_code,
        {
            "measure_id": m.id,
            "plan_id": m.plan_id,
            "household_id": m.household_id,
            "region_code": m.region_code,
            "type": m.type,
            "department": m.department,
            "from": from_status,
            "to": to_status,
            "on": on.isoformat(),
        },
    )


# --- plans ----------------------------------------------------------------------------------


def _new_measure(
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
            _new_measure(
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
        uow.add_event(_measure_status_event(m, None, m.status, at.date()))
    return new


async def _plan(uow: Work, plan_id: str) -> Plan:
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
            current = await _plan(uow, current.id)
        new = await _insert_recommendations(uow, current, recs, at, SYSTEM)
        if new:
            await _after_measures_changed(uow, current, at, SYSTEM)
            current = await _plan(uow, current.id)
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
    plan = await _plan(uow, plan_id)
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
                "contact_person_sub_hash": await _contact_hash(uow, plan.contact_id),
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
        uow.add_event(_cancel_visit_event(plan, cmd.action))
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


async def _after_measures_changed(uow: Work, plan: Plan, at: dt.datetime, actor: Actor) -> None:
    """Recompute the plan's status from its measures; publish `plan_completed` on completion."""
    plan = await _plan(uow, plan.id)
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


# --- measures (officers and departments) ----------------------------------------------------


async def _plan_for_officer(uow: Work, principal: Principal, plan_id: str) -> Plan:
    plan = await _plan(uow, plan_id)
    ensure_sees(principal, plan.region_code, "plan")
    if not principal.is_officer:
        raise Forbidden("only officers change plans", code="role_not_allowed")
    return plan


async def _measure(uow: Work, measure_id: str) -> Measure:
    m = await uow.measures.get(measure_id)
    if m is None:
        raise NotFound("measure not found")
    return m


def _ensure_editable(plan: Plan) -> None:
    try:
        ensure_plan_editable(PlanStatus(plan.status))
    except RuleViolation as err:
        raise conflict_from(err) from None


async def add_measure(uow: Work, principal: Principal, cmd: AddMeasure, *, at: dt.datetime) -> Measure:
    """An officer adds a measure of the catalogue to the plan (committed); returns it."""
    plan = await _plan_for_officer(uow, principal, cmd.plan_id)
    _ensure_editable(plan)
    actor = Actor.of(principal)
    spec = CATALOGUE[cmd.measure_type]
    m = _new_measure(
        plan,
        cmd.measure_type,
        spec.department,
        at,
        origin="officer",
        reason=cmd.reason,
        description=cmd.description,
        source=spec.source,
        position=len(await uow.measures.of_plan(plan.id)),
    )
    await uow.measures.add(m)
    await uow.measures.add_history(
        m.id, "add", by=actor.by, role=actor.role, at=at, from_status=None, to_status=m.status, note=cmd.reason
    )
    await uow.plans.add_history(
        plan.id,
        "measure_added",
        by=actor.by,
        role=actor.role,
        at=at,
        measure_id=m.id,
        note=f"{m.type}: {cmd.reason}",
    )
    uow.add_event(_measure_status_event(m, None, m.status, at.date()))
    await _after_measures_changed(uow, plan, at, actor)
    await uow.commit()
    return await _measure(uow, m.id)


async def edit_measure(uow: Work, principal: Principal, cmd: EditMeasure, *, at: dt.datetime) -> Measure:
    """An officer edits a measure's description or lead department (committed); returns it."""
    m = await uow.measures.get(cmd.measure_id)
    if m is None or (principal.role == "department" and principal.dept != m.department):
        # another department's measure does not exist for this caller (404, not 403)
        raise NotFound("measure not found")
    plan = await _plan_for_officer(uow, principal, m.plan_id)
    _ensure_editable(plan)
    if MeasureState(m.status) in TERMINAL_MEASURE_STATES:
        raise Conflict(f"a {m.status} measure cannot be edited", code="state_not_allowed")
    values: dict[str, Any] = {}
    changes = []
    if cmd.description is not None:
        values["description"] = cmd.description
        changes.append("description")
    if cmd.department is not None and cmd.department != m.department:
        values["department"] = str(cmd.department)
        changes.append(f"department {m.department}→{cmd.department}")
    actor = Actor.of(principal)
    await uow.measures.update(m, values, at, cmd.version)
    await uow.measures.add_history(
        m.id,
        "edit",
        by=actor.by,
        role=actor.role,
        at=at,
        from_status=m.status,
        to_status=m.status,
        note=f"{', '.join(changes) or 'no change'}: {cmd.reason}",
    )
    await uow.plans.add_history(
        plan.id, "measure_edited", by=actor.by, role=actor.role, at=at, measure_id=m.id, note=cmd.reason
    )
    await uow.commit()
    return await _measure(uow, m.id)


async def transition(uow: Work, principal: Principal, cmd: TransitionMeasure, *, at: dt.datetime) -> Measure:
    """accept | refer | start | close | drop (committed); returns the measure. Officers of the
    region do all of them; the measure's lead department (dept claim) acknowledges a referral
    (`start`) and reports back (`close` with the outcome)."""
    m = await _measure(uow, cmd.measure_id)
    ensure_sees(principal, m.region_code, "measure")
    if principal.role == "department":
        if principal.dept != m.department:
            raise NotFound("measure not found")
        actor_kind = ActorKind.DEPARTMENT
    elif principal.is_officer:
        actor_kind = ActorKind.OFFICER
    else:
        raise Forbidden("only officers and the lead department act on measures", code="role_not_allowed")
    plan = await _plan(uow, m.plan_id)
    try:
        ensure_plan_editable(PlanStatus(plan.status))
        target = MeasureAction(cmd.action)
        new_state = transition_measure(
            MeasureState(m.status), target, actor=actor_kind, outcome=cmd.outcome, reason=cmd.reason
        )
    except RuleViolation as err:
        raise conflict_from(err) from None
    values: dict[str, Any] = {"status": str(new_state), "last_progress_at": at}
    if target is MeasureAction.CLOSE:
        values["outcome"] = cmd.outcome
    if target is MeasureAction.DROP:
        values["drop_reason"] = cmd.reason
    actor = Actor.of(principal)
    await uow.measures.update(m, values, at, cmd.version)
    text = cmd.outcome if target is MeasureAction.CLOSE else cmd.reason if target is MeasureAction.DROP else cmd.note
    await uow.measures.add_history(
        m.id,
        str(target),
        by=actor.by,
        role=actor.role,
        at=at,
        from_status=m.status,
        to_status=str(new_state),
        note=text,
    )
    await uow.plans.add_history(
        plan.id, f"measure_{target}", by=actor.by, role=actor.role, at=at, measure_id=m.id, note=text
    )
    uow.add_event(_measure_status_event(m, m.status, str(new_state), at.date()))
    if target is MeasureAction.ACCEPT and plan.drawn_up_on is None:
        await uow.plans.update(plan, {"drawn_up_on": at.date()}, at)
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
    await uow.commit()
    return await _measure(uow, m.id)


async def assign_contact(uow: Work, principal: Principal, cmd: AssignContact, *, at: dt.datetime) -> Plan:
    """Reassign the plan's contact person (history kept; committed); the contact must be on the
    household's village roster (409 `contact_other_village`). Returns the plan."""
    plan = await _plan_for_officer(uow, principal, cmd.plan_id)
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
    return await _plan(uow, plan.id)
