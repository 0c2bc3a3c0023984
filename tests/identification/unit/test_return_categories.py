"""Return-to-poverty categories (DOMAIN.md §3): the line is strict, a risk is needed, sudden
hardship above the line; the negative list and its village-assembly override."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from services.identification.domain.assessment import assess
from services.identification.domain.model import (
    Assets,
    Expenses,
    Income,
    LaborCapacity,
    RiskType,
    Schooling,
    VillageOverride,
)
from services.identification.domain.negative_list import NEGATIVE_LIST

from .test_factories import AS_OF, D, make_household, make_member, make_policy

POLICY = make_policy()  # monitoring line 5,000 (Anhui 2020)
ILL = (make_member(0, serious_illness=True),)

CATEGORY_CASES = [
    # name, household kwargs, expected category
    (
        "escaped, one fen below the line, ill → unstable_escaped",
        {"members": ILL, "wage": "4999.99", "escaped_poverty": True},
        "unstable_escaped",
    ),
    ("ordinary, one fen below the line, ill → marginal", {"members": ILL, "wage": "4999.99"}, "marginal"),
    ("exactly at the line is not below it", {"members": ILL, "wage": "5000", "escaped_poverty": True}, None),
    ("below the line without any risk → none", {"wage": "3000"}, None),
    (
        "below the line, declared disaster → marginal",
        {"wage": "3000", "declared_risks": frozenset({RiskType.DISASTER})},
        "marginal",
    ),
    (
        "below the line, no able labour → marginal",
        {"members": (make_member(0, labor_capacity=LaborCapacity.WEAK),), "wage": "3000"},
        "marginal",
    ),
    (
        "above the line, medical costs exceed last year's income → sudden_hardship",
        {
            "members": ILL,
            "wage": "20000",
            "expenses": Expenses(other_rigid=D(12000)),
            "last_year_income": Income(wage=D(10000)),
        },
        "sudden_hardship",
    ),
    (
        "above the line, rigid spending equal to last year's income is not 'exceeds'",
        {
            "members": ILL,
            "wage": "20000",
            "expenses": Expenses(other_rigid=D(10000)),
            "last_year_income": Income(wage=D(10000)),
        },
        None,
    ),
    (
        "above the line, income halved against last year → sudden_hardship",
        {"wage": "6000", "last_year_income": Income(wage=D(12000))},
        "sudden_hardship",
    ),
    (
        "above the line, income fell by less than half → none",
        {"wage": "6001", "last_year_income": Income(wage=D(12000))},
        None,
    ),
    (
        "above the line, no last-year income → cannot test sudden hardship",
        {"members": ILL, "wage": "20000", "expenses": Expenses(other_rigid=D(50000))},
        None,
    ),
]


@pytest.mark.parametrize(("kwargs", "expected"), [c[1:] for c in CATEGORY_CASES], ids=[c[0] for c in CATEGORY_CASES])
def test_return_category(kwargs, expected):
    result = assess(make_household(**kwargs), POLICY, as_of=AS_OF)
    assert (result.category and str(result.category)) == expected
    assert result.eligible is (expected is not None)


def test_below_line_explanation_carries_the_numbers():
    result = assess(make_household(members=ILL, wage="4999.99"), POLICY, as_of=AS_OF)
    (exp,) = [e for e in result.explanations if e.rule == "marginal"]
    assert "per-capita income 4,999.99 < monitoring line 5,000" in exp.detail
    assert exp.inputs["monitoring_line"] == D(5000)
    assert "002 篇八" in exp.source
    assert "test monitoring_line" in exp.source


RISK_CASES = [
    ("serious illness", {"members": ILL}, [RiskType.ILLNESS]),
    ("grade 2 disability", {"members": (make_member(0, disability_grade=2),)}, [RiskType.DISABILITY]),
    ("one grade 4 physical disability is not a risk", {"members": (make_member(0, disability_grade=4),)}, []),
    (
        "two certified disabled members",
        {"members": (make_member(0, disability_grade=4), make_member(1, disability_grade=4))},
        [RiskType.DISABILITY],
    ),
    (
        "child at university",
        {"members": (make_member(0), make_member(1, schooling=Schooling.UNIVERSITY))},
        [RiskType.SCHOOLING],
    ),
    (
        "compulsory schooling is not a risk",
        {"members": (make_member(0), make_member(1, schooling=Schooling.COMPULSORY))},
        [],
    ),
    ("only half labour", {"members": (make_member(0, labor_capacity=LaborCapacity.HALF),)}, [RiskType.LACK_OF_LABOR]),
    (
        "wage and business fell",
        {"income": Income(wage=D(1), business=D(1)), "last_year_income": Income(wage=D(2), business=D(2))},
        [RiskType.INDUSTRY_FAILURE, RiskType.UNSTABLE_EMPLOYMENT],
    ),
    (
        "declared housing and water",
        {"declared_risks": frozenset({RiskType.HOUSING, RiskType.DRINKING_WATER})},
        [RiskType.HOUSING, RiskType.DRINKING_WATER],
    ),
]


@pytest.mark.parametrize(("kwargs", "expected"), [c[1:] for c in RISK_CASES], ids=[c[0] for c in RISK_CASES])
def test_risk_types(kwargs, expected):
    assert list(assess(make_household(**kwargs), POLICY, as_of=AS_OF).risk_types) == expected


# --- negative list ----------------------------------------------------------------------------

MARGINAL = {"members": ILL, "wage": "3000"}


@pytest.mark.parametrize("flag", list(NEGATIVE_LIST), ids=list(NEGATIVE_LIST))
def test_each_negative_list_flag_excludes(flag):
    hh = make_household(assets=Assets(**{flag: True}), **MARGINAL)
    result = assess(hh, POLICY, as_of=AS_OF)
    assert [e.code for e in result.exclusions] == [flag]
    assert result.category is not None  # still in the category, on record
    assert result.eligible is False
    assert "negative_list_blocks" in result.rules_fired()
    (exp,) = [e for e in result.explanations if e.rule == "negative_list"]
    assert "002 篇" in exp.source


@pytest.mark.parametrize("flag", list(NEGATIVE_LIST), ids=list(NEGATIVE_LIST))
def test_recorded_village_decision_overrides_each_flag(flag):
    hh = make_household(assets=Assets(**{flag: True}), **MARGINAL)
    override = VillageOverride("村民代表会议纪要 2021-07", dt.date(2021, 6, 1))
    result = assess(hh, POLICY, as_of=AS_OF, village_override=override)
    assert result.eligible is True
    assert [e.code for e in result.exclusions] == [flag]  # still recorded
    (exp,) = [e for e in result.explanations if e.rule == "negative_list_override"]
    assert "村民代表会议纪要 2021-07" in exp.detail
    assert flag in exp.detail


def test_override_without_a_recorded_decision_is_refused():
    with pytest.raises(ValueError, match="recorded decision"):
        VillageOverride("  ", dt.date(2021, 6, 1))


def test_several_flags_all_recorded_in_list_order():
    hh = make_household(assets=Assets(car=True, public_employee=True), **MARGINAL)
    codes = [e.code for e in assess(hh, POLICY, as_of=AS_OF).exclusions]
    assert codes == ["public_employee", "car"]


def test_override_does_not_make_a_household_without_category_eligible():
    hh = make_household(wage="9000", assets=Assets(car=True))
    override = VillageOverride("纪要1", dt.date(2021, 6, 1))
    assert assess(hh, POLICY, as_of=AS_OF, village_override=override).eligible is False


def test_assets_flags_and_negative_list_stay_in_step():
    assert {f.name for f in dataclasses.fields(Assets)} == set(NEGATIVE_LIST)
