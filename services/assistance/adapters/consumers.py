"""Consumers of identification's events (contract in docs/assistance.md). Each handler runs in
the inbox consumer's transaction: a redelivered event finds its inbox row and has no second
effect. Events that can never be handled (no household id, no village code) are poison."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from services.assistance.application.plans import close_plan, open_plan, reopen_plan
from services.assistance.domain.recommendation import HouseholdProfile
from shared import contracts
from shared.app import ConsumerSpec, ServiceContext
from shared.consumer import PoisonEvent, event_day, household_and_village
from shared.db import UnitOfWork
from shared.events import Event

from .repository import Repository

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


def _labor(has: bool | None, members: int | None) -> tuple[bool, int | None]:
    """`has_labor_capacity`, else inferred from `able_bodied_members`; unknown → labour-capable
    (development measures are proposed and the officer adjusts them)."""
    if has is not None:
        return has, members
    return (members is None or members > 0), members


def on_identified(ctx: ServiceContext) -> Handler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        household_id, village = household_and_village(ev)
        d = contracts.read(ev, _Identified)
        identified_on = d.identified_on or d.monitored_since or event_day(ev)
        has_labor, capable = _labor(d.has_labor_capacity, d.able_bodied_members)
        at = ctx.now()
        await Repository(uow.session).upsert_household(
            household_id,
            {
                "region_code": village,
                "case_id": d.case_id,
                "category": d.category,
                "risk_types": d.risk_types,
                "has_labor_capacity": has_labor,
                "labor_capable_members": capable,
                "self_farming": d.self_farming,
                "monitoring_status": "monitored",
                "identified_on": identified_on,
                "eliminated_on": None,
            },
            at,
        )
        await open_plan(
            uow,
            household_id=household_id,
            region_code=village,
            case_id=d.case_id,
            opened_on=identified_on,
            profile=HouseholdProfile(d.risk_types, has_labor, d.self_farming, d.weak_motivation),
            origin="identified",
            at=at,
        )

    return handle


def on_application_submitted(ctx: ServiceContext) -> Handler:
    """Green channel (绿色通道, 002 篇二 §(一)5): an urgent application starts a plan at once —
    assistance first, procedure afterwards. Other applications wait for identification."""

    async def handle(uow: UnitOfWork, ev: Event) -> None:
        d = contracts.read(ev, _Submitted)
        if not d.urgent:
            return
        household_id, village = household_and_village(ev)
        has_labor, capable = _labor(d.has_labor_capacity, None)
        at = ctx.now()
        repo = Repository(uow.session)
        if await repo.household(household_id) is None:
            await repo.upsert_household(
                household_id,
                {
                    "region_code": village,
                    "case_id": d.case_id,
                    "category": d.category,
                    "risk_types": d.risk_types,
                    "has_labor_capacity": has_labor,
                    "labor_capable_members": capable,
                    "self_farming": False,
                    "monitoring_status": "pending",
                    "identified_on": None,
                    "eliminated_on": None,
                },
                at,
            )
        await open_plan(
            uow,
            household_id=household_id,
            region_code=village,
            case_id=d.case_id,
            opened_on=d.at.date() if d.at else event_day(ev),
            profile=HouseholdProfile(d.risk_types, has_labor, False),
            origin="green_channel",
            at=at,
        )

    return handle


def on_risk_eliminated(ctx: ServiceContext) -> Handler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        household_id, _village = household_and_village(ev)
        on = contracts.read(ev, _Eliminated).eliminated_on or event_day(ev)
        at = ctx.now()
        repo = Repository(uow.session)
        if await repo.household(household_id) is not None:
            await repo.upsert_household(household_id, {"monitoring_status": "eliminated", "eliminated_on": on}, at)
        if await close_plan(uow, household_id=household_id, on=on, at=at) is None:
            log.info("risk.eliminated %s: household has no open plan", ev.id)

    return handle


def on_case_status_changed(ctx: ServiceContext) -> Handler:
    """`to == "rolled_back"` (回退) reopens the plan; `to == "cleared"` (清退) closes it for good."""

    async def handle(uow: UnitOfWork, ev: Event) -> None:
        d = contracts.read(ev, _StatusChanged)
        to = d.to
        if to not in ("rolled_back", "cleared"):
            return
        household_id = d.household_id or ""
        if not household_id:
            raise PoisonEvent(f"{ev.type} {ev.id}: no household_id")
        at = ctx.now()
        on = d.at.date() if d.at else event_day(ev)
        repo = Repository(uow.session)
        known = await repo.household(household_id) is not None
        if to == "rolled_back":
            if known:
                await repo.upsert_household(household_id, {"monitoring_status": "monitored", "eliminated_on": None}, at)
            await reopen_plan(uow, household_id=household_id, on=on, at=at)
        else:
            if known:
                await repo.upsert_household(household_id, {"monitoring_status": "cleared"}, at)
            await close_plan(uow, household_id=household_id, on=on, at=at, action="cleared")

    return handle


CONSUMERS = [
    ConsumerSpec("identified", ["fangfan.household.identified.>"], on_identified),
    ConsumerSpec("applications", ["fangfan.application.submitted.>"], on_application_submitted),
    ConsumerSpec("eliminated", ["fangfan.risk.eliminated.>"], on_risk_eliminated),
    ConsumerSpec("case-status", ["fangfan.case.status_changed.>"], on_case_status_changed),
]
