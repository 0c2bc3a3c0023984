"""Consumers of identification's events (contract in docs/assistance.md): each reads the payload
through its declared typed view (`shared.contracts`) into a command of
`application/households.py` and runs it in the inbox consumer's transaction — a redelivered
event finds its inbox row and has no second effect. Events that can never be handled (no
household id, no village code) are poison."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from services.assistance.application import households as use
from shared import contracts
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import PoisonEvent, event_day, household_and_village
from shared.db import UnitOfWork
from shared.events import Event

from .unit_of_work import assistance_work

__all__ = ["CONSUMERS"]

log = logging.getLogger("fangfan.assistance.consumers")
Handler = Callable[[UnitOfWork, Event], Awaitable[None]]


@contracts.reads("assistance.identified", "household.identified")
@dataclass(frozen=True, slots=True)
class _Identified:
    """What a new monitored household tells the plan: `identified_on`, `self_farming` and
    `weak_motivation` are read when given, identification does not send them (yet)."""

    case_id: str | None = None
    category: str | None = None
    risk_types: list[str] = field(default_factory=list)
    has_labor_capacity: bool | None = None
    able_bodied_members: int | None = None
    monitored_since: dt.date | None = None
    identified_on: dt.date | None = None
    self_farming: bool = False
    weak_motivation: bool = False


@contracts.reads("assistance.applications", "application.submitted")
@dataclass(frozen=True, slots=True)
class _Submitted:
    """`has_labor_capacity` is read when given; identification does not send it (yet)."""

    urgent: bool = False
    has_labor_capacity: bool | None = None
    case_id: str | None = None
    category: str | None = None
    risk_types: list[str] = field(default_factory=list)
    at: dt.datetime | None = None


@contracts.reads("assistance.eliminated", "risk.eliminated")
@dataclass(frozen=True, slots=True)
class _Eliminated:
    eliminated_on: dt.date | None = None


@contracts.reads("assistance.case-status", "case.status_changed")
@dataclass(frozen=True, slots=True)
class _StatusChanged:
    to: str
    household_id: str | None = None
    at: dt.datetime | None = None


def _facts(ev: Event, d: _Identified | _Submitted, able_bodied: int | None, self_farming: bool) -> use.HouseholdFacts:
    """The household as the event describes it. Labour capacity: `has_labor_capacity`, else
    inferred from the able-bodied members; unknown → labour-capable (development measures are
    proposed and the officer adjusts them)."""
    household_id, village = household_and_village(ev)
    has = d.has_labor_capacity
    return use.HouseholdFacts(
        household_id=household_id,
        region_code=village,
        case_id=d.case_id,
        category=d.category,
        risk_types=list(d.risk_types),
        has_labor_capacity=has if has is not None else (able_bodied is None or able_bodied > 0),
        labor_capable_members=able_bodied,
        self_farming=self_farming,
    )


def on_identified(ctx: ServiceContext) -> Handler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        d = contracts.read(ev, _Identified)
        facts = _facts(ev, d, d.able_bodied_members, d.self_farming)
        identified_on = d.identified_on or d.monitored_since or event_day(ev)
        cmd = use.RecordIdentified(facts, identified_on, d.weak_motivation, ctx.now())
        await use.record_identified(assistance_work(uow), cmd)

    return handle


def on_application_submitted(ctx: ServiceContext) -> Handler:
    """Green channel (绿色通道, 002 篇二 §(一)5): an urgent application starts a plan at once —
    assistance first, procedure afterwards. Other applications wait for identification."""

    async def handle(uow: UnitOfWork, ev: Event) -> None:
        d = contracts.read(ev, _Submitted)
        if not d.urgent:
            return
        cmd = use.OpenGreenChannel(_facts(ev, d, None, False), d.at.date() if d.at else event_day(ev), ctx.now())
        await use.open_green_channel(assistance_work(uow), cmd)

    return handle


def on_risk_eliminated(ctx: ServiceContext) -> Handler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        household_id, _village = household_and_village(ev)
        on = contracts.read(ev, _Eliminated).eliminated_on or event_day(ev)
        if (
            await use.record_elimination(assistance_work(uow), use.RecordElimination(household_id, on, ctx.now()))
            is None
        ):
            log.info("risk.eliminated %s: household has no open plan", ev.id)

    return handle


def on_case_status_changed(ctx: ServiceContext) -> Handler:
    """`to == "rolled_back"` (回退) reopens the plan; `to == "cleared"` (清退) closes it for good."""

    async def handle(uow: UnitOfWork, ev: Event) -> None:
        d = contracts.read(ev, _StatusChanged)
        if d.to not in ("rolled_back", "cleared"):
            return
        household_id = d.household_id or ""
        if not household_id:
            raise PoisonEvent(f"{ev.type} {ev.id}: no household_id")
        on = d.at.date() if d.at else event_day(ev)
        work = assistance_work(uow)
        if d.to == "rolled_back":
            await use.roll_back(work, use.RollBack(household_id, on, ctx.now()))
        else:
            await use.clear_out(work, use.ClearOut(household_id, on, ctx.now()))

    return handle


CONSUMERS = [
    ConsumerSpec("identified", ["fangfan.household.identified.>"], on_identified),
    ConsumerSpec("applications", ["fangfan.application.submitted.>"], on_application_submitted),
    ConsumerSpec("eliminated", ["fangfan.risk.eliminated.>"], on_risk_eliminated),
    ConsumerSpec("case-status", ["fangfan.case.status_changed.>"], on_case_status_changed),
]
