"""Visit schedule and due/overdue computation, contact assignment, the 1 + 5 employment standard,
and the shipped policy."""

from __future__ import annotations

import datetime as dt

import pytest

from services.assistance.domain.contacts import ContactLoad, choose_contact, ensure_same_village
from services.assistance.domain.employment import EmploymentStandard, check_standard
from services.assistance.domain.errors import RuleViolation
from services.assistance.domain.params import assistance_policy
from services.assistance.domain.schedule import (
    MonitoringStatus,
    VisitPolicy,
    add_months,
    is_overdue,
    next_visit_due,
    plan_due_date,
    stalled_since,
)

D = dt.date
VP = VisitPolicy(monitored_months=1, eliminated_months=6, stable_months=12)

VISITS = [
    ("monitored-monthly", D(2024, 3, 4), "monitored", D(2024, 4, 4)),
    ("monitored-month-end-clipped", D(2024, 1, 31), "monitored", D(2024, 2, 29)),
    ("eliminated-half-year", D(2024, 3, 4), "eliminated", D(2024, 9, 4)),
    ("eliminated-over-year-end", D(2024, 8, 31), "eliminated", D(2025, 2, 28)),
    ("stable-yearly", D(2024, 2, 29), "stable", D(2025, 2, 28)),
]


@pytest.mark.parametrize(("since", "status", "due"), [v[1:] for v in VISITS], ids=[v[0] for v in VISITS])
def test_next_visit_due(since: dt.date, status: str, due: dt.date) -> None:
    assert next_visit_due(since, MonitoringStatus(status), VP) == due


def test_overdue_is_strictly_after_the_due_day() -> None:
    assert not is_overdue(D(2024, 4, 4), D(2024, 4, 4))
    assert is_overdue(D(2024, 4, 4), D(2024, 4, 5))
    assert not is_overdue(None, D(2030, 1, 1))


def test_plan_due_and_stall() -> None:
    assert plan_due_date(D(2024, 3, 4), 10) == D(2024, 3, 14)
    assert stalled_since(D(2024, 3, 1), D(2024, 3, 31), 30)
    assert not stalled_since(D(2024, 3, 1), D(2024, 3, 30), 30)
    assert add_months(D(2024, 12, 15), 1) == D(2025, 1, 15)


V = "341221001201"
ROSTER = [
    ContactLoad("c-b", V, True, 2),
    ContactLoad("c-a", V, True, 2),
    ContactLoad("c-c", V, True, 3),
    ContactLoad("c-z", V, False, 0),
    ContactLoad("c-other", "341221001202", True, 0),
]

ASSIGN = [
    ("least-loaded-tie-by-id", ROSTER, "c-a"),
    ("inactive-skipped", [*ROSTER[:3], ContactLoad("c-0", V, False, 0)], "c-a"),
    ("other-village-never", [ContactLoad("c-other", "341221001202", True, 0), ROSTER[2]], "c-c"),
    ("fewest-wins", [ContactLoad("c-9", V, True, 1), ContactLoad("c-1", V, True, 4)], "c-9"),
]


@pytest.mark.parametrize(("roster", "expected"), [a[1:] for a in ASSIGN], ids=[a[0] for a in ASSIGN])
def test_choose_contact(roster: list[ContactLoad], expected: str) -> None:
    chosen = choose_contact(roster, V)
    assert chosen is not None
    assert chosen.contact_id == expected


def test_no_contact_in_village() -> None:
    assert choose_contact([ContactLoad("x", "341221001202", True, 0)], V) is None
    with pytest.raises(RuleViolation) as err:
        ensure_same_village("341221001202", V)
    assert err.value.code == "contact_other_village"


STD = EmploymentStandard(1, 5)
EMPLOYMENT = [
    ("nothing-yet", [], False, ("guidance_or_training: 0/1", "job_recommendations: 0/5")),
    ("guidance-and-five-jobs", ["guidance"] + ["job_recommendation"] * 5, True, ()),
    ("training-counts-as-guidance", ["training"] + ["job_recommendation"] * 5, True, ()),
    ("four-jobs-short", ["guidance"] + ["job_recommendation"] * 4, False, ("job_recommendations: 4/5",)),
    ("jobs-without-guidance", ["job_recommendation"] * 6, False, ("guidance_or_training: 0/1",)),
]


@pytest.mark.parametrize(("services", "met", "missing"), [e[1:] for e in EMPLOYMENT], ids=[e[0] for e in EMPLOYMENT])
def test_employment_standard(services: list[str], met: bool, missing: tuple[str, ...]) -> None:
    result = check_standard(services, STD)
    assert result.met is met
    assert result.missing == missing


def test_shipped_policy_values_and_sources() -> None:
    p = assistance_policy("341221001201", D(2024, 3, 1))
    assert p.plan_due_days == 10
    assert p.measure_stall_days == 30
    assert p.visits == VP
    assert p.employment == STD
    assert "10日内" in p.source("plan_due_days")
    assert "回访" in p.source("visit_interval_months_eliminated")
