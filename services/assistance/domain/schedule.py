"""Visit schedule (走访): how often a contact person visits, by the household's monitoring status,
and when a visit or a plan is due or overdue (002 篇八 §(一); 002 篇二 §(一)5). The intervals and
limits are policy parameters; these functions only do the calendar."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "MonitoringStatus",
    "VisitPolicy",
    "add_months",
    "is_overdue",
    "next_visit_due",
    "plan_due_date",
    "stalled_since",
]


class MonitoringStatus(StrEnum):
    MONITORED = "monitored"  # 未消除风险: monthly
    ELIMINATED = "eliminated"  # 已消除风险: every six months
    STABLE = "stable"  # 稳定脱贫户: yearly


@dataclass(frozen=True, slots=True)
class VisitPolicy:
    monitored_months: int
    eliminated_months: int
    stable_months: int

    def interval(self, status: MonitoringStatus) -> int:
        return {
            MonitoringStatus.MONITORED: self.monitored_months,
            MonitoringStatus.ELIMINATED: self.eliminated_months,
            MonitoringStatus.STABLE: self.stable_months,
        }[status]


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day `months` later, clipped to the month's end (31 Jan + 1 → 29 Feb)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_visit_due(since: dt.date, status: MonitoringStatus, policy: VisitPolicy) -> dt.date:
    """The date by which the next visit is due, counted from the last visit (or the start of
    monitoring / the elimination when there has been none since)."""
    return add_months(since, policy.interval(status))


def is_overdue(due: dt.date | None, today: dt.date) -> bool:
    return due is not None and today > due


def plan_due_date(identified_on: dt.date, due_days: int) -> dt.date:
    """A plan must be drawn up within `due_days` of entry (002 篇二 §(一)5: 10 days)."""
    return identified_on + dt.timedelta(days=due_days)


def stalled_since(last_progress: dt.date, today: dt.date, stall_days: int) -> bool:
    """A measure with no progress for `stall_days` is stalled."""
    return (today - last_progress).days >= stall_days
