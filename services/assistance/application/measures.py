"""Measure use cases: officers add, edit, move and drop measures (受理—转办—办结); the lead
department acknowledges a referral and reports back. Each commits the caller's unit of work and
returns the measure as stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from services.assistance.domain.catalogue import CATALOGUE, Department, MeasureType
from services.assistance.domain.errors import RuleViolation
from services.assistance.domain.lifecycle import (
    TERMINAL_MEASURE_STATES,
    ActorKind,
    MeasureAction,
    MeasureState,
    PlanStatus,
    ensure_plan_editable,
    transition_measure,
)
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound

from .common import Actor, assistance_event, conflict_from, ensure_sees
from .plan_events import measure_status_event
from .plans import after_measures_changed, new_measure, plan_for_officer, plan_of
from .ports import Work
from .records import Measure, Plan

__all__ = ["AddMeasure", "EditMeasure", "TransitionMeasure", "add_measure", "edit_measure", "transition"]


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
    plan = await plan_for_officer(uow, principal, cmd.plan_id)
    _ensure_editable(plan)
    actor = Actor.of(principal)
    spec = CATALOGUE[cmd.measure_type]
    m = new_measure(
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
    uow.add_event(measure_status_event(m, None, m.status, at.date()))
    await after_measures_changed(uow, plan, at, actor)
    await uow.commit()
    return await _measure(uow, m.id)


async def edit_measure(uow: Work, principal: Principal, cmd: EditMeasure, *, at: dt.datetime) -> Measure:
    """An officer edits a measure's description or lead department (committed); returns it."""
    m = await uow.measures.get(cmd.measure_id)
    if m is None or (principal.role == "department" and principal.dept != m.department):
        # another department's measure does not exist for this caller (404, not 403)
        raise NotFound("measure not found")
    plan = await plan_for_officer(uow, principal, m.plan_id)
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
    plan = await plan_of(uow, m.plan_id)
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
    uow.add_event(measure_status_event(m, m.status, str(new_state), at.date()))
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
    await after_measures_changed(uow, plan, at, actor)
    await uow.commit()
    return await _measure(uow, m.id)
