"""Policy tables for the three kinds civil affairs orders (`social_assistance.payment_ordered`):
dibao for a benefit month (the `dibao_topup` calculation ÷ 12), 特困 support for a month, and
temporary relief within the township limit. Exact Decimals, rounded once to the fen."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from services.subsidy.domain import FundingSource, SubsidyInputError, calculate
from services.subsidy.domain.parameters import check_value

from . import policy, run

#: Shaanxi's rural dibao standard of the year (DOMAIN.md §4: 7,245 yuan a year).
SHAANXI_STANDARD = {"dibao_standard_annual": Decimal(7245)}


def _monthly(inputs: dict[str, Any], overrides: dict[str, Any] | None = None) -> Decimal:
    p = policy().with_overrides(overrides or {})
    result = calculate("dibao_monthly", inputs, p)
    assert result.amount == result.amount.quantize(Decimal("0.01"))
    return result.amount


DIBAO_MONTHLY = [
    # name, inputs, overrides, expected
    (
        "7,245 standard, income 5,000, 3 members: 2,245 × 3 ÷ 12",
        {"per_capita_income_annual": "5000", "members": 3},
        SHAANXI_STANDARD,
        "561.25",
    ),
    (
        "the same for 2 months",
        {"per_capita_income_annual": "5000", "members": 3, "months": 2},
        SHAANXI_STANDARD,
        "1122.50",
    ),
    (
        "one member excluded after 3 refusals: 561.25 − 187.083… rounded once",
        {"per_capita_income_annual": "5000", "members": 3, "excluded_members": 1},
        SHAANXI_STANDARD,
        "374.17",
    ),
    (
        "one aged 70+: + 10% × 7,245 ÷ 12 = 60.375, rounded once",
        {"per_capita_income_annual": "5000", "members": 3, "aged_70_plus": 1},
        SHAANXI_STANDARD,
        "621.63",
    ),
    (
        "small gap raised to the 600 minimum: 600 ÷ 12",
        {"per_capita_income_annual": "7000", "members": 1},
        SHAANXI_STANDARD,
        "50.00",
    ),
    ("income at the standard: nothing", {"per_capita_income_annual": "7245", "members": 2}, SHAANXI_STANDARD, "0.00"),
    (
        "shipped Linquan placeholder 4,800: gap 3,000 × 2 ÷ 12",
        {"per_capita_income_annual": "1800", "members": 2},
        None,
        "500.00",
    ),
    (
        "gradual exit: paid on the income civil affairs sends",
        {"per_capita_income_annual": "1800", "members": 2, "phase": "gradual_exit"},
        None,
        "500.00",
    ),
]


@pytest.mark.parametrize(
    ("inputs", "overrides", "expected"), [pytest.param(i, o, e, id=n) for n, i, o, e in DIBAO_MONTHLY]
)
def test_dibao_monthly(inputs: dict[str, Any], overrides: dict[str, Any] | None, expected: str) -> None:
    assert _monthly(inputs, overrides) == Decimal(expected)


def test_dibao_monthly_is_the_topup_divided_by_twelve() -> None:
    """The same lines as `dibao_topup` (reused, not duplicated), scaled to the month."""
    inputs = {"per_capita_income_annual": "2800", "members": 4, "severely_ill_or_disabled": 1, "minors": 2}
    annual = run("dibao_topup", inputs).amount
    monthly = run("dibao_monthly", {**inputs, "months": 12})
    assert monthly.amount == annual == Decimal("9920.00")  # 2,000 × 4 + 960 + 2 × 480
    assert monthly.funding_source is FundingSource.DIBAO_FUND
    rules = [e.rule for e in monthly.explanations]
    assert {"gap", "members", "addon", "benefit_months", "funding_source", "total"} <= set(rules)


def test_excluded_members_explain_the_three_refusals() -> None:
    r = calculate(
        "dibao_monthly",
        {"per_capita_income_annual": "5000", "members": 3, "excluded_members": 1},
        policy().with_overrides(SHAANXI_STANDARD),
    )
    line = next(x for x in r.breakdown if x.component == "excluded_members")
    assert line.rate == Decimal(2245)
    expl = next(e for e in r.explanations if e.rule == "excluded_members")
    assert "000 safety-net §三(二)1" in expl.source


@pytest.mark.parametrize(
    ("inputs", "path"),
    [
        ({"per_capita_income_annual": "5000", "members": 3, "excluded_members": 4}, "inputs.excluded_members"),
        ({"per_capita_income_annual": "5000", "members": 3, "months": 0}, "inputs.months"),
        ({"per_capita_income_annual": "5000", "members": 3, "phase": "forever"}, "inputs.phase"),
        ({"per_capita_income_annual": "5000", "members": 3, "colour": "red"}, "inputs.colour"),
    ],
)
def test_dibao_monthly_bad_inputs(inputs: dict[str, Any], path: str) -> None:
    with pytest.raises(SubsidyInputError) as err:
        run("dibao_monthly", inputs)
    assert err.value.field_path == path


TEKUN = [
    # 1.3 × 4,800 ÷ 12 = 520 basic; care 100 / 300 / 600 (Linquan placeholders)
    ("1 person able to look after themselves: 520 + 100", {"persons": 1, "care_level": "self_care"}, None, "620.00"),
    (
        "2 persons fully dependent, 3 months: (520 + 600) × 2 × 3",
        {"persons": 2, "care_level": "full", "months": 3},
        None,
        "6720.00",
    ),
    (
        "a county basic standard overrides the multiple: 1,000 + 300",
        {"persons": 1, "care_level": "partial"},
        {"tekun_basic_standard_monthly": Decimal(1000)},
        "1300.00",
    ),
    (
        "1.3 × 7,245 ÷ 12 = 784.875, + 100, rounded once",
        {"persons": 1, "care_level": "self_care"},
        SHAANXI_STANDARD,
        "884.88",
    ),
]


@pytest.mark.parametrize(("inputs", "overrides", "expected"), [pytest.param(i, o, e, id=n) for n, i, o, e in TEKUN])
def test_tekun_monthly(inputs: dict[str, Any], overrides: dict[str, Any] | None, expected: str) -> None:
    r = calculate("tekun_monthly", inputs, policy().with_overrides(overrides or {}))
    assert r.amount == Decimal(expected)
    assert r.funding_source is FundingSource.TEKUN_FUND


#: township limits 2 × and 6 × an urban dibao standard of 640 a month (civil affairs works them out)
RELIEF = [
    ("township at its 6 × limit", {"amount": "3840.00", "approved_level": "township", "limit": "3840.00"}, "3840.00"),
    ("township at its 2 × limit", {"amount": "1280.00", "approved_level": "township", "limit": "1280.00"}, "1280.00"),
    ("county above the limit", {"amount": "5000.00", "approved_level": "county", "limit": "3840.00"}, "5000.00"),
    ("exact to the fen", {"amount": "1234.56", "approved_level": "township", "limit": "3840.00"}, "1234.56"),
]


@pytest.mark.parametrize(("inputs", "expected"), [pytest.param(i, e, id=n) for n, i, e in RELIEF])
def test_temporary_relief(inputs: dict[str, Any], expected: str) -> None:
    r = run("temporary_relief", {"reason": "illness", **inputs})
    assert r.amount == Decimal(expected)
    assert r.funding_source is FundingSource.TEMPORARY_RELIEF_FUND
    assert "000 safety-net §三(二)3" in r.clause


@pytest.mark.parametrize(("amount", "limit"), [("3840.01", "3840.00"), ("1280.01", "1280.00")])
def test_a_township_relief_above_its_limit_is_refused(amount: str, limit: str) -> None:
    with pytest.raises(SubsidyInputError) as err:
        run("temporary_relief", {"amount": amount, "reason": "accident", "approved_level": "township", "limit": limit})
    assert err.value.field_path == "inputs.amount"
    assert "county approval" in err.value.message


def test_new_parameters_are_in_the_catalogue() -> None:
    assert check_value("tekun_basic_multiple_of_dibao", Decimal("1.3")) is None
    assert check_value("tekun_basic_multiple_of_dibao", Decimal(0)) is not None
    assert check_value("temporary_relief_funding", "temporary_relief_fund") is None
    assert check_value("dibao_funding", "nowhere") is not None
