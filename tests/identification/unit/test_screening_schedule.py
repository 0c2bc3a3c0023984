"""The scheduled screening's period and day (domain/screening_schedule.py), table-driven."""

from __future__ import annotations

import datetime as dt

import pytest

from services.identification.domain.screening_schedule import screening_slot

D = dt.date


@pytest.mark.parametrize(
    ("today", "interval", "day", "period", "due", "ends", "is_due"),
    [
        # Anhui: every month, at the month end (31 clamped)
        (D(2024, 3, 30), 1, 31, "2024-03", D(2024, 3, 31), D(2024, 3, 31), False),
        (D(2024, 3, 31), 1, 31, "2024-03", D(2024, 3, 31), D(2024, 3, 31), True),
        (D(2024, 2, 29), 1, 31, "2024-02", D(2024, 2, 29), D(2024, 2, 29), True),  # leap year
        (D(2023, 2, 28), 1, 31, "2023-02", D(2023, 2, 28), D(2023, 2, 28), True),
        # day 1: due from the first of the month, made up on any later day of it
        (D(2024, 5, 17), 1, 1, "2024-05", D(2024, 5, 1), D(2024, 5, 31), True),
        # two concentrated screenings a year (003): January–June and July–December
        (D(2024, 1, 14), 6, 15, "2024-01", D(2024, 1, 15), D(2024, 6, 30), False),
        (D(2024, 6, 30), 6, 15, "2024-01", D(2024, 1, 15), D(2024, 6, 30), True),
        (D(2024, 7, 1), 6, 15, "2024-07", D(2024, 7, 15), D(2024, 12, 31), False),
        (D(2024, 11, 2), 6, 15, "2024-07", D(2024, 7, 15), D(2024, 12, 31), True),
        # quarterly
        (D(2024, 8, 20), 3, 10, "2024-07", D(2024, 7, 10), D(2024, 9, 30), True),
    ],
)
def test_slot(today: dt.date, interval: int, day: int, period: str, due: dt.date, ends: dt.date, is_due: bool) -> None:
    slot = screening_slot(today, interval, day)
    assert (slot.period, slot.due_on, slot.ends_on) == (period, due, ends)
    assert slot.is_due(today) is is_due


@pytest.mark.parametrize(("interval", "day"), [(0, 1), (5, 1), (13, 1), (1, 0), (1, 32)])
def test_bad_parameters(interval: int, day: int) -> None:
    with pytest.raises(ValueError, match="screening_"):
        screening_slot(D(2024, 1, 1), interval, day)
