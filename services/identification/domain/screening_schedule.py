"""When the scheduled screening of a county runs (pure): periods of `screening_interval_months`
months counted from January (1 → every month, 6 → January–June and July–December), the run due
on `screening_day_of_month` of the period's first month, clamped to that month's last day (31 →
the month end: Anhui's 每月底进行系统数据分析, 004 §三(二)). A run missed on its day (the service
was down) is made up later in the same period, never in the next one."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

__all__ = ["ScreeningSlot", "screening_slot"]


@dataclass(frozen=True, slots=True)
class ScreeningSlot:
    #: "YYYY-MM" of the period's first month: the lease key with the county
    period: str
    due_on: dt.date
    #: the last day of the period
    ends_on: dt.date

    def is_due(self, today: dt.date) -> bool:
        return self.due_on <= today <= self.ends_on


def screening_slot(today: dt.date, interval_months: int, day_of_month: int) -> ScreeningSlot:
    """The period `today` falls in and its screening day. Interval 1–12 and day 1–31, else ValueError."""
    if not 1 <= interval_months <= 12 or 12 % interval_months:
        raise ValueError("screening_interval_months must divide 12 (1, 2, 3, 4, 6 or 12)")
    if not 1 <= day_of_month <= 31:
        raise ValueError("screening_day_of_month must be 1–31")
    first = ((today.month - 1) // interval_months) * interval_months + 1
    last = first + interval_months - 1
    due = dt.date(today.year, first, min(day_of_month, calendar.monthrange(today.year, first)[1]))
    ends = dt.date(today.year, last, calendar.monthrange(today.year, last)[1])
    return ScreeningSlot(f"{today.year}-{first:02d}", due, ends)
