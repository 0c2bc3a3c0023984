"""The loops between assistance and identification (docs/procedure.md "The loops"): what
identification does with assistance's events — a visit's income update re-assesses the household
(a new or cleared warning, with its explanation), the day measures started and each measure's
status reach the elimination guards — and the county's manual red mark.

Every function here runs inside the caller's unit of work (an inbox consumer's transaction or a
request's), so an event's effect and its inbox row commit together: exactly once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from services.identification.application.stored import StoredHousehold
from services.identification.domain.assessment import assess
from services.identification.domain.columnar import profile_of
from services.identification.domain.params import quantize_money
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.events import Event
from shared.pii import mask_numbers_in_text

from .cases import actor_label
from .monitoring_ports import FINAL, LoopsRepository, LoopsWork
from .policies import policy_in_force

__all__ = [
    "INCOME_KINDS",
    "MEASURE_RANK",
    "ApplyIncomeUpdate",
    "HouseholdLoops",
    "MarkEntry",
    "MarkRed",
    "RecordMeasure",
    "RecordMeasuresSince",
    "RedMark",
    "RedMarkChanged",
    "apply_income_update",
    "household_loops",
    "mark_red",
    "record_measure",
    "record_measures_since",
    "set_red_mark",
]

SOURCE = "identification"
INCOME_KINDS = ("wage", "business", "property", "transfer", "insurance_claims", "exempt")
#: a measure's status only moves forward; closed and dropped are final
MEASURE_RANK = {"proposed": 0, "accepted": 1, "referred": 2, "in_progress": 3, "closed": 4, "dropped": 4}
_ORDER = {None: 0, "yellow": 1, "orange": 2, "red": 3}


# --------------------------------------------------------------------------- measures


@dataclass(frozen=True, slots=True)
class RecordMeasuresSince:
    """Measures in place since `on` (assistance's `plan_drawn_up.drawn_up_on`, or a measure
    accepted or started)."""

    household_id: str
    region_code: str
    on: dt.date
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class RecordMeasure:
    """A measure's status as assistance told it."""

    household_id: str
    region_code: str
    measure_id: str
    status: str
    plan_id: str | None
    type_: str | None
    on: dt.date | None
    at: dt.datetime


async def record_measures_since(loops: LoopsRepository, cmd: RecordMeasuresSince) -> None:
    """Measures in place since `cmd.on`: the earliest day heard is kept."""
    await loops.ensure_row(cmd.household_id, cmd.region_code, cmd.at)
    await loops.record_measures_since(cmd.household_id, cmd.on, cmd.at)


async def record_measure(loops: LoopsRepository, cmd: RecordMeasure) -> None:
    """A measure's status as assistance told it; an earlier status arriving late is ignored."""
    await loops.ensure_row(cmd.household_id, cmd.region_code, cmd.at)
    stored = await loops.measure_status(cmd.measure_id)
    if stored is None:
        await loops.add_measure(
            measure_id=cmd.measure_id,
            household_id=cmd.household_id,
            plan_id=cmd.plan_id,
            type_=cmd.type_,
            status=cmd.status,
            on=cmd.on,
            at=cmd.at,
        )
    elif stored not in FINAL and MEASURE_RANK.get(cmd.status, -1) > MEASURE_RANK.get(stored, -1):
        await loops.set_measure_status(cmd.measure_id, cmd.status, cmd.on, cmd.at)
    if cmd.status in ("accepted", "in_progress") and cmd.on is not None:
        await record_measures_since(loops, RecordMeasuresSince(cmd.household_id, cmd.region_code, cmd.on, cmd.at))


# --------------------------------------------------------------------------- income


def _money(value: Any) -> str | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return str(quantize_money(amount))


def income_of(data: Mapping[str, Any]) -> dict[str, str]:
    """The income kinds an `income_updated` event gives (`income` {kind: amount}, else the
    top-level copies), as 2-place decimal strings; kinds not given or not amounts are left out."""
    given = data.get("income")
    nested: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    out: dict[str, str] = {}
    for kind in INCOME_KINDS:
        raw = nested.get(kind) if kind in nested else data.get(kind)
        amount = _money(raw)
        if amount is not None:
            out[kind] = amount
    return out


def _profile_source(stored: StoredHousehold, facts: dict[str, Any]) -> dict[str, Any]:
    """The plain-data household `profile_of` reads (members with their stand-in numbers)."""
    domain = stored.to_domain()
    return {
        **facts,
        "escaped_poverty": stored.escaped_poverty,
        "dibao_status": stored.dibao_status,
        "members": [
            {
                "id_number": m.id_number,
                "labor_capacity": str(m.labor_capacity),
                "disability_grade": m.disability_grade,
                "disability_kind": None if m.disability_kind is None else str(m.disability_kind),
                "serious_illness": m.serious_illness,
                "schooling": str(m.schooling),
            }
            for m in domain.members
        ],
    }


