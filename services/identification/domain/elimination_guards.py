"""The §5 elimination guards (DOMAIN.md §5): the checks before a household's risk may be
marked eliminated — months monitored, labour capacity, the income floor, the half-year and
stable-year rules, open measures — each verdict with its explanation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.identification.domain.calendar import add_months
from services.identification.domain.case_model import HouseholdFacts
from services.identification.domain.case_policy import ProcedurePolicy
from services.identification.domain.case_vocabulary import RULE_SOURCES, Rule, TransitionRefused

__all__ = ["GuardOutcome", "elimination_guards", "enforce_guards"]


@dataclass(frozen=True, slots=True)
class GuardOutcome:
    """One §5 guard's verdict with its explanation."""

    rule: Rule
    passed: bool
    detail: str
    source: str


def elimination_guards(
    *,
    monitored_since: dt.date | None,
    facts: HouseholdFacts,
    policy: ProcedurePolicy,
    on: dt.date,
    approval: bool = False,
) -> tuple[GuardOutcome, ...]:
    """Every §5 guard on proposing or approving elimination on ``on``, passed or not.
    ``approval``: the county's approval, which also needs every measure delivered
    (``measures_open``, when assistance has told the measures).

    Months are calendar months clamped to the month end (``calendar.add_months``): monitored
    since 2024-01-31 → three months are reached on 2024-04-30.
    """
    since = facts.monitored_since or monitored_since
    outcomes: list[GuardOutcome] = []

    def add(rule: Rule, passed: bool, detail: str) -> None:
        outcomes.append(GuardOutcome(rule, passed, detail, RULE_SOURCES[rule]))

    if since is None:
        add(Rule.ELIMINATION_MIN_MONTHS, False, "the date monitoring started is unknown")
    else:
        earliest = add_months(since, policy.elimination_min_months)
        add(
            Rule.ELIMINATION_MIN_MONTHS,
            on >= earliest,
            f"monitored since {since}; at least {policy.elimination_min_months} months "
            f"of monitoring are reached on {earliest}",
        )
    no_labor = not facts.has_labor_capacity and facts.only_social_security
    add(
        Rule.NO_LABOR_SOCIAL_SECURITY,
        not no_labor,
        "a household without labour capacity given only social security is not eliminated"
        if no_labor
        else "household has labour capacity or measures beyond social security",
    )
    floor = policy.elimination_income_floor
    add(
        Rule.ELIMINATION_INCOME_FLOOR,
        facts.per_capita_income >= floor,
        f"per-capita income {facts.per_capita_income} against the floor {floor}",
    )
    months = policy.elimination_min_measure_months
    if months > 0:
        if facts.measures_since is None:
            add(
                Rule.HALF_YEAR_RULE,
                False,
                "half-year rule (Liaoning): keep as tracked — no assistance measures recorded "
                "(give measures_since: when the household's assistance measures started)",
            )
        else:
            earliest = add_months(facts.measures_since, months)
            passed = on >= earliest
            add(
                Rule.HALF_YEAR_RULE,
                passed,
                f"measures in place since {facts.measures_since}; {months} months are reached "
                f"on {earliest}" + ("" if passed else "; half-year rule (Liaoning): keep as tracked"),
            )
    if policy.elimination_requires_stable_year:
        stable = facts.income_stable_since
        if not facts.risk_factors_removed or stable is None:
            add(Rule.STABLE_YEAR, False, "risk factors not removed or income not yet stable")
        else:
            after = add_months(stable, policy.elimination_stable_months)
            add(
                Rule.STABLE_YEAR,
                on > after,
                f"income stable since {stable}; must be stable for more than "
                f"{policy.elimination_stable_months} months (after {after})",
            )
    if approval and facts.measures_open is not None:
        add(
            Rule.MEASURES_OPEN,
            facts.measures_open == 0,
            f"{facts.measures_open} assistance measure(s) not yet closed or dropped",
        )
    return tuple(outcomes)


def enforce_guards(
    monitored_since: dt.date | None,
    facts: HouseholdFacts | None,
    policy: ProcedurePolicy,
    on: dt.date,
    approval: bool = False,
) -> None:
    if facts is None:
        raise TransitionRefused(Rule.FACTS_REQUIRED, "the household's facts are needed")
    failed = [
        o
        for o in elimination_guards(
            monitored_since=monitored_since, facts=facts, policy=policy, on=on, approval=approval
        )
        if not o.passed
    ]
    if failed:
        first = failed[0]
        raise TransitionRefused(
            first.rule,
            first.detail,
            source=first.source,
            violations=[o.rule for o in failed],
        )
