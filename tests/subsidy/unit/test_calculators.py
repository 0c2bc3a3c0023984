"""Policy tables for the eleven kinds, with DOMAIN.md §6's figures and every boundary. Amounts
are exact Decimals in yuan; the table rows read as a policy officer would check them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.subsidy.domain import FundingSource, SubsidyInputError, SubsidyKind
from shared.policy import PolicyParameterMissing

from . import D2020, D2021, FUNAN, LINQUAN, hires, run

Row = tuple[str, dict[str, Any], str]


def _table(rows: list[Row]) -> Any:
    return pytest.mark.parametrize(("inputs", "expected"), [pytest.param(i, e, id=n) for n, i, e in rows])


# --- 1. enterprise employment reward (000 §三(一)) ---------------------------------------------

ENTERPRISE: list[Row] = [
    ("one poor hire, 12-month contract: 2,000", {"hires": hires(1)}, "2000.00"),
    ("one ordinary hire: 1,000", {"hires": hires(1, poor=False)}, "1000.00"),
    ("11-month contract is not counted", {"hires": hires(1, months=11)}, "0.00"),
    ("13-month contract counts", {"hires": hires(1, months=13)}, "2000.00"),
    (
        "2 poor + 3 ordinary + 1 short contract: 7,000",
        {"hires": hires(2) + hires(3, poor=False, prefix="o") + hires(1, months=6, prefix="s")},
        "7000.00",
    ),
    ("20 poor hires reach the cap exactly", {"hires": hires(20)}, "40000.00"),
    ("21 poor hires are capped at 40,000", {"hires": hires(21)}, "40000.00"),
    ("40 ordinary hires reach the cap exactly", {"hires": hires(40, poor=False)}, "40000.00"),
    ("41 ordinary hires are capped at 40,000", {"hires": hires(41, poor=False)}, "40000.00"),
    ("40 poor hires are capped at 40,000", {"hires": hires(40)}, "40000.00"),
    ("41 poor hires are capped at 40,000", {"hires": hires(41)}, "40000.00"),
    (
        "workshop: 5 stable persons × 3,000 on top of the cap",
        {"hires": hires(41), "workshop": True, "stable_6m_persons": 5},
        "55000.00",
    ),
    (
        "stable persons outside a workshop are not counted",
        {"hires": hires(1), "workshop": False, "stable_6m_persons": 5},
        "2000.00",
    ),
    (
        "stable persons given by id",
        {"hires": [], "workshop": True, "stable_6m_persons": ["a", "b"]},
        "6000.00",
    ),
    ("no hires", {"hires": []}, "0.00"),
]


@_table(ENTERPRISE)
def test_enterprise_employment_reward(inputs: dict[str, Any], expected: str) -> None:
    assert run("enterprise_employment_reward", inputs).amount == Decimal(expected)


def test_enterprise_reward_explains_the_cap_and_the_short_contract() -> None:
    result = run("enterprise_employment_reward", {"hires": hires(21) + hires(1, months=11, prefix="s")})
    text = " ".join(e.detail for e in result.explanations)
    assert "s0 was not counted: the labour contract runs 11 months and the reward needs at least 12" in text
    assert "42,000.00 yuan" in text
    assert "at most 40,000.00 yuan" in text
    assert result.policy == {
        "id": "linquan-employment-2020",
        "version": "2020.1",
        "clause": result.clause,
    }
    assert result.clause.startswith("000 就业扶贫 §三(一)")
    uncounted = [line for line in result.breakdown if not line.counted]
    assert [line.person_id for line in uncounted] == ["s0"]


# --- 2. transport allowance (000 §三(二)) -------------------------------------------------------


def _transport(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "work_location": "out_of_province",
        "contract_months": 6,
        "social_insurance": True,
        "epidemic_period": False,
        "stable_months": 0,
    }
    return base | kw


TRANSPORT: list[Row] = [
    ("out of province: 500", _transport(), "500.00"),
    ("out of city, in province: 300", _transport(work_location="out_of_city_in_province"), "300.00"),
    ("out of county, in city: 100", _transport(work_location="out_of_county_in_city"), "100.00"),
    ("in county: nothing", _transport(work_location="in_county"), "0.00"),
    ("5-month contract: nothing", _transport(contract_months=5), "0.00"),
    ("6-month contract: paid", _transport(contract_months=6), "500.00"),
    ("7-month contract: paid", _transport(contract_months=7), "500.00"),
    ("no social insurance: nothing", _transport(social_insurance=False), "0.00"),
    (
        "epidemic: contract and 3 stable months suffice",
        _transport(contract_months=1, social_insurance=False, epidemic_period=True, stable_months=3),
        "500.00",
    ),
    (
        "epidemic: 2 stable months are not enough",
        _transport(contract_months=1, social_insurance=False, epidemic_period=True, stable_months=2),
        "0.00",
    ),
    (
        "epidemic: still needs a contract",
        _transport(contract_months=0, social_insurance=False, epidemic_period=True, stable_months=4),
        "0.00",
    ),
]


@_table(TRANSPORT)
def test_transport_allowance(inputs: dict[str, Any], expected: str) -> None:
    assert run("transport_allowance", inputs).amount == Decimal(expected)


def test_transport_refusal_says_why() -> None:
    result = run("transport_allowance", _transport(contract_months=5, social_insurance=False))
    detail = next(e.detail for e in result.explanations if e.rule == "not_eligible")
    assert "the contract runs 5 months (at least 6 needed)" in detail
    assert "social insurance is not paid" in detail


# --- 3. entrepreneurship (000 §三(三)) ----------------------------------------------------------


def _business(**kw: Any) -> dict[str, Any]:
    return {"first_business": True, "months_operating": 6, "employees_1y_contract": 3} | kw


ENTREPRENEURSHIP: list[Row] = [
    ("first business, 6 months, 3 employees: 5,000", _business(), "5000.00"),
    ("not the first business", _business(first_business=False), "0.00"),
    ("5 months operating", _business(months_operating=5), "0.00"),
    ("7 months operating", _business(months_operating=7), "5000.00"),
    ("2 employees", _business(employees_1y_contract=2), "0.00"),
    ("10 employees", _business(employees_1y_contract=10), "5000.00"),
]


@_table(ENTREPRENEURSHIP)
def test_entrepreneurship_subsidy(inputs: dict[str, Any], expected: str) -> None:
    assert run("entrepreneurship_subsidy", inputs).amount == Decimal(expected)


def test_entrepreneurship_mentions_the_guaranteed_loan() -> None:
    result = run("entrepreneurship_subsidy", _business())
    assert any("200,000.00 yuan" in e.detail for e in result.explanations)


# --- 4. public-welfare post (000 §三(四)) -------------------------------------------------------

PUBLIC_WELFARE: list[Row] = [
    ("no wage", {"annual_wage": "0"}, "0.00"),
    ("3,599.99: below the floor", {"annual_wage": "3599.99"}, "0.00"),
    ("3,600: 50%", {"annual_wage": "3600"}, "1800.00"),
    ("4,000.01: 50% rounds half-up", {"annual_wage": "4000.01"}, "2000.01"),
    ("5,999.99: 50% = 2,999.995, half-up", {"annual_wage": "5999.99"}, "3000.00"),
    ("6,000: 60%", {"annual_wage": "6000"}, "3600.00"),
    ("9,999.99: 60%", {"annual_wage": "9999.99"}, "5999.99"),
    ("10,000: 60% meets the cap", {"annual_wage": "10000"}, "6000.00"),
    ("10,000.01: capped at 6,000", {"annual_wage": "10000.01"}, "6000.00"),
    ("20,000: capped at 6,000", {"annual_wage": 20000}, "6000.00"),
]


@_table(PUBLIC_WELFARE)
def test_public_welfare_post(inputs: dict[str, Any], expected: str) -> None:
    assert run("public_welfare_post", inputs).amount == Decimal(expected)


def test_public_welfare_rounds_once_at_the_end() -> None:
    result = run("public_welfare_post", {"annual_wage": "5999.99"})
    assert result.breakdown[0].amount == Decimal("2999.995")  # exact, not rounded per line
    assert any("2,999.995 yuan" in e.detail for e in result.explanations)


# --- 5. work-for-training (000 §三(五)) ---------------------------------------------------------


def _trainee(pid: str, months: int, claimed: bool = False) -> dict[str, Any]:
    return {"person_id": pid, "months": months, "pre_job_training_claimed": claimed}


WORK_FOR_TRAINING: list[Row] = [
    ("5 months: 1,000", {"trainees": [_trainee("a", 5)]}, "1000.00"),
    ("6 months: 1,200", {"trainees": [_trainee("a", 6)]}, "1200.00"),
    ("7 months: still 6 paid", {"trainees": [_trainee("a", 7)]}, "1200.00"),
    ("pre-job training claimed: nothing", {"trainees": [_trainee("a", 6, claimed=True)]}, "0.00"),
    (
        "3 + 8 months + a claimed one",
        {"trainees": [_trainee("a", 3), _trainee("b", 8), _trainee("c", 6, claimed=True)]},
        "1800.00",
    ),
    ("no trainees", {"trainees": []}, "0.00"),
]


@_table(WORK_FOR_TRAINING)
def test_work_for_training(inputs: dict[str, Any], expected: str) -> None:
    assert run("work_for_training", inputs).amount == Decimal(expected)


# --- 6. technical school (000 §三(六)) ----------------------------------------------------------

TECHNICAL_SCHOOL: list[Row] = [
    ("1 year: 3,000 + 2,000 + 3,000", {"years": 1, "yulu_plan": False}, "8000.00"),
    ("3 years", {"years": 3, "yulu_plan": False}, "24000.00"),
    ("3 years with 雨露计划: no living subsidy", {"years": 3, "yulu_plan": True}, "15000.00"),
    ("0 years", {"years": 0, "yulu_plan": False}, "0.00"),
]


@_table(TECHNICAL_SCHOOL)
def test_technical_school(inputs: dict[str, Any], expected: str) -> None:
    assert run("technical_school", inputs).amount == Decimal(expected)


# --- 7. tiered wage subsidy (000 §三(七)) -------------------------------------------------------

WAGES = "100000"
TIERED: list[Row] = [
    ("0 poor laborers", {"poor_laborers": 0, "total_wages": WAGES}, "0.00"),
    ("1: 30%", {"poor_laborers": 1, "total_wages": WAGES}, "30000.00"),
    ("5: 30%", {"poor_laborers": 5, "total_wages": WAGES}, "30000.00"),
    ("6: 33%", {"poor_laborers": 6, "total_wages": WAGES}, "33000.00"),
    ("10: 33%", {"poor_laborers": 10, "total_wages": WAGES}, "33000.00"),
    ("11: 36%", {"poor_laborers": 11, "total_wages": WAGES}, "36000.00"),
    ("15: 36%", {"poor_laborers": 15, "total_wages": WAGES}, "36000.00"),
    ("16: 39%", {"poor_laborers": 16, "total_wages": WAGES}, "39000.00"),
    ("20: 39%", {"poor_laborers": 20, "total_wages": WAGES}, "39000.00"),
    ("21: 40%", {"poor_laborers": 21, "total_wages": WAGES}, "40000.00"),
    ("300: 40%", {"poor_laborers": 300, "total_wages": WAGES}, "40000.00"),
    ("33% of 100.01 = 33.0033", {"poor_laborers": 6, "total_wages": "100.01"}, "33.00"),
    ("30% of 0.05 = 0.015, half-up", {"poor_laborers": 1, "total_wages": "0.05"}, "0.02"),
]


@_table(TIERED)
def test_tiered_wage_subsidy(inputs: dict[str, Any], expected: str) -> None:
    assert run("tiered_wage_subsidy", inputs).amount == Decimal(expected)


# --- 8. workshop award (002 篇一 §5; shipped for Linquan from 2021) ------------------------------


def _workshop(six: int, twelve: int = 0, wage: str = "1000") -> dict[str, Any]:
    return {"stable_6m_count": six, "stable_12m_count": twelve, "average_monthly_wage": wage}


WORKSHOP: list[Row] = [
    ("4 people: below the first tier", _workshop(4), "0.00"),
    ("5 people: 10,000", _workshop(5), "10000.00"),
    ("9 people: 10,000", _workshop(9), "10000.00"),
    ("10 people: 20,000", _workshop(10), "20000.00"),
    ("19 people: 20,000", _workshop(19), "20000.00"),
    ("20 people: 30,000", _workshop(20), "30000.00"),
    ("5 people, 3 of them 12 months: 13,000", _workshop(5, 3), "13000.00"),
    ("4 people, 2 of them 12 months: job-keeping only", _workshop(4, 2), "2000.00"),
    ("average wage 999.99: nothing", _workshop(20, 20, "999.99"), "0.00"),
]


@_table(WORKSHOP)
def test_workshop_award(inputs: dict[str, Any], expected: str) -> None:
    result = run("workshop_award", inputs, as_of=D2021)
    assert result.amount == Decimal(expected)
    assert result.policy_id == "workshop-awards-2021"
    if result.amount:
        assert result.funding_source is FundingSource.EMPLOYMENT_FUND


def test_workshop_award_is_not_in_force_in_2020() -> None:
    with pytest.raises(PolicyParameterMissing, match="workshop_award"):
        run("workshop_award", _workshop(5), as_of=D2020)


# --- 9. medical assistance (Funan, 002 篇十一 §(一)6(2)) -----------------------------------------


def _medical(oop: str, *, in_province: bool = True, referral: bool = True, paid: str = "0") -> dict[str, Any]:
    return {"compliant_oop": oop, "in_province": in_province, "tiered_referral": referral, "paid_this_year": paid}


MEDICAL: list[Row] = [
    ("in province: 50%", _medical("10000"), "5000.00"),
    ("outside the province: 40%", _medical("10000", in_province=False), "4000.00"),
    ("in province without referral: 40%", _medical("10000", referral=False), "4000.00"),
    ("outside without referral: 30%", _medical("10000", in_province=False, referral=False), "3000.00"),
    ("50% of 20,000 = 10,000: the cap exactly", _medical("20000"), "10000.00"),
    ("50% of 20,000.02 = 10,000.01: capped", _medical("20000.02"), "10000.00"),
    ("9,999.99 already paid: 0.01 left", _medical("20000", paid="9999.99"), "0.01"),
    ("10,000 already paid: nothing", _medical("20000", paid="10000"), "0.00"),
    ("more than the cap already paid: nothing", _medical("20000", paid="12000"), "0.00"),
    ("50% of 0.01 = 0.005, half-up", _medical("0.01"), "0.01"),
]


@_table(MEDICAL)
def test_medical_assistance(inputs: dict[str, Any], expected: str) -> None:
    result = run("medical_assistance", inputs, region=FUNAN)
    assert result.amount == Decimal(expected)


def test_medical_explains_the_referral_cut() -> None:
    result = run("medical_assistance", _medical("10000", referral=False), region=FUNAN)
    assert any("10 percentage points lower: 40%" in e.detail for e in result.explanations)
    assert result.funding_source is FundingSource.COUNTY_MEDICAL_ASSISTANCE_FUND


# --- 10. housing renovation (Funan, 002 篇十一 §(一)5) -------------------------------------------

HOUSING: list[Row] = [
    ("rebuild: 20,000", {"type": "rebuild"}, "20000.00"),
    ("repair and reinforce: 6,000", {"type": "repair"}, "6000.00"),
]


@_table(HOUSING)
def test_housing_renovation(inputs: dict[str, Any], expected: str) -> None:
    assert run("housing_renovation", inputs, region=FUNAN).amount == Decimal(expected)


# --- 11. dibao top-up (structure 002 篇五 §(三); Linquan placeholder figures) --------------------
# Placeholder figures: standard 4,800 a person a year (identification's Anhui rural standard), minimum
# top-up 600, add-ons 20% / 10% / 10%.

DIBAO: list[Row] = [
    ("gap 3,000 × 2 members", {"per_capita_income_annual": "1800", "members": 2}, "6000.00"),
    ("small gap raised to the minimum", {"per_capita_income_annual": "4600", "members": 3}, "1800.00"),
    ("gap of 0.01 raised to the minimum", {"per_capita_income_annual": "4799.99", "members": 1}, "600.00"),
    ("income at the standard: nothing", {"per_capita_income_annual": "4800", "members": 4}, "0.00"),
    (
        "add-ons: 1 severely disabled, 1 aged 70+, 2 minors",
        {
            "per_capita_income_annual": "2800",
            "members": 4,
            "severely_ill_or_disabled": 1,
            "aged_70_plus": 1,
            "minors": 2,
        },
        "10400.00",  # 2,000 × 4 + 960 + 480 + 960 (shares of the 4,800 standard)
    ),
]


@_table(DIBAO)
def test_dibao_topup(inputs: dict[str, Any], expected: str) -> None:
    assert run("dibao_topup", inputs).amount == Decimal(expected)


# --- funding source (000 §四(三)) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        pytest.param(16, FundingSource.EMPLOYMENT_FUND, id="16: employment fund"),
        pytest.param(59, FundingSource.EMPLOYMENT_FUND, id="59: employment fund"),
        pytest.param(60, FundingSource.COUNTY_FINANCE, id="60: county finance"),
        pytest.param(75, FundingSource.COUNTY_FINANCE, id="75: county finance"),
        pytest.param(None, None, id="age unknown: not stated"),
    ],
)
def test_funding_source_by_age(age: int | None, expected: FundingSource | None) -> None:
    result = run("transport_allowance", _transport(age=age))
    assert result.funding_source == expected
    assert result.breakdown[0].funding_source == expected


def test_funding_source_from_birth_date_on_the_policy_date() -> None:
    born_59 = dt.date(1960, 6, 2)  # 59 on 2020-06-01, 60 the next day
    assert run("transport_allowance", _transport(birth_date=born_59.isoformat())).funding_source is (
        FundingSource.EMPLOYMENT_FUND
    )
    born_60 = dt.date(1960, 6, 1)
    assert run("transport_allowance", _transport(birth_date=born_60.isoformat())).funding_source is (
        FundingSource.COUNTY_FINANCE
    )


def test_mixed_ages_give_a_mixed_funding_source() -> None:
    inputs = {"hires": [h | {"age": age} for h, age in zip(hires(2), (30, 61), strict=True)]}
    result = run("enterprise_employment_reward", inputs)
    assert result.funding_source is FundingSource.MIXED
    assert [line.funding_source for line in result.breakdown] == [
        FundingSource.EMPLOYMENT_FUND,
        FundingSource.COUNTY_FINANCE,
    ]


def test_a_laborer_under_16_is_refused() -> None:
    with pytest.raises(SubsidyInputError) as err:
        run("public_welfare_post", {"annual_wage": "4000", "age": 15})
    assert err.value.field_path == "inputs.age"


def test_a_zero_result_has_no_funding_source() -> None:
    assert run("public_welfare_post", {"annual_wage": "100", "age": 30}).funding_source is None


def test_every_kind_has_a_table() -> None:
    tested = {
        "enterprise_employment_reward",
        "transport_allowance",
        "entrepreneurship_subsidy",
        "public_welfare_post",
        "work_for_training",
        "technical_school",
        "tiered_wage_subsidy",
        "workshop_award",
        "medical_assistance",
        "housing_renovation",
        "dibao_topup",
        # tests/subsidy/unit/test_payment_kinds.py
        "dibao_monthly",
        "tekun_monthly",
        "temporary_relief",
    }
    assert tested == {k.value for k in SubsidyKind}


def test_as_dict_renders_the_contract_shape() -> None:
    body = run("public_welfare_post", {"annual_wage": "5999.99"}, region=LINQUAN).as_dict()
    assert body["amount"] == "3000.00"
    assert set(body["policy"]) == {"id", "version", "clause"}
    assert body["breakdown"][0]["amount"] == "2999.995"
    assert {"rule", "source", "detail"} <= set(body["explanations"][0])