def _explained(explanations: Any) -> list[dict[str, str]]:
    """Rule, clause and text of each explanation (numbers looking like ID numbers masked; the
    inputs stay in `POST /assessments`)."""
    return [{"rule": x.rule, "source": x.source, "detail": mask_numbers_in_text(x.detail)} for x in explanations]


@dataclass(frozen=True, slots=True)
class ApplyIncomeUpdate:
    """A visit's income (`income_of`: kind → 2-place decimal string) for the household."""

    household_id: str
    income: Mapping[str, str]
    visited_on: dt.date
    visit_id: str | None
    at: dt.datetime


async def apply_income_update(ctx: ServiceContext, uow: LoopsWork, cmd: ApplyIncomeUpdate) -> str | None:
    """Store a visit's income on the household and re-assess it under the policy in force on the
    visit's day. Returns the event written (`warning_raised`, `warning_cleared`) or None.

    A visit older than the one applied last changes nothing (events of two visits may arrive out
    of order); kinds the visit did not give keep their stored amounts."""
    household_id, income, visited_on, visit_id, at = cmd.household_id, cmd.income, cmd.visited_on, cmd.visit_id, cmd.at
    loops = uow.loops
    # the household locked until commit: two visits of the household one after the other
    stored = await loops.household_for_update(household_id)
    if stored is None:
        return None
    loop = await loops.ensure_row(household_id, stored.region_code, at)
    if loop.income_visited_on is not None and visited_on < loop.income_visited_on:
        return None
    facts = dict(stored.facts)
    facts["income"] = {**(facts.get("income") or {}), **income}
    facts["income"].setdefault("unverified_earners", 0)
    for kind in INCOME_KINDS:
        facts["income"].setdefault(kind, "0")
    await loops.store_facts(household_id, facts, profile_of(_profile_source(stored, facts), stored.region_code), at)
    updated = replace(stored, facts=facts)
    policy = await policy_in_force(ctx, uow, updated.region_code, visited_on)
    result = assess(updated.to_domain(), policy, as_of=visited_on)
    previous = stored.warning
    warning = None if result.warning is None else str(result.warning)
    await loops.record_outcome(
        household_id,
        category=None if result.category is None else str(result.category),
        low_income_category=None if result.low_income_category is None else str(result.low_income_category),
        warning=warning,
        per_capita_income=result.per_capita_income,
        as_of=visited_on,
        policy_id=policy.id,
        policy_version=policy.version,
    )
    explanations = _explained(result.explanations)
    name = None
    if warning is not None and warning != previous:
        name = "warning_raised"
    elif warning is None and previous is not None:
        name = "warning_cleared"
    reassessment = {
        "trigger": "income_updated",
        "visit_id": visit_id,
        "visited_on": visited_on.isoformat(),
        "income": dict(income),
        "per_capita_income": f"{result.per_capita_income:.2f}",
        "category": None if result.category is None else str(result.category),
        "warning": warning,
        "previous_warning": previous,
        "outcome": name or "unchanged",
        "rules": [x["rule"] for x in explanations],
        "explanations": explanations,
        "policy": {"id": policy.id, "version": policy.version},
        "at": at.isoformat(),
    }
    await loops.save_reassessment(
        household_id, visited_on=visited_on, visit_id=visit_id, reassessment=reassessment, at=at
    )
    if name is not None:
        labor = [m.labor_capacity for m in stored.members]
        data: dict[str, Any] = {
            "household_id": household_id,
            "region_code": updated.region_code,
            "warning": warning,
            "previous_warning": previous,
            "risk_types": [str(r) for r in result.risk_types],
            "category": reassessment["category"],
            "per_capita_income": reassessment["per_capita_income"],
            "trigger": "income_updated",
            "visit_id": visit_id,
            "rules": reassessment["rules"],
            "explanations": explanations,
            "policy": reassessment["policy"],
            "has_labor_capacity": any(c != "none" for c in labor),
            "manual": False,
            "at": at.isoformat(),
        }
        uow.add_event(Event("risk", name, household_id, updated.region_code, data, source=SOURCE))
    return name


# --------------------------------------------------------------------------- red marks


RED_MARK_SOURCE = (
    "004 §三(二): 发现返贫致贫风险较大的,在系统中通过红色标注进行预警 (manual mark by the county, with its reason)"
)


_MARKERS = frozenset({"county", "province", "admin"})


