"""The low-income side's rules as tables a policy officer can read: when the twice-yearly joint
screening is due (003 §二(二)), the monthly comparison task's due day and states (003 §二(三)),
and who is on the roster as `other` low-income (002 篇六 §一(五))."""

from __future__ import annotations

import datetime as dt

import pytest

from services.identification.domain.low_income_comparison import (
    DEPARTMENTS,
    ComparisonAction,
    ComparisonRefused,
    ComparisonState,
    comparison_due_on,
    next_state,
)
from services.identification.domain.low_income_roster import (
    MemberFacts,
    OtherFacts,
    facts_of,
    other_low_income_reasons,
    roster_category,
)
from services.identification.domain.low_income_schedule import DEFAULT_SOURCE, joint_screening_slot

D = dt.date

# name, today, first month, second month → period, due on, due today?
JOINT = [
    ("default: April in the first half, before it", D(2026, 3, 31), None, None, "2026-H1", D(2026, 4, 1), False),
    ("default: April, on the 1st", D(2026, 4, 1), None, None, "2026-H1", D(2026, 4, 1), True),
    ("default: missed in April, made up in June", D(2026, 6, 30), None, None, "2026-H1", D(2026, 4, 1), True),
    ("default: July is the second half, October not yet", D(2026, 7, 1), None, None, "2026-H2", D(2026, 10, 1), False),
    ("default: October", D(2026, 10, 15), None, None, "2026-H2", D(2026, 10, 1), True),
    ("default: still due on 31 December", D(2026, 12, 31), None, None, "2026-H2", D(2026, 10, 1), True),
    ("county: March and September", D(2026, 3, 1), 3, 9, "2026-H1", D(2026, 3, 1), True),
    ("county: September not yet in August", D(2026, 8, 31), 3, 9, "2026-H2", D(2026, 9, 1), False),
    ("county: January, due from New Year", D(2027, 1, 1), 1, 7, "2027-H1", D(2027, 1, 1), True),
    (
        "county sets only the first month: October default for the second",
        D(2026, 11, 2),
        5,
        None,
        "2026-H2",
        D(2026, 10, 1),
        True,
    ),
]


@pytest.mark.parametrize(
    ("name", "today", "first", "second", "period", "due_on", "due"), JOINT, ids=[r[0] for r in JOINT]
)
def test_joint_screening_slot(
    name: str, today: dt.date, first: int | None, second: int | None, period: str, due_on: dt.date, due: bool
) -> None:
    slot = joint_screening_slot(today, first, second, first_source="county plan", second_source="county plan")
    assert (slot.period, slot.due_on, slot.is_due(today)) == (period, due_on, due)
    defaulted = (first if today.month <= 6 else second) is None
    assert slot.source == (DEFAULT_SOURCE if defaulted else "county plan")


@pytest.mark.parametrize(("first", "second"), [(7, 10), (0, 10), (4, 6), (4, 13)])
def test_each_half_year_holds_one_run(first: int, second: int) -> None:
    with pytest.raises(ValueError, match="joint_screening"):
        joint_screening_slot(D(2026, 4, 1), first, second)


# month, due day (policy; None: the month end) → last day of the comparison
DUE = [
    ("2026-02", None, D(2026, 2, 28)),
    ("2024-02", None, D(2024, 2, 29)),
    ("2026-04", 31, D(2026, 4, 30)),
    ("2026-05", 25, D(2026, 5, 25)),
    ("2026-12", 1, D(2026, 12, 1)),
]


@pytest.mark.parametrize(("month", "day", "due_on"), DUE)
def test_comparison_due_on(month: str, day: int | None, due_on: dt.date) -> None:
    assert comparison_due_on(month, day) == due_on


