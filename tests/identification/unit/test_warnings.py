"""Three-colour early warning (DOMAIN.md §4, 002 篇十四 §(一))."""

from __future__ import annotations

import pytest

from services.identification.domain.assessment import assess
from services.identification.domain.model import DibaoStatus, Expenses, Income

from .test_factories import AS_OF, D, make_household, make_member, make_policy

POLICY = make_policy()  # line 5,000; dibao 4,000; edge line 6,000
ILL = (make_member(0, serious_illness=True),)

CASES = [
    (
        "red: ill, income collapsed, not dibao-qualified",
        {"members": ILL, "wage": "7000", "last_year_income": Income(wage=D(20000))},
        "red",
    ),
    (
        "red: expenditure-type hardship with a risk",
        {"members": ILL, "wage": "10000", "expenses": Expenses(other_rigid=D(5000))},
        "red",
    ),
    ("orange: exactly the dibao standard", {"wage": "4000"}, "orange"),
    ("orange: one fen below 1.5 ×", {"wage": "5999.99"}, "orange"),
    ("no colour: exactly 1.5 ×, no category", {"wage": "6000"}, None),
    (
        "no colour: ill, above line and edge line, income steady",
        {
            "members": ILL,
            "wage": "6000",
            "expenses": Expenses(other_rigid=D(0)),
            "last_year_income": Income(wage=D(6000)),
        },
        None,
    ),
    (
        "yellow: exited dibao, still low-income",
        {"wage": "6500", "dibao_status": DibaoStatus.EXITED, "expenses": Expenses(other_rigid=D(3000))},
        "yellow",
    ),
    ("no colour: already on dibao", {"wage": "3000", "dibao_status": DibaoStatus.DIBAO}, None),
    ("no colour: already tekun", {"wage": "3000", "dibao_status": DibaoStatus.TEKUN}, None),
    ("dibao-qualified but not in it: no colour, missed entitlement", {"wage": "3000"}, None),
]


@pytest.mark.parametrize(("kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_warning_colour(kwargs, expected):
    result = assess(make_household(**kwargs), POLICY, as_of=AS_OF)
    assert (result.warning and str(result.warning)) == expected


def test_yellow_for_a_return_category_above_the_edge_line():
    policy = make_policy(monitoring_line=D(7000))  # line above the edge line
    result = assess(make_household(members=ILL, wage="6500"), policy, as_of=AS_OF)
    assert str(result.category) == "marginal"
    assert str(result.warning) == "yellow"


def test_missed_entitlement_is_dispatched_to_the_township():
    result = assess(make_household(wage="3000"), POLICY, as_of=AS_OF)
    assert "suspected_missed_entitlement" in result.rules_fired()


def test_orange_explanation_names_both_lines():
    result = assess(make_household(wage="4000"), POLICY, as_of=AS_OF)
    (exp,) = [e for e in result.explanations if e.rule == "warning_orange"]
    assert "4,000" in exp.detail
    assert "6,000" in exp.detail
