"""The shipped policy versions: every figure cited, resolution by (region, date)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from services.subsidy.domain import calculate, load_shipped_policies, resolve_subsidy_policy
from services.subsidy.domain.policies import POLICY_DIR
from shared.policy import PolicyNotFound, PolicyParameterMissing

from . import D2020, D2021, FUNAN, LINGSHOU, LINQUAN, policy

SOURCE = re.compile(r"^(000 就业扶贫 §[三四]|000 safety-net §三|002 篇(一|十一|十二) §|PLACEHOLDER — )")


def test_every_shipped_parameter_names_its_source() -> None:
    versions = load_shipped_policies()
    assert {v.service for v in versions} == {"subsidy"}
    assert len({v.id for v in versions}) == len(versions)
    for v in versions:
        for name, pv in v.parameters.items():
            assert SOURCE.match(pv.source), f"{v.id}.{name} has source {pv.source!r}"


def test_no_parameter_is_a_float() -> None:
    for v in load_shipped_policies():
        for pv in v.parameters.values():
            assert isinstance(pv.value, int | Decimal | str | list), (v.id, pv.name)


@pytest.mark.parametrize(
    ("region", "as_of", "expected_ids"),
    [
        pytest.param(LINQUAN, D2020, {"linquan-employment-2020", "linquan-dibao-placeholder"}, id="Linquan 2020"),
        pytest.param(
            "341221",
            D2021,
            {"linquan-employment-2020", "linquan-dibao-placeholder", "workshop-awards-2021"},
            id="Linquan 2021 adds workshop awards",
        ),
        pytest.param(FUNAN + "001", D2020, {"funan-marginal-2020"}, id="Funan township"),
        pytest.param(LINGSHOU, D2021, {"lingshou-education-2020"}, id="Lingshou"),
    ],
)
def test_resolution_by_region_and_date(region: str, as_of: dt.date, expected_ids: set[str]) -> None:
    assert {v.id for v in resolve_subsidy_policy(region, as_of).versions} == expected_ids


@pytest.mark.parametrize(
    ("region", "as_of"),
    [
        pytest.param("110101", D2020, id="a region without policy"),
        pytest.param(LINQUAN, dt.date(2019, 12, 31), id="the day before Linquan's plan"),
        pytest.param("3412", D2020, id="the city above Linquan"),
        pytest.param("341222", D2020, id="a neighbouring county"),
    ],
)
def test_no_policy_is_an_error_saying_so(region: str, as_of: dt.date) -> None:
    with pytest.raises(PolicyNotFound, match=f"no subsidy policy is in force for region {region} on {as_of}"):
        resolve_subsidy_policy(region, as_of)


def test_a_kind_whose_figures_the_region_lacks_is_an_error_saying_so() -> None:
    with pytest.raises(PolicyParameterMissing, match="medical_share_in_province"):
        calculate("medical_assistance", {"compliant_oop": "1", "in_province": True, "tiered_referral": True}, policy())


def test_lingshou_education_figures() -> None:
    p = resolve_subsidy_policy(LINGSHOU, D2021)
    assert (p["university_entrant_grant_min"], p["university_entrant_grant_max"]) == (2000, 3000)
    assert (p["student_loan_max_undergraduate"], p["student_loan_max_postgraduate"]) == (8000, 12000)


def test_the_clause_and_version_come_from_the_version_that_set_the_figure() -> None:
    p = resolve_subsidy_policy(LINQUAN, D2021)
    result = calculate("public_welfare_post", {"annual_wage": "6000"}, p)
    assert result.policy_id == "linquan-employment-2020"
    assert result.clause.startswith("000 就业扶贫 §三(四)")
    assert ("public_welfare_upper_share", "0.60") in result.parameters


def test_what_if_overrides_show_their_own_source() -> None:
    p = policy().with_overrides({"public_welfare_annual_cap": Decimal("5000")})
    result = calculate("public_welfare_post", {"annual_wage": "10000"}, p)
    assert result.amount == Decimal("5000.00")
    assert any(e.source == "what-if override" for e in result.explanations)


def test_the_policy_readme_documents_every_parameter() -> None:
    readme = (POLICY_DIR / "README.md").read_text(encoding="utf-8")
    names = {name for v in load_shipped_policies() for name in v.parameters}
    assert sorted(n for n in names if f"`{n}`" not in readme) == []
