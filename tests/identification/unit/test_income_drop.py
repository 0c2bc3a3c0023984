"""Income-drop screening against last year (DOMAIN.md §2, 002 篇一)."""

from __future__ import annotations

import pytest

from services.identification.domain.income_drop import income_drop
from services.identification.domain.model import DibaoStatus, Income, IncomeDropCause, RiskType

from .test_factories import D, make_household, make_policy

POLICY = make_policy()

CASES = [
    (
        "wage fell → lost wage work",
        Income(wage=D(8000)),
        Income(wage=D(10000)),
        {},
        "wage",
        IncomeDropCause.WAGE_WORK_LOST,
    ),
    (
        "business fell → farming reduced",
        Income(business=D(1)),
        Income(business=D(2)),
        {},
        "business",
        IncomeDropCause.FARMING_REDUCED,
    ),
    (
        "business fell after a declared disaster → natural disaster",
        Income(business=D(1)),
        Income(business=D(2)),
        {"declared_risks": frozenset({RiskType.DISASTER})},
        "business",
        IncomeDropCause.NATURAL_DISASTER,
    ),
    (
        "property fell → industry dividends cut",
        Income(property=D(1)),
        Income(property=D(2)),
        {},
        "property",
        IncomeDropCause.INDUSTRY_DIVIDEND_CUT,
    ),
    (
        "transfer fell after leaving dibao → dibao cancelled",
        Income(transfer=D(1)),
        Income(transfer=D(2)),
        {"dibao_status": DibaoStatus.EXITED},
        "transfer",
        IncomeDropCause.DIBAO_CANCELLED,
    ),
    (
        "transfer fell otherwise → subsidy cut",
        Income(transfer=D(1)),
        Income(transfer=D(2)),
        {},
        "transfer",
        IncomeDropCause.SUBSIDY_CUT,
    ),
]


@pytest.mark.parametrize(("now", "last", "kw", "kind", "cause"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_drop_and_cause(now, last, kw, kind, cause):
    result, expl = income_drop(make_household(income=now, last_year_income=last, **kw), POLICY)
    assert result is not None
    (dropped,) = [k for k in result.kinds if k.dropped]
    assert (dropped.kind, dropped.cause) == (kind, cause)
    assert dropped.change == now.by_kind()[kind] - last.by_kind()[kind]
    assert expl[0].rule == "income_drop"


@pytest.mark.parametrize(
    ("now", "last", "ratio", "meets"),
    [
        ("11000", "10000", "0.1000", True),
        ("10999.99", "10000", "0.1000", False),  # shown rounded to 10.00 %, but one fen short
        ("10990", "10000", "0.0990", False),
        ("10000", "10000", "0.0000", False),
    ],
    ids=["exactly-10%", "one-fen-short-of-10%", "9.9%", "flat"],
)
def test_growth_target(now, last, ratio, meets):
    hh = make_household(income=Income(wage=D(now)), last_year_income=Income(wage=D(last)))
    result, _ = income_drop(hh, POLICY)
    assert result is not None
    assert result.growth_ratio == D(ratio)
    assert result.meets_growth_target is meets


def test_no_last_year_income_no_screening():
    assert income_drop(make_household(), POLICY) == (None, [])


def test_no_drop_when_equal():
    hh = make_household(income=Income(wage=D(5)), last_year_income=Income(wage=D(5)))
    result, _ = income_drop(hh, POLICY)
    assert result is not None
    assert not result.any_drop
    assert result.causes == ()
