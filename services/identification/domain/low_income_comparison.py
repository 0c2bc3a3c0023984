"""The monthly comparison with the four departments (每月比对, 003 §二(三)) as a tracked task
(pure): one task per county, month and department; its states and what moves it.

    pending ──receive──▶ received ──complete──▶ compared
       │                    │                      ▲
       └──past due─▶ overdue ◀──past due──┘         │
                       │ receive (kept overdue) ────┘ complete (late)

`overdue`: not compared by the due day (policy `monthly_comparison_due_day`, clamped to the
month's last day; where no version names it, the month end — 003 says 每月). A receipt recorded
after the due day is kept, and the task stays overdue until it is compared; `compared` is final."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "COMPARISON_SOURCE",
    "DEFAULT_DUE_DAY",
    "DEFAULT_DUE_SOURCE",
    "DEPARTMENTS",
    "ComparisonAction",
    "ComparisonRefused",
    "ComparisonState",
    "Department",
    "comparison_due_on",
    "next_state",
    "overdue_on",
]

COMPARISON_SOURCE = (
    "003 §二(三): 民政部门每月与医保、残联、人社、乡村振兴等部门就大病患者、重度残疾、失业人员、"
    "脱贫不稳定人口等信息开展数据比对"
)
#: the month's last day (31 clamps to it): where no version names the day
DEFAULT_DUE_DAY = 31
DEFAULT_DUE_SOURCE = "fangfan default, not from a seed — county must confirm (003 §二(三) 每月: by the month end)"


class ComparisonState(StrEnum):
    PENDING = "pending"
    RECEIVED = "received"
    COMPARED = "compared"
    OVERDUE = "overdue"


class ComparisonAction(StrEnum):
    RECEIVE = "receive"
    COMPLETE = "complete"
    MARK_OVERDUE = "mark_overdue"


@dataclass(frozen=True, slots=True)
class Department:
    """One of the four departments of 003 §二(三) and what its data is about."""

    code: str
    name_zh: str
    subject: str
    #: the signal kinds (application/signals.py SIGNAL_RULES) its data usually arrives as
    signal_kinds: tuple[str, ...]


DEPARTMENTS: tuple[Department, ...] = (
    Department("medical_insurance", "医保局", "serious_illness", ("hospital_stay",)),
    Department("disabled_persons_federation", "残联", "severe_disability", ("disability_certificate",)),
    Department("human_resources", "人社局", "unemployment", ("unemployment",)),
    Department("rural_revitalisation", "乡村振兴局", "unstable_escaped", ("income_drop", "dibao_cancelled")),
)


class ComparisonRefused(ValueError):
    """An action the task's state does not allow; `code` is stable for the API."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def comparison_due_on(month: str, due_day: int | None) -> dt.date:
    """The last day of `month`'s ("YYYY-MM") comparison: `due_day` (1–31) clamped to the month's
    last day; None → DEFAULT_DUE_DAY."""
    year, mon = (int(p) for p in month.split("-"))
    day = DEFAULT_DUE_DAY if due_day is None else due_day
    if not 1 <= day <= 31:
        raise ValueError("monthly_comparison_due_day must be 1–31")
    return dt.date(year, mon, min(day, calendar.monthrange(year, mon)[1]))


def overdue_on(due_on: dt.date) -> dt.date:
    """The first day a task not compared is overdue: the day after its due day."""
    return due_on + dt.timedelta(days=1)


def next_state(
    state: ComparisonState, action: ComparisonAction, *, received: bool, today: dt.date, due_on: dt.date
) -> ComparisonState:
    """The state after `action`; ComparisonRefused when the state does not allow it.
    `received`: the department's data is already recorded on the task."""
    if state is ComparisonState.COMPARED:
        raise ComparisonRefused("comparison_closed", "the comparison is already compared")
    if action is ComparisonAction.MARK_OVERDUE:
        if state is ComparisonState.OVERDUE or today < overdue_on(due_on):
            raise ComparisonRefused("not_overdue", f"due on {due_on.isoformat()}: not overdue on {today.isoformat()}")
        return ComparisonState.OVERDUE
    if action is ComparisonAction.RECEIVE:
        if received:
            raise ComparisonRefused("already_received", "the department's data is already recorded")
        late = state is ComparisonState.OVERDUE or today >= overdue_on(due_on)
        return ComparisonState.OVERDUE if late else ComparisonState.RECEIVED
    # COMPLETE
    if not received:
        raise ComparisonRefused("not_received", "record the department's data (receive) before completing")
    return ComparisonState.COMPARED