P, R, C, OV = ComparisonState.PENDING, ComparisonState.RECEIVED, ComparisonState.COMPARED, ComparisonState.OVERDUE
RECEIVE, COMPLETE, MARK = ComparisonAction.RECEIVE, ComparisonAction.COMPLETE, ComparisonAction.MARK_OVERDUE
DUE_ON = D(2026, 5, 25)
# state, action, data already received?, today → next state, or the code that refuses it
STATES = [
    ("pending", P, RECEIVE, False, D(2026, 5, 10), R),
    ("pending: receive on the due day", P, RECEIVE, False, D(2026, 5, 25), R),
    ("pending: receive after the due day lands overdue", P, RECEIVE, False, D(2026, 5, 26), OV),
    ("received: complete", R, COMPLETE, True, D(2026, 5, 20), C),
    ("received: complete late (the tick has not run)", R, COMPLETE, True, D(2026, 6, 2), C),
    ("pending: complete before receipt", P, COMPLETE, False, D(2026, 5, 20), "not_received"),
    ("received: receive twice", R, RECEIVE, True, D(2026, 5, 20), "already_received"),
    ("pending: overdue the day after the due day", P, MARK, False, D(2026, 5, 26), OV),
    ("received: overdue too when not compared", R, MARK, True, D(2026, 5, 26), OV),
    ("pending: not overdue on the due day", P, MARK, False, D(2026, 5, 25), "not_overdue"),
    ("overdue: not marked twice", OV, MARK, False, D(2026, 6, 1), "not_overdue"),
    ("overdue: a late receipt keeps it overdue", OV, RECEIVE, False, D(2026, 6, 1), OV),
    ("overdue: complete once received", OV, COMPLETE, True, D(2026, 6, 3), C),
    ("overdue: complete before receipt", OV, COMPLETE, False, D(2026, 6, 3), "not_received"),
    ("compared: final", C, RECEIVE, True, D(2026, 6, 3), "comparison_closed"),
    ("compared: never overdue", C, MARK, True, D(2026, 6, 3), "comparison_closed"),
]


@pytest.mark.parametrize(
    ("name", "state", "action", "received", "today", "expected"), STATES, ids=[r[0] for r in STATES]
)
def test_comparison_states(
    name: str,
    state: ComparisonState,
    action: ComparisonAction,
    received: bool,
    today: dt.date,
    expected: ComparisonState | str,
) -> None:
    if isinstance(expected, ComparisonState):
        assert next_state(state, action, received=received, today=today, due_on=DUE_ON) is expected
    else:
        with pytest.raises(ComparisonRefused) as refused:
            next_state(state, action, received=received, today=today, due_on=DUE_ON)
        assert refused.value.code == expected


def test_the_four_departments_of_003() -> None:
    assert [(d.code, d.name_zh, d.subject) for d in DEPARTMENTS] == [
        ("medical_insurance", "医保局", "serious_illness"),
        ("disabled_persons_federation", "残联", "severe_disability"),
        ("human_resources", "人社局", "unemployment"),
        ("rural_revitalisation", "乡村振兴局", "unstable_escaped"),
    ]


# assessed category, members, signal kinds → roster category, reasons
ROSTER = [
    ("dibao stays dibao", "dibao", [MemberFacts(disability_grade=2)], [], "dibao", ()),
    ("nothing low-income", None, [MemberFacts()], ["hospital_stay"], None, ()),
    (
        "registered unemployed (人社 signal)",
        None,
        [MemberFacts()],
        ["unemployment"],
        "other",
        ("registered_unemployed",),
    ),
    ("certified disabled, grade 4", None, [MemberFacts(disability_grade=4)], [], "other", ("certified_disabled",)),
    ("university student", None, [MemberFacts(schooling="university")], [], "other", ("university_student",)),
    ("senior high is not", None, [MemberFacts(schooling="senior_high")], [], None, ()),
    ("seriously ill", None, [MemberFacts(serious_illness=True)], [], "other", ("serious_illness",)),
    (
        "several reasons, in order",
        None,
        [MemberFacts(serious_illness=True), MemberFacts(disability_grade=1)],
        ["unemployment"],
        "other",
        ("registered_unemployed", "certified_disabled", "serious_illness"),
    ),
]


@pytest.mark.parametrize(
    ("name", "assessed", "members", "kinds", "category", "reasons"), ROSTER, ids=[r[0] for r in ROSTER]
)
def test_roster_category(
    name: str,
    assessed: str | None,
    members: list[MemberFacts],
    kinds: list[str],
    category: str | None,
    reasons: tuple[str, ...],
) -> None:
    facts = facts_of(members, kinds)
    assert roster_category(assessed, facts) == category
    if assessed is None:
        assert other_low_income_reasons(facts) == reasons


def test_no_facts_no_reasons() -> None:
    assert other_low_income_reasons(OtherFacts()) == ()
