"""What identification's events do to a household's assistance file (一户一档) and plan:
identified → the file and the plan; an urgent application → the green-channel plan at once;
risk eliminated → the plan closes; a case rolled back (回退) → it reopens; cleared out (清退) →
it closes for good. Run in the inbox consumer's transaction, which commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from services.assistance.domain.recommendation import HouseholdProfile

from .plans import ClosePlan, OpenedPlan, OpenPlan, ReopenPlan, close_plan, open_plan, reopen_plan
from .ports import Work
from .records import Plan

__all__ = [
    "ClearOut",
    "HouseholdFacts",
    "OpenGreenChannel",
    "RecordElimination",
    "RecordIdentified",
    "RollBack",
    "clear_out",
    "open_green_channel",
    "record_elimination",
    "record_identified",
    "roll_back",
]


@dataclass(frozen=True, slots=True)
class HouseholdFacts:
    """What an identification event tells about the household."""

    household_id: str
    region_code: str  # the village
    case_id: str | None
    category: str | None
    risk_types: list[str]
    has_labor_capacity: bool
    labor_capable_members: int | None
    self_farming: bool

    def file(self) -> dict[str, Any]:
        return {
            "region_code": self.region_code,
            "case_id": self.case_id,
            "category": self.category,
            "risk_types": list(self.risk_types),
            "has_labor_capacity": self.has_labor_capacity,
            "labor_capable_members": self.labor_capable_members,
            "self_farming": self.self_farming,
        }


@dataclass(frozen=True, slots=True)
class RecordIdentified:
    facts: HouseholdFacts
    identified_on: dt.date
    weak_motivation: bool
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class OpenGreenChannel:
    facts: HouseholdFacts
    opened_on: dt.date
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class RecordElimination:
    household_id: str
    on: dt.date
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class RollBack:
    household_id: str
    on: dt.date
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class ClearOut:
    household_id: str
    on: dt.date
    at: dt.datetime


async def record_identified(uow: Work, cmd: RecordIdentified) -> OpenedPlan:
    """The household is monitored: its file says so, and it has a plan."""
    f = cmd.facts
    await uow.households.upsert(
        f.household_id,
        {**f.file(), "monitoring_status": "monitored", "identified_on": cmd.identified_on, "eliminated_on": None},
        cmd.at,
    )
    profile = HouseholdProfile(f.risk_types, f.has_labor_capacity, f.self_farming, cmd.weak_motivation)
    return await open_plan(
        uow, OpenPlan(f.household_id, f.region_code, f.case_id, cmd.identified_on, profile, "identified", cmd.at)
    )


async def open_green_channel(uow: Work, cmd: OpenGreenChannel) -> OpenedPlan:
    """绿色通道 (002 篇二 §(一)5): assistance first, procedure afterwards — the plan opens before
    identification decides (the file, if new, says `pending`)."""
    f = cmd.facts
    if await uow.households.get(f.household_id) is None:
        await uow.households.upsert(
            f.household_id,
            {**f.file(), "monitoring_status": "pending", "identified_on": None, "eliminated_on": None},
            cmd.at,
        )
    profile = HouseholdProfile(f.risk_types, f.has_labor_capacity, f.self_farming)
    return await open_plan(
        uow, OpenPlan(f.household_id, f.region_code, f.case_id, cmd.opened_on, profile, "green_channel", cmd.at)
    )


async def record_elimination(uow: Work, cmd: RecordElimination) -> Plan | None:
    """风险消除: the file says eliminated, the plan closes (None: there was no open plan)."""
    if await uow.households.get(cmd.household_id) is not None:
        await uow.households.upsert(
            cmd.household_id, {"monitoring_status": "eliminated", "eliminated_on": cmd.on}, cmd.at
        )
    return await close_plan(uow, ClosePlan(cmd.household_id, cmd.on, cmd.at))


async def roll_back(uow: Work, cmd: RollBack) -> Plan | None:
    """回退: monitored again, the latest plan reopens."""
    if await uow.households.get(cmd.household_id) is not None:
        await uow.households.upsert(cmd.household_id, {"monitoring_status": "monitored", "eliminated_on": None}, cmd.at)
    return await reopen_plan(uow, ReopenPlan(cmd.household_id, cmd.on, cmd.at))


async def clear_out(uow: Work, cmd: ClearOut) -> Plan | None:
    """清退: the household leaves monitoring; its plan closes and no visit is due any more."""
    if await uow.households.get(cmd.household_id) is not None:
        await uow.households.upsert(cmd.household_id, {"monitoring_status": "cleared"}, cmd.at)
    return await close_plan(uow, ClosePlan(cmd.household_id, cmd.on, cmd.at, action="cleared"))
