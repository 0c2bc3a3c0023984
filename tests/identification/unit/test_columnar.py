"""The columnar evaluator agrees with `assess()` on every household of a generated county, under
the shipped policy and under what-if overrides, rural and urban."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.identification.api.schemas import HouseholdImport
from services.identification.application.assessments import to_domain_household
from services.identification.domain.assessment import assess
from services.identification.domain.columnar import evaluate_households
from services.identification.domain.policies import load_shipped_policies, resolve_identification_policy
from shared.cli.generate import generate_households

AS_OF = dt.date(2024, 6, 30)
_ITEMS = list(generate_households(2000, "341221"))


def _households(urban: bool = False) -> list[Any]:
    out = []
    for item in _ITEMS:
        region = item["region_code"][:9] + "101" if urban else item["region_code"]
        out.append(to_domain_household(HouseholdImport.model_validate(item), region_code=region))
    return out


@pytest.mark.parametrize(
    ("urban", "overrides"),
    [
        (False, {}),
        (True, {}),
        (False, {"monitoring_line": 8000, "dibao_edge_multiplier": 2}),
        (False, {"expenditure_hardship_variant": "above_twice_dibao", "dibao_standard_rural": 9000}),
        (False, {"sudden_hardship_income_drop_ratio": "0.05", "sudden_hardship_rigid_to_income_ratio": "0.1"}),
    ],
)
def test_columnar_agrees_with_assess_on_a_generated_county(urban: bool, overrides: dict[str, Any]) -> None:
    policy = resolve_identification_policy(load_shipped_policies(), region_code="341221001201", as_of=AS_OF)
    households = _households(urban)
    fast = evaluate_households(households, policy, as_of=AS_OF, policy_overrides=overrides)
    categories = set()
    for i, h in enumerate(households):
        slow = assess(h, policy, as_of=AS_OF, policy_overrides=overrides)
        got = (
            fast.per_capita_income[i],
            fast.category[i],
            fast.low_income_category[i],
            fast.warning[i],
            fast.risk_types[i],
        )
        want = (slow.per_capita_income, slow.category, slow.low_income_category, slow.warning, slow.risk_types)
        assert got == want, (i, _ITEMS[i]["household_number"])
        categories.add((slow.category, slow.low_income_category, slow.warning))
    assert len(categories) >= 8  # the county exercises many outcomes, not just "nothing"
