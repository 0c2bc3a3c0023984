"""Per-capita income (DOMAIN.md §2): counted kinds, exemptions, deductions, rounding."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.identification.domain.income import accounting_year, compute_income
from services.identification.domain.model import DibaoStatus, Expenses, Income

from .test_factories import D, make_household, make_policy

POLICY = make_policy()

CASES = [
    # name, members, income, expenses, dibao_status, expected per-capita
    ("wage only", 1, Income(wage=D(5000)), Expenses(), DibaoStatus.NONE, "5000.00"),
    (
        "four kinds plus insurance claims",
        4,
        Income(wage=D(8000), business=D(6000), property=D(1000), transfer=D(2000), insurance_claims=D(3000)),
        Expenses(),
        DibaoStatus.NONE,
        "5000.00",
    ),
    (
        "Liaoning formula: (net + claims - compliant oop) / size",
        3,
        Income(wage=D(20000), insurance_claims=D(1780)),
        Expenses(compliant_oop_medical=D(3000)),
        DibaoStatus.NONE,
        "6260.00",
    ),
    ("exempt income is not counted", 2, Income(wage=D(9000), exempt=D(3600)), Expenses(), DibaoStatus.NONE, "4500.00"),
    (
        "employment costs deducted",
        2,
        Income(wage=D(10000)),
        Expenses(employment_costs=D(1000)),
        DibaoStatus.NONE,
        "4500.00",
    ),
    (
        "education and other rigid spending not deducted",
        1,
        Income(wage=D(5000)),
        Expenses(education=D(2000), other_rigid=D(1000)),
        DibaoStatus.NONE,
        "5000.00",
    ),
    (
        "dibao: unverifiable earner counted at minimum wage 1,500 × 12",
        2,
        Income(wage=D(0), unverified_earners=1),
        Expenses(),
        DibaoStatus.DIBAO,
        "9000.00",
    ),
    (
        "minimum wage imputation only for dibao families",
        2,
        Income(wage=D(0), unverified_earners=1),
        Expenses(),
        DibaoStatus.NONE,
        "0.00",
    ),
    ("rounded half-up once: 10000/3", 3, Income(wage=D(10000)), Expenses(), DibaoStatus.NONE, "3333.33"),
    (
        "rounded half-up once: 0.05/3 rounds .016.. to .02",
        3,
        Income(wage=D("0.05")),
        Expenses(),
        DibaoStatus.NONE,
        "0.02",
    ),
    (
        "medical costs may push income negative",
        1,
        Income(wage=D(1000)),
        Expenses(compliant_oop_medical=D(3000)),
        DibaoStatus.NONE,
        "-2000.00",
    ),
]


@pytest.mark.parametrize(
    ("members", "income", "expenses", "status", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_per_capita_income(members, income, expenses, status, expected):
    hh = make_household(size=members, income=income, expenses=expenses, dibao_status=status)
    result = compute_income(hh, POLICY)
    assert result.per_capita == D(expected)
    assert str(result.per_capita) == expected  # two places, always


@pytest.mark.parametrize(
    ("income", "expenses", "status", "rule"),
    [
        (Income(exempt=D(100)), Expenses(), DibaoStatus.NONE, "income_exemption"),
        (Income(), Expenses(employment_costs=D(1)), DibaoStatus.NONE, "employment_cost_deduction"),
        (Income(unverified_earners=1), Expenses(), DibaoStatus.DIBAO, "minimum_wage_imputation"),
    ],
    ids=["exemption", "employment-costs", "minimum-wage"],
)
def test_each_adjustment_is_explained(income, expenses, status, rule):
    hh = make_household(income=income, expenses=expenses, dibao_status=status)
    rules = [e.rule for e in compute_income(hh, POLICY).explanations]
    assert rule in rules
    assert rules[-1] == "per_capita_income"


@pytest.mark.parametrize(
    ("as_of", "start", "expected"),
    [
        (dt.date(2021, 6, 30), "05-01", (dt.date(2021, 5, 1), dt.date(2022, 4, 30))),
        (dt.date(2021, 4, 30), "05-01", (dt.date(2020, 5, 1), dt.date(2021, 4, 30))),
        (dt.date(2021, 9, 30), "10-01", (dt.date(2020, 10, 1), dt.date(2021, 9, 30))),
        (dt.date(2021, 10, 1), "10-01", (dt.date(2021, 10, 1), dt.date(2022, 9, 30))),
        (dt.date(2021, 1, 1), "01-01", (dt.date(2021, 1, 1), dt.date(2021, 12, 31))),
    ],
    ids=["liaoning-mid", "liaoning-last-day", "anhui-30-sep", "anhui-1-oct", "calendar"],
)
def test_accounting_year(as_of, start, expected):
    assert accounting_year(as_of, start) == expected


def test_accounting_year_rejects_bad_format():
    with pytest.raises(ValueError, match="MM-DD"):
        accounting_year(dt.date(2021, 1, 1), "May 1")


def test_float_money_is_refused():
    with pytest.raises(TypeError):
        Income(wage=5000.0)  # type: ignore[arg-type]


_money = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)


@given(wage=_money, extra=_money, size=st.integers(1, 8), medical=_money)
def test_per_capita_is_monotone_in_wage(wage, extra, size, medical):
    def pc(w):
        hh = make_household(size=size, income=Income(wage=w), expenses=Expenses(compliant_oop_medical=medical))
        return compute_income(hh, POLICY).per_capita

    assert pc(wage) <= pc(wage + extra)


@given(exempt=_money, wage=_money)
def test_exempt_income_never_changes_per_capita(exempt, wage):
    a = compute_income(make_household(income=Income(wage=wage)), POLICY).per_capita
    b = compute_income(make_household(income=Income(wage=wage, exempt=exempt)), POLICY).per_capita
    assert a == b
