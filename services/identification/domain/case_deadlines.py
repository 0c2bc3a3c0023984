"""The identification time limit and when a case is overdue (past its limit, or past the
county's department comparison)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from services.identification.domain.calendar import add_time_limit
from services.identification.domain.case_model import Case
from services.identification.domain.case_policy import ProcedurePolicy
from services.identification.domain.case_vocabulary import CaseState

__all__ = ["identification_deadline", "is_overdue", "overdue_on"]


def identification_deadline(
    submitted_on: dt.date,
    policy: ProcedurePolicy,
    holidays: Collection[dt.date] = frozenset(),
) -> dt.date:
    """Last day to finish identification (Liaoning ≤ 15 days, Hebei ≤ 20 working days)."""
    return add_time_limit(
        submitted_on,
        policy.identification_time_limit_days,
        policy.identification_time_limit_kind,
        holidays,
    )


def is_overdue(case: Case, today: dt.date) -> bool:
    """An open case past its deadline, or in county review past the department comparison's
    (the last day itself is still in time)."""
    return overdue_on(
        today, is_open=case.is_open, state=case.state, deadline=case.deadline, comparison_due=case.comparison_due
    )


def overdue_on(
    today: dt.date,
    *,
    is_open: bool,
    state: CaseState | str,
    deadline: dt.date | None,
    comparison_due: dt.date | None,
) -> bool:
    """`is_overdue` from a case's stored columns."""
    if not is_open:
        return False
    if deadline is not None and today > deadline:
        return True
    return state == CaseState.COUNTY_REVIEW and comparison_due is not None and today > comparison_due
