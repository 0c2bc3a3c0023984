"""Input invariants: every refusal names the field path the API reports with its 422."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.subsidy.domain import SubsidyInputError, calculate, parse_inputs, parse_money

from . import policy

AS_OF = dt.date(2020, 6, 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("3600", Decimal("3600"), id="decimal string"),
        pytest.param(" 3600.50 ", Decimal("3600.50"), id="string with spaces"),
        pytest.param(3600, Decimal("3600"), id="integer"),
        pytest.param(Decimal("3600.5"), Decimal("3600.5"), id="Decimal"),
        pytest.param("1.230", Decimal("1.23"), id="trailing zero beyond fen"),
    ],
)
def test_money_accepted(value: Any, expected: Decimal) -> None:
    assert parse_money(value, "annual_wage") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(float("3600.5"), "decimal string or an integer", id="binary float refused"),
        pytest.param(True, "decimal string or an integer", id="boolean"),
        pytest.param("abc", "not a decimal amount", id="not a number"),
        pytest.param("NaN", "finite", id="NaN"),
        pytest.param("Infinity", "finite", id="infinity"),
        pytest.param("-1", "negative", id="negative"),
        pytest.param("1.234", "two decimal places", id="three decimals"),
        pytest.param(None, "decimal string or an integer", id="null"),
    ],
)
def test_money_refused(value: Any, message: str) -> None:
    with pytest.raises(SubsidyInputError, match=message) as err:
        parse_money(value, "annual_wage")
    assert err.value.field_path == "annual_wage"


@pytest.mark.parametrize(
    ("kind", "inputs", "path"),
    [
        pytest.param("public_welfare_post", {}, "inputs.annual_wage", id="missing field"),
        pytest.param("public_welfare_post", {"annual_wage": 1, "wage": 2}, "inputs.wage", id="unknown field"),
        pytest.param(
            "enterprise_employment_reward",
            {"hires": [{"person_id": "a", "contract_months": 12, "poor_laborer": True}, {"person_id": "b"}]},
            "inputs.hires[1].contract_months",
            id="nested path",
        ),
        pytest.param(
            "enterprise_employment_reward",
            {"hires": [{"person_id": "a", "contract_months": -1, "poor_laborer": True}]},
            "inputs.hires[0].contract_months",
            id="negative months",
        ),
        pytest.param(
            "enterprise_employment_reward",
            {"hires": [{"person_id": "a", "contract_months": 12, "poor_laborer": "yes"}]},
            "inputs.hires[0].poor_laborer",
            id="boolean as string",
        ),
        pytest.param(
            "enterprise_employment_reward",
            {"hires": [{"person_id": "a", "contract_months": 12, "poor_laborer": True}] * 2},
            "inputs.hires[1].person_id",
            id="person twice",
        ),
        pytest.param("enterprise_employment_reward", {"hires": {}}, "inputs.hires", id="hires not a list"),
        pytest.param(
            "transport_allowance",
            {"work_location": "abroad", "contract_months": 6, "social_insurance": True},
            "inputs.work_location",
            id="unknown work location",
        ),
        pytest.param("housing_renovation", {"type": "paint"}, "inputs.type", id="unknown housing type"),
        pytest.param("technical_school", {"years": 1.5, "yulu_plan": False}, "inputs.years", id="fractional years"),
        pytest.param(
            "dibao_topup",
            {"per_capita_income_annual": "1", "members": 2, "minors": 3},
            "inputs.minors",
            id="more minors than members",
        ),
        pytest.param("dibao_topup", {"per_capita_income_annual": "1", "members": 0}, "inputs.members", id="no members"),
        pytest.param(
            "transport_allowance",
            {
                "work_location": "in_county",
                "contract_months": 6,
                "social_insurance": True,
                "age": 30,
                "birth_date": "1990-01-01",
            },
            "inputs.birth_date",
            id="age and birth date",
        ),
        pytest.param(
            "transport_allowance",
            {"work_location": "in_county", "contract_months": 6, "social_insurance": True, "birth_date": "2030-01-01"},
            "inputs.birth_date",
            id="birth date in the future",
        ),
        pytest.param("medical_assistance", [], "inputs", id="inputs not an object"),
        pytest.param("parking_subsidy", {}, "kind", id="unknown kind"),
    ],
)
def test_invalid_inputs_name_the_field(kind: str, inputs: Any, path: str) -> None:
    with pytest.raises(SubsidyInputError) as err:
        calculate(kind, inputs, policy())
    assert err.value.field_path == path


def test_money_given_three_ways_gives_the_same_result() -> None:
    amounts = {
        calculate("public_welfare_post", {"annual_wage": wage}, policy()).amount
        for wage in (4000, "4000", "4000.00", Decimal("4000"))
    }
    assert amounts == {Decimal("2000.00")}


def test_optional_fields_take_their_defaults() -> None:
    parsed = parse_inputs(
        "transport_allowance",
        {"work_location": "out_of_province", "contract_months": 6, "social_insurance": True},
        as_of=AS_OF,
    )
    assert parsed.epidemic_period is False  # type: ignore[attr-defined]
    assert parsed.stable_months == 0  # type: ignore[attr-defined]


def test_birth_date_becomes_the_age_on_the_as_of_date() -> None:
    parsed = parse_inputs("public_welfare_post", {"annual_wage": "4000", "birth_date": "1960-06-02"}, as_of=AS_OF)
    assert parsed.age == 59  # type: ignore[attr-defined]


def test_fields_a_path_does_not_need_may_be_left_out() -> None:
    """DESIGN.md lists the inputs of a kind; those one of its paths does not use may be omitted:
    a poverty workshop's award for stable employment without new hires, and the transport
    allowance's epidemic rule without `social_insurance` (omitted = not paid)."""
    workshop = calculate("enterprise_employment_reward", {"workshop": True, "stable_6m_persons": 2}, policy())
    assert workshop.amount == Decimal("6000.00")  # 2 × 3,000, one-off, outside the 40,000 cap
    epidemic = calculate(
        "transport_allowance",
        {"work_location": "out_of_province", "contract_months": 3, "epidemic_period": True, "stable_months": 3},
        policy(),
    )
    assert epidemic.amount == Decimal("500.00")
    regular = calculate("transport_allowance", {"work_location": "out_of_province", "contract_months": 12}, policy())
    assert regular.amount == Decimal("0.00")  # no social insurance: the regular rule is not met
    assert any("insurance" in e.detail for e in regular.explanations)
