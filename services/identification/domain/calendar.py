"""Date arithmetic for procedure time limits: calendar and working days (节假日 injected by the
caller) and month arithmetic for the elimination guards. Pure; no clock is read here.

Month arithmetic clamps to the end of the target month: 3 months after 2024-01-31 is 2024-04-30
and 1 month after 2024-01-31 is 2024-02-29. That is the reading "at least three months" needs —
the period never spills into the month after — and it matches ``dateutil.relativedelta``.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
from collections.abc import Collection
from enum import StrEnum

__all__ = [
    "TimeLimitKind",
    "add_days",
    "add_months",
    "add_time_limit",
    "add_working_days",
    "is_working_day",
    "months_elapsed",
]


class TimeLimitKind(StrEnum):
    """How a time limit counts: every day (Liaoning "15 日") or working days (Hebei "20 个工作日")."""

    CALENDAR = "calendar"
    WORKING = "working"


def add_days(start: dt.date, days: int) -> dt.date:
    return start + dt.timedelta(days=days)


def add_months(start: dt.date, months: int) -> dt.date:
    """``start`` moved by ``months`` months, the day clamped to the end of the target month."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last = _stdlib_calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(start.day, last))


def months_elapsed(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end`` under the same clamping rule (0 if end < start)."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + (end.month - start.month)
    while months > 0 and add_months(start, months) > end:
        months -= 1
    return months


def is_working_day(day: dt.date, holidays: Collection[dt.date] = frozenset()) -> bool:
    """Monday to Friday and not in ``holidays``.

    Make-up working Saturdays (调休) are not modelled; a province that needs them injects the
    holidays only and accepts a one-day conservative error.
    """
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: dt.date, days: int, holidays: Collection[dt.date] = frozenset()) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself is not counted).

    ``days == 0`` returns ``start`` unchanged.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    current = start
    remaining = days
    while remaining:
        current += dt.timedelta(days=1)
        if is_working_day(current, holidays):
            remaining -= 1
    return current


def add_time_limit(
    start: dt.date,
    days: int,
    kind: TimeLimitKind | str,
    holidays: Collection[dt.date] = frozenset(),
) -> dt.date:
    """The last day of a time limit of ``days`` counted from ``start`` (the day after is late)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    if TimeLimitKind(kind) is TimeLimitKind.WORKING:
        return add_working_days(start, days, holidays)
    return add_days(start, days)
