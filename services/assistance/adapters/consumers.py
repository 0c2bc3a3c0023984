"""Consumers of identification's events (contract in docs/assistance.md). Each handler runs in
the inbox consumer's transaction: a redelivered event finds its inbox row and has no second
effect. Events that can never be handled (no household id, no village code) are poison."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from services.assistance.application.plans import ClosePlan, OpenPlan, ReopenPlan, close_plan, open_plan, reopen_plan
from services.assistance.domain.recommendation import HouseholdProfile
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import PoisonEvent, event_date, event_day, household_and_village
from shared.db import UnitOfWork
from shared.events import Event

from .unit_of_work import assistance_work

__all__ = ["CONSUMERS"]

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


def _labor(data: dict[str, Any]) -> tuple[bool, int | None]:
    """`has_labor_capacity`, else inferred from the labour-capable members; unknown →
    labour-capable (development measures are proposed and the officer adjusts them)."""
    count = guess_labor_capable_members(data)
    has = data.get("has_labor_capacity")
    if isinstance(has, bool):
        return has, count
    return (count is None or count > 0), count


def on_identified(ctx: ServiceContext) -> Handler:
    async def handle(base: UnitOfWork, ev: Event) -> None:
        uow = assistance_work(base)
        household_id, village = household_and_village(ev)
        d = ev.data
        identified_on = event_date(d.get("identified_on")) or event_date(d.get("monitored_since")) or event_day(ev)
        has_labor, capable = _labor(d)
        self_farming = bool(d.get("self_farming", False))
        at = ctx.now()
        await uow.households.upsert(
            household_id,
            {
                "region_code": village,
                "case_id": d.get("case_id"),
                "category": d.get("category"),
                "risk_types": _risks(d),
                "has_labor_capacity": has_labor,
                "labor_capable_members": capable,
                "self_farming": self_farming,
                "monitoring_status": "monitored",
                "identified_on": identified_on,
                "eliminated_on": None,
            },
            at,
        )
        await open_plan(
            uow,
            OpenPlan(
                household_id=household_id,
                region_code=village,
                case_id=d.get("case_id"),
                opened_on=identified_on,
                profile=HouseholdProfile(_risks(d), has_labor, self_farming, bool(d.get("weak_motivation", False))),
                origin="identified",
                at=at,
            ),
        )

    return handle


def on_application_submitted(ctx: ServiceContext) -> Handler:
    """Green channel (绿色通道, 002 篇二 §(一)5): an urgent application starts a plan at once —
    assistance first, procedure afterwards. Other applications wait for identification."""

    async def handle(base: UnitOfWork, ev: Event) -> None:
        uow = assistance_work(base)
        d = ev.data
        if d.get("urgent") is not True:
            return
        household_id, village = household_and_village(ev)
        has_labor, capable = _labor(d)
        at = ctx.now()
        if await uow.households.get(household_id) is None:
            await uow.households.upsert(
                household_id,
                {
                    "region_code": village,
                    "case_id": d.get("case_id"),
                    "category": d.get("category"),
                    "risk_types": _risks(d),
                    "has_labor_capacity": has_labor,
                    "labor_capable_members": capable,
                    "self_farming": bool(d.get("self_farming", False)),
                    "monitoring_status": "pending",
                    "identified_on": None,
                    "eliminated_on": None,
                },
                at,
            )
        await open_plan(
            uow,
            OpenPlan(
                household_id=household_id,
                region_code=village,
                case_id=d.get("case_id"),
                opened_on=event_date(d.get("at")) or event_day(ev),
                profile=HouseholdProfile(_risks(d), has_labor, bool(d.get("self_farming", False))),
                origin="green_channel",
                at=at,
            ),
        )

    return handle


def on_risk_eliminated(ctx: ServiceContext) -> Handler:
    async def handle(base: UnitOfWork, ev: Event) -> None:
        uow = assistance_work(base)
        household_id, _village = household_and_village(ev)
        on = event_date(ev.data.get("eliminated_on")) or event_day(ev)
        at = ctx.now()
        if await uow.households.get(household_id) is not None:
            await uow.households.upsert(household_id, {"monitoring_status": "eliminated", "eliminated_on": on}, at)
        if await close_plan(uow, ClosePlan(household_id, on, at)) is None:
            log.info("risk.eliminated %s: household has no open plan", ev.id)

    return handle


def on_case_status_changed(ctx: ServiceContext) -> Handler:
    """`to == "rolled_back"` (回退) reopens the plan; `to == "cleared"` (清退) closes it for good."""

    async def handle(base: UnitOfWork, ev: Event) -> None:
        uow = assistance_work(base)
        to = ev.data.get("to")
        if to not in ("rolled_back", "cleared"):
            return
        household_id = str(ev.data.get("household_id") or "")
        if not household_id:
            raise PoisonEvent(f"{ev.type} {ev.id}: no household_id")
        at = ctx.now()
        on = event_date(ev.data.get("at")) or event_day(ev)
        known = await uow.households.get(household_id) is not None
        if to == "rolled_back":
            if known:
                await uow.households.upsert(household_id, {"monitoring_status": "monitored", "eliminated_on": None}, at)
            await reopen_plan(uow, ReopenPlan(household_id, on, at))
        else:
            if known:
                await uow.households.upsert(household_id, {"monitoring_status": "cleared"}, at)
            await close_plan(uow, ClosePlan(household_id, on, at, action="cleared"))

    return handle


CONSUMERS = [
    ConsumerSpec("identified", ["fangfan.household.identified.>"], on_identified),
    ConsumerSpec("applications", ["fangfan.application.submitted.>"], on_application_submitted),
    ConsumerSpec("eliminated", ["fangfan.risk.eliminated.>"], on_risk_eliminated),
    ConsumerSpec("case-status", ["fangfan.case.status_changed.>"], on_case_status_changed),
]
