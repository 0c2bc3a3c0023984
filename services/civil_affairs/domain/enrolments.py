"""Enrolments in dibao / 特困 and their life: monthly payment orders, periodic re-checks (动态复核),
gradual exit (渐退期), voluntary exit, and the sanction after three refused job offers. Pure.

    active --recheck: income above the line--> gradual_exit --(last exit month ordered)--> exited
    active --voluntary exit--> voluntary_exit --(last extra month ordered)--> exited
    active --recheck: 特困 conditions no longer hold--> exited
    active <--> suspended   (officer)

Money is not computed here: an order carries the subsidy calculator's inputs for its kind
(payments contract); subsidy computes and records the amount.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.civil_affairs.domain.programmes import (
    MemberFacts,
    Programme,
    ProgrammePolicy,
    age_on,
    highest_care_level,
)

__all__ = [
    "Enrolment",
    "EnrolmentRefused",
    "EnrolmentStatus",
    "PaymentPlan",
    "add_months",
    "exclude_member",
    "month_of",
    "next_recheck",
    "plan_payment",
    "recheck_category",
    "record_recheck",
    "start_voluntary_exit",
]


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    GRADUAL_EXIT = "gradual_exit"  # 渐退期
    VOLUNTARY_EXIT = "voluntary_exit"  # 主动退出: the extra months
    SUSPENDED = "suspended"
    EXITED = "exited"


PAYING = frozenset({EnrolmentStatus.ACTIVE, EnrolmentStatus.GRADUAL_EXIT, EnrolmentStatus.VOLUNTARY_EXIT})
SANCTION_SOURCE = (
    "000 safety-net §三(一)1: 无正当理由连续3次拒绝接受介绍与其健康状况相适应工作的，核减或停发其本人低保资金"
)


class EnrolmentRefused(Exception):
    def __init__(self, rule: str, message: str, source: str = "") -> None:
        super().__init__(message)
        self.rule, self.message, self.source = rule, message, source


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(period: str, n: int) -> str:
    y, m = int(period[:4]), int(period[5:7])
    total = y * 12 + (m - 1) + n
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def _first_day(period: str) -> dt.date:
    return dt.date(int(period[:4]), int(period[5:7]), 1)


def _add_months_day(day: dt.date, n: int) -> dt.date:
    p = add_months(month_of(day), n)
    y, m = int(p[:4]), int(p[5:7])
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(y, m, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class Enrolment:
    id: str
    household_id: str
    region_code: str
    programme: Programme
    members: tuple[MemberFacts, ...]  # the persons the benefit covers
    household_size: int
    per_capita_income_annual: Decimal
    rule: str  # the category rule it was admitted under (e.g. dibao_single_person)
    start_month: str
    status: EnrolmentStatus
    next_recheck_on: dt.date
    approved_by: str
    approved_role: str
    approved_at: dt.datetime
    application_id: str | None = None
    excluded_members: tuple[str, ...] = ()
    last_month: str | None = None  # the last month paid (exits)
    exit_kind: str | None = None
    stable_income: bool = False
    history: tuple[dict[str, Any], ...] = ()
    version: int = 1

    def payable(self, period: str) -> bool:
        return (
            self.status in PAYING
            and period >= self.start_month
            and (self.last_month is None or period <= self.last_month)
        )


def recheck_category(programme: Programme, members: tuple[MemberFacts, ...], stable_income: bool) -> str:
    """Which re-check interval applies: 特困; dibao whose income changes little (declared stable, or
    no member with labour capacity); other dibao."""
    if programme is Programme.TEKUN:
        return "tekun"
    if stable_income or all(m.labor_capacity == "none" for m in members):
        return "dibao_stable"
    return "dibao_other"


def next_recheck(
    programme: Programme, members: tuple[MemberFacts, ...], stable_income: bool, policy: ProgrammePolicy, after: dt.date
) -> tuple[dt.date, dict[str, Any]]:
    cat = recheck_category(programme, members, stable_income)
    name = f"recheck_months_{cat}"
    months = policy.int(name)
    return _add_months_day(after, months), {
        "category": cat,
        "months": months,
        "parameter": name,
        "source": policy.sources[name],
    }


@dataclass(frozen=True, slots=True)
class PaymentPlan:
    kind: str
    funding_source: str
    inputs: dict[str, Any]
    phase: str
    closes: bool  # this is the last month: the enrolment exits once it is ordered


def plan_payment(e: Enrolment, period: str) -> PaymentPlan | None:
    """The order for `period`, or None when nothing is payable that month."""
    if not e.payable(period):
        return None
    phase = {
        EnrolmentStatus.GRADUAL_EXIT: "gradual_exit",
        EnrolmentStatus.VOLUNTARY_EXIT: "voluntary_exit",
    }.get(e.status, "regular")
    closes = e.last_month is not None and period == e.last_month
    if e.programme is Programme.TEKUN:
        return PaymentPlan(
            kind="tekun_monthly",
            funding_source="tekun_fund",
            inputs={"persons": len(e.members), "care_level": highest_care_level(e.members), "months": 1},
            phase=phase,
            closes=closes,
        )
    on = _first_day(period)
    ages = [age_on(m.birth_date, on) for m in e.members]
    return PaymentPlan(
        kind="dibao_monthly",
        funding_source="dibao_fund",
        inputs={
            "per_capita_income_annual": str(e.per_capita_income_annual),
            "members": len(e.members),
            "severely_ill_or_disabled": sum(1 for m in e.members if m.severe),
            "aged_70_plus": sum(1 for a in ages if a >= 70),
            "minors": sum(1 for a in ages if a < 18),
            "months": 1,
            "excluded_members": len(e.excluded_members),
            "phase": phase,
        },
        phase=phase,
        closes=closes,
    )


def _entry(action: str, by: str, role: str, at: dt.datetime, **detail: Any) -> dict[str, Any]:
    return {"action": action, "by": by, "role": role, "at": at.isoformat(), **detail}


def record_recheck(
    e: Enrolment,
    *,
    per_capita_income_annual: Decimal | None,
    tekun_conditions_hold: bool | None,
    policy: ProgrammePolicy,
    by: str,
    role: str,
    at: dt.datetime,
    note: str | None = None,
) -> tuple[Enrolment, str]:
    """A re-check (动态复核). Returns the enrolment and the outcome: `continues`, `amount_changed`,
    `gradual_exit` or `exited`."""
    if e.status not in (EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED):
        raise EnrolmentRefused("not_active", f"the enrolment is {e.status}: no re-check is due")
    month = month_of(at.date())
    nxt, schedule = next_recheck(e.programme, e.members, e.stable_income, policy, at.date())
    if e.programme is Programme.TEKUN:
        if tekun_conditions_hold is None:
            raise EnrolmentRefused("tekun_conditions_required", "a 特困 re-check states whether the conditions hold")
        if tekun_conditions_hold:
            entry = _entry("recheck", by, role, at, outcome="continues", next_recheck_on=nxt.isoformat(), note=note)
            return replace(e, next_recheck_on=nxt, history=(*e.history, entry), version=e.version + 1), "continues"
        entry = _entry(
            "recheck",
            by,
            role,
            at,
            outcome="exited",
            rule="tekun_conditions_no_longer_met",
            source="002 篇六 §(一)3",
            note=note,
        )
        return replace(
            e,
            status=EnrolmentStatus.EXITED,
            last_month=month,
            exit_kind="tekun_terminated",
            history=(*e.history, entry),
            version=e.version + 1,
        ), "exited"
    if per_capita_income_annual is None:
        raise EnrolmentRefused("income_required", "a dibao re-check records the per-capita income found")
    standard = policy.dec("dibao_standard_annual")
    line = standard
    line_name = "dibao_standard_annual"
    if e.rule == "dibao_single_person":
        line = standard * policy.dec("dibao_edge_multiple")
        line_name = "dibao_edge_multiple × dibao_standard_annual"
    inputs = {
        "per_capita_income_annual": str(per_capita_income_annual),
        "previous_per_capita_income_annual": str(e.per_capita_income_annual),
        "line": str(line),
        "line_parameter": line_name,
        **policy.cite("dibao_standard_annual", "gradual_exit_months"),
    }
    if per_capita_income_annual >= line:
        months = policy.int("gradual_exit_months")
        last = add_months(month, months)
        entry = _entry(
            "recheck",
            by,
            role,
            at,
            outcome="gradual_exit",
            rule="income_above_standard",
            source=policy.sources["gradual_exit_months"],
            explanation=f"per-capita income of {per_capita_income_annual} is not below {line}: {months} months of "
            f"gradual exit (渐退期), paid month by month until {last}, then exited",
            inputs=inputs,
            note=note,
        )
        # the benefit continues at the amount it had (the income that qualified it) during 渐退期
        return replace(
            e,
            status=EnrolmentStatus.GRADUAL_EXIT,
            last_month=last,
            exit_kind="gradual",
            history=(*e.history, entry),
            version=e.version + 1,
        ), "gradual_exit"
    outcome = "amount_changed" if per_capita_income_annual != e.per_capita_income_annual else "continues"
    entry = _entry(
        "recheck",
        by,
        role,
        at,
        outcome=outcome,
        inputs=inputs,
        next_recheck_on=nxt.isoformat(),
        schedule=schedule,
        note=note,
    )
    return replace(
        e,
        per_capita_income_annual=per_capita_income_annual,
        next_recheck_on=nxt,
        history=(*e.history, entry),
        version=e.version + 1,
    ), outcome


def start_voluntary_exit(
    e: Enrolment, *, months: int | None, policy: ProgrammePolicy, by: str, role: str, at: dt.datetime
) -> Enrolment:
    """The household asks to leave: 1 to `voluntary_exit_months_max` further months, then exited (000)."""
    if e.status not in (EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED):
        raise EnrolmentRefused("not_active", f"the enrolment is {e.status}")
    top = policy.int("voluntary_exit_months_max")
    n = top if months is None else months
    if not 1 <= n <= top:
        raise EnrolmentRefused(
            "voluntary_exit_months",
            f"voluntary exit gives 1 to {top} months",
            policy.sources["voluntary_exit_months_max"],
        )
    last = add_months(month_of(at.date()), n)
    entry = _entry(
        "voluntary_exit",
        by,
        role,
        at,
        months=n,
        last_month=last,
        source=policy.sources["voluntary_exit_months_max"],
    )
    return replace(
        e,
        status=EnrolmentStatus.VOLUNTARY_EXIT,
        last_month=last,
        exit_kind="voluntary",
        history=(*e.history, entry),
        version=e.version + 1,
    )


def close_after(e: Enrolment, period: str, at: dt.datetime) -> Enrolment:
    """The last month of an exit has been ordered: the enrolment ends."""
    entry = _entry("exited", "payments", "system", at, last_month=period, exit_kind=e.exit_kind)
    return replace(e, status=EnrolmentStatus.EXITED, history=(*e.history, entry), version=e.version + 1)


def exclude_member(
    e: Enrolment, *, person_ref: str, refusals: int, recommendation_ids: list[str], at: dt.datetime
) -> tuple[Enrolment, bool]:
    """Three refused job offers without valid reason: the person's own share stops (000). Returns
    (enrolment, changed). A person who is not covered, or already excluded, changes nothing."""
    refs = {m.person_ref for m in e.members}
    if person_ref not in refs or person_ref in e.excluded_members or e.programme is not Programme.DIBAO:
        return e, False
    entry = _entry(
        "member_excluded",
        "employment.offers_refused",
        "system",
        at,
        person_ref=person_ref,
        refusals=refusals,
        recommendation_ids=recommendation_ids,
        rule="three_refused_job_offers",
        source=SANCTION_SOURCE,
        explanation=f"person {person_ref} refused {refusals} suitable job offers without valid reason: "
        "their own share of the dibao is stopped (excluded_members + 1)",
    )
    return replace(
        e, excluded_members=(*e.excluded_members, person_ref), history=(*e.history, entry), version=e.version + 1
    ), True


def set_suspended(e: Enrolment, suspended: bool, *, by: str, role: str, at: dt.datetime, reason: str) -> Enrolment:
    if suspended and e.status is not EnrolmentStatus.ACTIVE:
        raise EnrolmentRefused("not_active", f"only an active enrolment can be suspended (it is {e.status})")
    if not suspended and e.status is not EnrolmentStatus.SUSPENDED:
        raise EnrolmentRefused("not_suspended", f"the enrolment is {e.status}, not suspended")
    status = EnrolmentStatus.SUSPENDED if suspended else EnrolmentStatus.ACTIVE
    entry = _entry("suspend" if suspended else "resume", by, role, at, reason=reason)
    return replace(e, status=status, history=(*e.history, entry), version=e.version + 1)


def to_doc(e: Enrolment) -> dict[str, Any]:
    return {
        "id": e.id,
        "household_id": e.household_id,
        "region_code": e.region_code,
        "programme": str(e.programme),
        "members": [m.to_doc() for m in e.members],
        "household_size": e.household_size,
        "per_capita_income_annual": str(e.per_capita_income_annual),
        "rule": e.rule,
        "start_month": e.start_month,
        "status": str(e.status),
        "next_recheck_on": e.next_recheck_on.isoformat(),
        "approved_by": e.approved_by,
        "approved_role": e.approved_role,
        "approved_at": e.approved_at.isoformat(),
        "application_id": e.application_id,
        "excluded_members": list(e.excluded_members),
        "last_month": e.last_month,
        "exit_kind": e.exit_kind,
        "stable_income": e.stable_income,
        "history": list(e.history),
        "version": e.version,
    }


def from_doc(d: Mapping[str, Any]) -> Enrolment:
    return Enrolment(
        id=d["id"],
        household_id=d["household_id"],
        region_code=d["region_code"],
        programme=Programme(d["programme"]),
        members=tuple(MemberFacts.from_doc(m) for m in d["members"]),
        household_size=int(d["household_size"]),
        per_capita_income_annual=Decimal(d["per_capita_income_annual"]),
        rule=d["rule"],
        start_month=d["start_month"],
        status=EnrolmentStatus(d["status"]),
        next_recheck_on=dt.date.fromisoformat(d["next_recheck_on"]),
        approved_by=d["approved_by"],
        approved_role=d["approved_role"],
        approved_at=dt.datetime.fromisoformat(d["approved_at"]),
        application_id=d.get("application_id"),
        excluded_members=tuple(d.get("excluded_members", ())),
        last_month=d.get("last_month"),
        exit_kind=d.get("exit_kind"),
        stable_income=bool(d.get("stable_income", False)),
        history=tuple(d.get("history", ())),
        version=int(d.get("version", 1)),
    )
