"""Issue #20: absurd magnitudes, non-finite numbers and unbounded counts are refused with the
field path before any arithmetic (they used to raise decimal.InvalidOperation: a 500)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.subsidy.domain import KINDS, SubsidyInputError, calculate, parse_money
from services.subsidy.domain.parsing import MAX_COUNT, MAX_MONTHS, MONEY_MAX
from shared.policy import PolicyParameterMissing

from . import D2021, FUNAN, policy

WAGE = "inputs.annual_wage"


@pytest.mark.parametrize(
    ("name", "kind", "inputs", "path", "message"),
    [
        ("1e400 as a decoded number", "public_welfare_post", {"annual_wage": Decimal("1e400")}, WAGE, "at most"),
        ("1e400 as a string", "public_welfare_post", {"annual_wage": "1e400"}, WAGE, "at most"),
        ("NaN", "public_welfare_post", {"annual_wage": "NaN"}, WAGE, "finite"),
        ("Infinity", "public_welfare_post", {"annual_wage": "Infinity"}, WAGE, "finite"),
        ("NaN decoded by json", "public_welfare_post", {"annual_wage": float("nan")}, WAGE, "decimal string"),
        ("5,000 digits as a string", "public_welfare_post", {"annual_wage": "9" * 5000}, WAGE, "longer than"),
        ("10**30 as an integer", "public_welfare_post", {"annual_wage": 10**30}, WAGE, "at most"),
        (
            "13 digits",
            "medical_assistance",
            {"compliant_oop": "1" + "0" * 12, "in_province": True, "tiered_referral": True},
            "inputs.compliant_oop",
            "at most",
        ),
        ("1e-400", "public_welfare_post", {"annual_wage": "1e-400"}, WAGE, "two decimal places"),
        (
            "contract_months 10**30",
            "transport_allowance",
            {"work_location": "in_county", "contract_months": 10**30},
            "inputs.contract_months",
            "at most 1200",
        ),
        (
            "a hire's months 10**30",
            "enterprise_employment_reward",
            {"hires": [{"person_id": "p", "contract_months": 10**30, "poor_laborer": True}]},
            "inputs.hires[0].contract_months",
            "at most 1200",
        ),
        ("years 10**30", "technical_school", {"years": 10**30, "yulu_plan": True}, "inputs.years", "at most 100"),
        (
            "laborers 10**30",
            "tiered_wage_subsidy",
            {"poor_laborers": 10**30, "total_wages": "1"},
            "inputs.poor_laborers",
            f"at most {MAX_COUNT}",
        ),
        (
            "members 10**30",
            "dibao_topup",
            {"members": 10**30, "per_capita_income_annual": "1"},
            "inputs.members",
            f"at most {MAX_COUNT}",
        ),
        ("age 10**30", "public_welfare_post", {"annual_wage": "1", "age": 10**30}, "inputs.age", "at most 150"),
    ],
)
def test_hostile_values_name_the_field(name: str, kind: str, inputs: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(SubsidyInputError) as err:
        calculate(kind, inputs, policy(as_of=D2021))
    assert err.value.field_path == path, name
    assert message in err.value.message, name


def test_the_largest_amount_and_counts_still_calculate() -> None:
    assert parse_money(str(MONEY_MAX), "x") == Decimal("999999999999.99")
    r = calculate(
        "medical_assistance",
        {"compliant_oop": str(MONEY_MAX), "in_province": True, "tiered_referral": True},
        policy(FUNAN, D2021),
    )
    assert r.amount >= 0
    r = calculate(
        "transport_allowance",
        {"work_location": "in_county", "contract_months": MAX_MONTHS, "social_insurance": True},
        policy(as_of=D2021),
    )
    assert r.amount >= 0


_numbers = st.one_of(
    st.integers(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(),
    st.text(max_size=60),
    st.sampled_from(["1e400", "-1e400", "NaN", "sNaN", "-Infinity", "9" * 5000, "0." + "0" * 50 + "1"]),
)
_value = st.one_of(_numbers, st.booleans(), st.none(), st.lists(_numbers, max_size=2))
_field_names = st.sampled_from(
    [
        "annual_wage",
        "contract_months",
        "months_operating",
        "employees_1y_contract",
        "years",
        "poor_laborers",
        "total_wages",
        "stable_6m_count",
        "stable_12m_count",
        "average_monthly_wage",
        "compliant_oop",
        "paid_this_year",
        "members",
        "per_capita_income_annual",
        "minors",
        "aged_70_plus",
        "stable_months",
        "work_location",
        "social_insurance",
        "first_business",
        "yulu_plan",
        "in_province",
        "tiered_referral",
        "age",
        "type",
        "hires",
        "trainees",
        "stable_6m_persons",
        "workshop",
    ]
)


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from([k.value for k in KINDS]), inputs=st.dictionaries(_field_names, _value, max_size=6))
def test_any_inputs_give_a_result_or_a_field_error(kind: str, inputs: dict[str, Any]) -> None:
    region = FUNAN if kind == "medical_assistance" else "341221001001"
    try:
        result = calculate(kind, inputs, policy(region, D2021))
    except SubsidyInputError as exc:
        path = exc.field_path
    except PolicyParameterMissing:
        return  # a kind this region's policy does not pay: a 422 `policy_parameter_missing`
    else:
        assert result.amount >= 0
        return
    assert path.startswith("inputs")
