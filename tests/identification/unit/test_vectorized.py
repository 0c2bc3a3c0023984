"""The numpy evaluator (domain/vectorized.py) gives exactly the outcomes of the per-household
columnar evaluator (itself checked against `assess()`): on a generated county under every shipped
province's policy and under what-if overrides, on hand-made edge cases, and on the boundary
figures (3,599.99 / 3,600 / 5,999.99 / 6,000, ties of the half-up rounding)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.identification.api.schemas import HouseholdImport
from services.identification.domain.columnar import HouseholdColumns, evaluate, profile_of
from services.identification.domain.policies import load_shipped_policies, resolve_identification_policy
from services.identification.domain.vectorized import (
    CATEGORIES,
    LOW_INCOME,
    WARNINGS,
    evaluate_profiles,
    fen_str,
    risks_of_mask,
)
from shared.cli.generate import generate_households
from shared.policy import PolicyParameterMissing, ResolvedPolicy
from tests.identification.unit.test_columnar_profile import _edge_cases

AS_OF = dt.date(2024, 6, 30)
POLICIES = load_shipped_policies()


def _policy(region: str, overrides: dict[str, Any] | None = None) -> ResolvedPolicy:
    policy = resolve_identification_policy(POLICIES, region_code=region, as_of=AS_OF)
    return policy.with_overrides(overrides) if overrides else policy


def _compare(profiles: list[str], policy: ResolvedPolicy) -> Any:
    cols = HouseholdColumns()
    for p in profiles:
        cols.append_profile(p)
    want = evaluate(cols, policy, as_of=AS_OF)
    got = evaluate_profiles(profiles, policy, as_of=AS_OF)
    assert got is not None
    assert [fen_str(int(x)) for x in got.per_capita_fen] == [str(x) for x in want.per_capita_income]
    assert [CATEGORIES[c] for c in got.category] == want.category
    assert [LOW_INCOME[c] for c in got.low_income_category] == want.low_income_category
    assert [WARNINGS[c] for c in got.warning] == want.warning
    assert [risks_of_mask(int(m)) for m in got.risks] == want.risk_types
    return got


def _profiles(region_of: Any, n: int = 1500) -> list[str]:
    out = []
    for item in [*generate_households(n, "341221", seed=11), *_edge_cases()]:
        model = HouseholdImport.model_validate(item).model_dump(mode="json")
        out.append(profile_of(model, region_of(item["region_code"])))
    return out


@pytest.mark.parametrize("province", ["34", "51", "13", "43", "21", "61", "45"])
@pytest.mark.parametrize("urban", [False, True])
def test_agrees_with_the_columnar_evaluator_under_every_shipped_policy(province: str, urban: bool) -> None:
    def region_of(code: str) -> str:
        return province + code[2:9] + ("101" if urban else code[9:])

    policy = _policy(province + "1221001201")
    if urban and "dibao_standard_urban" not in policy:
        policy = policy.with_overrides({"dibao_standard_urban": Decimal("9000")})
    got = _compare(_profiles(region_of), policy)
    assert set(got.warning.tolist()) >= {0, 1, 2, 3} or province != "34"  # Anhui's county shows every colour


@pytest.mark.parametrize(
    "overrides",
    [
        {"monitoring_line": Decimal("9000"), "dibao_edge_multiplier": Decimal("2")},
        {"local_disposable_income_per_capita": Decimal("12000")},
        {"local_disposable_income_per_capita": Decimal("15000"), "expenditure_hardship_variant": "above_twice_dibao"},
        {"dibao_edge_multiplier": Decimal("1.333"), "sudden_hardship_income_drop_ratio": Decimal("0.3333")},
        {"monitoring_line": Decimal("6000.005")},
    ],
)
def test_agrees_under_what_if_overrides(overrides: dict[str, Any]) -> None:
    _compare(_profiles(lambda code: code, 800), _policy("341221001201", overrides))


def _profile(counted: str, size: int = 1, *, deducted: str = "0", risks: str = "illness", status: str = "none") -> str:
    # version|size|counted|unverified|deducted|rigid|edu_other|last|status|flags|risks|deps
    return f"1|{size}|{counted}|0|{deducted}|0|0||{status}|0000|{risks}|"


@pytest.mark.parametrize(
    ("line", "counted", "size", "below"),
    [
        ("3600", "3599.99", 1, True),
        ("3600", "3600", 1, False),
        ("6000", "5999.99", 1, True),
        ("6000", "6000", 1, False),
        ("6000", "11999.99", 2, False),  # 5,999.995 rounds half up to 6,000.00
        ("6000", "11999.97", 2, True),  # 5,999.985 → 5,999.99
        ("6000.005", "6000.01", 1, False),
        ("6000.005", "6000.00", 1, True),
    ],
)
def test_the_line_boundaries(line: str, counted: str, size: int, below: bool) -> None:
    policy = _policy("341221001201", {"monitoring_line": Decimal(line)})
    got = _compare([_profile(counted, size)], policy)
    assert (CATEGORIES[got.category[0]] is not None) is below


def test_rounding_is_half_up_away_from_zero() -> None:
    policy = _policy("341221001201")
    got = _compare([_profile("100.01", 2), _profile("0", 2, deducted="100.01"), _profile("0.05", 3)], policy)
    assert [fen_str(int(x)) for x in got.per_capita_fen] == ["50.01", "-50.01", "0.02"]


def test_falls_back_when_not_exact_in_int64() -> None:
    policy = _policy("341221001201")
    assert evaluate_profiles([_profile("99999999999999999.99")], policy, as_of=AS_OF) is None
    assert evaluate_profiles([_profile("1.005")], policy, as_of=AS_OF) is None


def test_missing_parameters_raise_where_the_columnar_evaluator_does() -> None:
    policy = _policy("341221001201")
    values = {k: v for k, v in policy.values.items() if k != "dibao_standard_urban"}
    rural_only = ResolvedPolicy(policy.service, policy.region_code, policy.as_of, values, policy.versions)
    assert evaluate_profiles([_profile("100")], rural_only, as_of=AS_OF) is not None
    urban = "1|1|100|0|0|0|0||none|0100|illness|"
    with pytest.raises(PolicyParameterMissing):
        evaluate_profiles([urban], rural_only, as_of=AS_OF)
