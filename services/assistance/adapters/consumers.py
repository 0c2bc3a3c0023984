"""Consumers of identification's events (contract in docs/assistance.md): each reads the payload
into a command of `application/households.py` and runs it in the inbox consumer's transaction —
a redelivered event finds its inbox row and has no second effect. Events that can never be
handled (no household id, no village code) are poison."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from services.assistance.application import households as use
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import PoisonEvent, event_date, event_day, household_and_village
from shared.db import UnitOfWork
from shared.events import Event

from .unit_of_work import assistance_work

__all__ = ["CONSUMERS", "guess_labor_capable_members"]

log = logging.getLogger("fangfan.assistance.consumers")
Handler = Callable[[UnitOfWork, Event], Awaitable[None]]


def _risks(data: dict[str, Any]) -> list[str]:
    raw = data.get("risk_types") or []
    return [str(r) for r in raw] if isinstance(raw, list) else []


def guess_labor_capable_members(data: dict[str, Any]) -> int | None:
    """How many labour-capable members the payload says the household has, under either name it
    may come by: `labor_capable_members`, or identification's `able_bodied_members`. The one
    place that guesses payload keys — to be replaced by the typed event contract."""
    members = data.get("labor_capable_members", data.get("able_bodied_members"))
    return int(members) if isinstance(members, int | float) and not isinstance(members, bool) else None


def _facts(ev: Event) -> use.HouseholdFacts:
    """The household as the event describes it. Labour capacity: `has_labor_capacity`, else
    inferred from the labour-capable members; unknown → labour-capable (development measures
    are proposed and the officer adjusts them)."""
    household_id, village = household_and_village(ev)
    d = ev.data
    count = guess_labor_capable_members(d)
    has = d.get("has_labor_capacity")
    return use.HouseholdFacts(
        household_id=household_id,
        region_code=village,
        case_id=d.get("case_id"),
        category=d.get("category"),
        risk_types=_risks(d),
        has_labor_capacity=has if isinstance(has, bool) else (count is None or count > 0),
        labor_capable_members=count,
        self_farming=bool(d.get("self_farming", False)),
    )


def on_identified(ctx: ServiceContext) -> Handler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        d = ev.data
        facts = _facts(ev)
        identified_on = event_date(d.get("identified_on")) or event_date(d.get("monitored_since")) or event_day(ev)
        cmd = use.RecordIdentified(facts, identified_on, bool(d.get("weak_motivation", False)), ctx.now())
        await use.record_identified(assistance_work(uow), cmd)

    return handle


def on_application_submitted(ctx: ServiceContext) -> Handler:
    """Green channel (绿色通道, 002 篇二 §(一)5): an urgent application starts a plan at once —
    assistance first, procedure afterwards. Other applications wait for identification."""

    async def handle(uow: UnitOfWork, ev: Event) -> None:
        d = ev.data
        if d.get("urgent") is not True:
            return
        facts = _facts(ev)
        cmd = use.OpenGreenChannel(facts, event_date(d.get("at")) or event_day(ev), ctx.now())
        await use.open_green_channel(assistance_work(uow), cmd)

    return handle


def on_risk_eliminated(ctx: ServiceContext) -> Handler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        household_id, _village = household_and_village(ev)
        on = event_date(ev.data.get("eliminated_on")) or event_day(ev)
        if (
            await use.record_elimination(assistance_work(uow), use.RecordElimination(household_id, on, ctx.now()))
            is None
        ):
            log.info("risk.eliminated %s: household has no open plan", ev.id)

    return handle


def on_case_status_changed(ctx: ServiceContext) -> Handler:
    """`to == "rolled_back"` (回退) reopens the plan; `to == "cleared"` (清退) closes it for good."""

    async def handle(uow: UnitOfWork, ev: Event) -> None:
        to = ev.data.get("to")
        if to not in ("rolled_back", "cleared"):
            return
        household_id = str(ev.data.get("household_id") or "")
        if not household_id:
            raise PoisonEvent(f"{ev.type} {ev.id}: no household_id")
        on = event_date(ev.data.get("at")) or event_day(ev)
        work = assistance_work(uow)
        if to == "rolled_back":
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
