"""Eligibility tests that pay nothing themselves: the microcredit borrower test (扶贫小额信贷,
002 篇十一 §(一)3), which the entrepreneurship guaranteed loan may use too."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from shared.policy import ResolvedPolicy

from .model import Explanation, SubsidyInputError
from .parsing import age_on

__all__ = ["Eligibility", "microcredit_eligibility"]


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool
    explanations: tuple[Explanation, ...]

    @property
    def reasons_refused(self) -> tuple[str, ...]:
        return tuple(e.detail for e in self.explanations if e.rule.startswith("fails_"))


def microcredit_eligibility(
    *,
    policy: ResolvedPolicy,
    age: int | None = None,
    birth_date: dt.date | None = None,
    creditworthy: bool,
    has_project: bool,
    repayment_capacity: bool,
) -> Eligibility:
    """Borrower aged 18–65 inclusive (周岁, so someone is 65 until the day before turning 66),
    rated creditworthy by the bank, with a project and the capacity to repay."""
    if age is not None and birth_date is None:
        years = age
    elif birth_date is not None and age is None:
        years = age_on(birth_date, policy.as_of)
    else:
        raise SubsidyInputError("age", "give exactly one of age or birth_date")
    low_pv, high_pv = policy.param("microcredit_min_age"), policy.param("microcredit_max_age")
    low, high = Decimal(low_pv.value), Decimal(high_pv.value)
    out: list[Explanation] = []
    ok = True
    if low <= years <= high:
        out.append(Explanation("age", high_pv.source, f"The borrower is {years}, within {low}–{high}."))
    else:
        ok = False
        out.append(
            Explanation(
                "fails_age",
                high_pv.source,
                f"The borrower is {years}; a borrower must be aged {low} to {high} inclusive.",
            )
        )
    for flag, rule, words in (
        (creditworthy, "creditworthy", "be rated creditworthy by the bank"),
        (has_project, "project", "have a production project"),
        (repayment_capacity, "repayment_capacity", "be able to repay"),
    ):
        if flag:
            out.append(Explanation(rule, high_pv.source, f"Met: the borrower must {words}."))
        else:
            ok = False
            out.append(Explanation("fails_" + rule, high_pv.source, f"Not met: the borrower must {words}."))
    return Eligibility(ok, tuple(out))