@dataclass(frozen=True, slots=True)
class MarkRed:
    """Mark household `household_id` red (`mark`) or remove its mark, with the officer's reason."""

    household_id: str
    reason: str
    mark: bool


@dataclass(frozen=True, slots=True)
class RedMark:
    reason: str
    by: str | None
    at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class MarkEntry:
    """One red mark or its removal, in the household's mark history."""

    action: str  # red_mark | red_unmark
    reason: str
    by: str
    role: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class HouseholdLoops:
    """The loops' part of a household: the day measures started and their counts
    (open / closed / dropped), the last re-assessment (as stored), the red mark and its history."""

    measures_since: dt.date | None
    measure_counts: dict[str, int]
    reassessment: Any
    red_mark: RedMark | None
    mark_history: list[MarkEntry]


@dataclass(frozen=True, slots=True)
class RedMarkChanged:
    household_id: str
    changed: bool  # False: it already was so
    loops: HouseholdLoops


async def mark_red(ctx: ServiceContext, uow: LoopsWork, principal: Principal, cmd: MarkRed) -> RedMarkChanged:
    """`POST`/`DELETE /households/{id}/red-mark`: county, province and admin within their
    region (404 outside); the household's loops part after the change (`changed`: whether it
    changed). One transaction, committed here."""
    if principal.role not in _MARKERS:
        raise Forbidden("only county, province and admin officers mark households red", code="role_not_allowed")
    stored = await uow.loops.household(cmd.household_id)
    if stored is None or not principal.sees(stored.region_code):
        raise NotFound("no such household in your jurisdiction")
    changed = await set_red_mark(
        uow,
        stored,
        mark=cmd.mark,
        reason=mask_numbers_in_text(cmd.reason),
        by=actor_label(principal),
        role=principal.role,
        at=ctx.now(),
    )
    result = RedMarkChanged(stored.id, changed, await household_loops(uow, stored.id))
    await uow.commit()
    return result


async def set_red_mark(
    uow: LoopsWork,
    stored: StoredHousehold,
    *,
    mark: bool,
    reason: str,
    by: str,
    role: str,
    at: dt.datetime,
) -> bool:
    """Mark the household red (`mark`) or remove the mark, with the officer's reason: the mark,
    a history row and a `risk.warning_raised` (`warning: red`, `manual: true`) or
    `risk.warning_cleared` event, in the caller's transaction. False: it already was so."""
    loops = uow.loops
    await loops.ensure_row(stored.id, stored.region_code, at)
    if not await loops.set_red_mark(stored.id, mark=mark, reason=reason, by=by, at=at):
        return False  # already so (or another request just did it)
    action = "red_mark" if mark else "red_unmark"
    await loops.add_mark(stored.id, action=action, reason=reason, by=by, role=role, at=at)
    await loops.audit(
        kind=action,
        household_id=stored.id,
        region_code=stored.region_code,
        actor=by,
        role=role,
        at=at,
        detail={"reason": reason, "source": RED_MARK_SOURCE},
    )
    data: dict[str, Any] = {
        "household_id": stored.id,
        "region_code": stored.region_code,
        "warning": "red" if mark else stored.warning,
        "previous_warning": stored.warning if mark else "red",
        "manual": True,
        "rules": ["red_mark" if mark else "red_unmark"],
        "explanations": [
            {
                "rule": "red_mark" if mark else "red_unmark",
                "source": RED_MARK_SOURCE,
                # no free text in events: the reason is in the household's mark history
                "detail": f"{'marked red' if mark else 'red mark removed'} by a {role} officer "
                "(reason in GET /households/{id} mark_history)",
            }
        ],
        "marked_by_role": role,
        "at": at.isoformat(),
    }
    uow.add_event(
        Event(
            "risk", "warning_raised" if mark else "warning_cleared", stored.id, stored.region_code, data, source=SOURCE
        )
    )
    return True


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


async def household_loops(uow: LoopsWork, household_id: str) -> HouseholdLoops:
    """The loops' part of `GET /households/{id}`: measures (since, counts), the last re-assessment
    with its explanation, the manual red mark and its history."""
    row = await uow.loops.row(household_id)
    facts = await uow.loops.facts(household_id)
    marks = await uow.loops.marks(household_id)
    red_mark = None
    if row is not None and row.red_mark_reason is not None:
        red_mark = RedMark(row.red_mark_reason, row.red_marked_by, row.red_marked_at or None)
    return HouseholdLoops(
        measures_since=facts.measures_since,
        measure_counts=dict(facts.counts),
        reassessment=_json(row.reassessment) if row is not None else None,
        red_mark=red_mark,
        mark_history=[MarkEntry(m.action, m.reason, m.by, m.role, m.at) for m in marks],
    )
