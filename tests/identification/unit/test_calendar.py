"""Working-day and month arithmetic behind the procedure's time limits and §5 guards."""

from __future__ import annotations

import datetime as dt

import pytest

from services.identification.domain.calendar import (
    TimeLimitKind,
    add_days,
    add_months,
    add_time_limit,
    add_working_days,
    is_working_day,
    months_elapsed,
)

D = dt.date


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(D(2024, 1, 15), 3, D(2024, 4, 15), id="mid-month"),
        pytest.param(D(2024, 1, 31), 3, D(2024, 4, 30), id="jan31+3=apr30-clamped"),
        pytest.param(D(2024, 1, 31), 1, D(2024, 2, 29), id="jan31+1=feb29-leap"),
        pytest.param(D(2023, 1, 31), 1, D(2023, 2, 28), id="jan31+1=feb28-common"),
        pytest.param(D(2024, 2, 29), 12, D(2025, 2, 28), id="leap-day+12"),
        pytest.param(D(2024, 11, 30), 3, D(2025, 2, 28), id="across-year"),
        pytest.param(D(2024, 8, 31), 6, D(2025, 2, 28), id="half-year-clamped"),
        pytest.param(D(2024, 3, 31), -1, D(2024, 2, 29), id="negative"),
        pytest.param(D(2024, 3, 10), 0, D(2024, 3, 10), id="zero"),
    ],
)
def test_add_months(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param(D(2024, 1, 15), D(2024, 4, 14), 2, id="3-months-less-a-day"),
        pytest.param(D(2024, 1, 15), D(2024, 4, 15), 3, id="exactly-3-months"),
        pytest.param(D(2024, 1, 31), D(2024, 4, 30), 3, id="month-end-clamped"),
        pytest.param(D(2024, 1, 31), D(2024, 4, 29), 2, id="month-end-less-a-day"),
        pytest.param(D(2024, 5, 1), D(2024, 4, 1), 0, id="end-before-start"),
    ],
)
def test_months_elapsed(start: dt.date, end: dt.date, expected: int) -> None:
    assert months_elapsed(start, end) == expected


@pytest.mark.parametrize(
    ("day", "holidays", "expected"),
    [
        pytest.param(D(2024, 3, 1), frozenset(), True, id="friday"),
        pytest.param(D(2024, 3, 2), frozenset(), False, id="saturday"),
        pytest.param(D(2024, 3, 3), frozenset(), False, id="sunday"),
        pytest.param(D(2024, 10, 1), frozenset({D(2024, 10, 1)}), False, id="national-day"),
    ],
)
def test_is_working_day(day: dt.date, holidays: frozenset[dt.date], expected: bool) -> None:
    assert is_working_day(day, holidays) is expected


@pytest.mark.parametrize(
    ("start", "days", "holidays", "expected"),
    [
        pytest.param(D(2024, 3, 1), 1, frozenset(), D(2024, 3, 4), id="fri+1=mon"),
        pytest.param(D(2024, 3, 2), 1, frozenset(), D(2024, 3, 4), id="sat+1=mon"),
        pytest.param(D(2024, 3, 1), 5, frozenset(), D(2024, 3, 8), id="fri+5=next-fri"),
        pytest.param(D(2024, 3, 1), 20, frozenset(), D(2024, 3, 29), id="hebei-20-working-days"),
        pytest.param(D(2024, 3, 1), 20, frozenset({D(2024, 3, 4)}), D(2024, 4, 1), id="holiday-skipped"),
        pytest.param(
            D(2024, 9, 27),
            3,
            frozenset(D(2024, 10, d) for d in range(1, 8)),
            D(2024, 10, 9),
            id="golden-week",
        ),
        pytest.param(D(2024, 3, 1), 0, frozenset(), D(2024, 3, 1), id="zero"),
    ],
)
def test_add_working_days(start: dt.date, days: int, holidays: frozenset[dt.date], expected: dt.date) -> None:
    assert add_working_days(start, days, holidays) == expected


@pytest.mark.parametrize(
    ("kind", "days", "expected"),
    [
        pytest.param(TimeLimitKind.CALENDAR, 15, D(2024, 3, 16), id="calendar-15-liaoning"),
        pytest.param("calendar", 15, D(2024, 3, 16), id="calendar-as-string"),
        pytest.param(TimeLimitKind.WORKING, 20, D(2024, 3, 29), id="working-20-hebei"),
        pytest.param("working", 10, D(2024, 3, 15), id="working-10"),
    ],
)
def test_add_time_limit(kind: TimeLimitKind | str, days: int, expected: dt.date) -> None:
    assert add_time_limit(D(2024, 3, 1), days, kind) == expected


def test_add_days() -> None:
    assert add_days(D(2024, 2, 28), 2) == D(2024, 3, 1)


@pytest.mark.parametrize("bad", [-1, -20])
def test_negative_time_limits_are_errors(bad: int) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        add_time_limit(D(2024, 3, 1), bad, "working")
    with pytest.raises(ValueError, match=">= 0"):
        add_working_days(D(2024, 3, 1), bad)


def test_unknown_time_limit_kind() -> None:
    with pytest.raises(ValueError, match="fortnight"):
        add_time_limit(D(2024, 3, 1), 1, "fortnight")
