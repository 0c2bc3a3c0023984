"""The subsidy parameter catalogue: every shipped parameter has a unit, every shipped version
passes the write-time checks, and the checks' boundaries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.subsidy.domain import load_shipped_policies, resolve_subsidy_policy
from services.subsidy.domain.parameters import PARAMETERS, check_resolved, check_value


def test_every_shipped_parameter_is_catalogued_and_valid() -> None:
    for version in load_shipped_policies():
        for name, pv in version.parameters.items():
            assert name in PARAMETERS, name
            assert check_value(name, pv.value) is None, (version.id, name, pv.value)


@pytest.mark.parametrize("region", ["341221001201", "341225001201", "130126001201"])
def test_shipped_policies_in_force_pass_the_combination_checks(region: str) -> None:
    resolved = resolve_subsidy_policy(region, dt.date(2024, 6, 1))
    assert check_resolved({n: pv.value for n, pv in resolved.values.items()}) == []


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("public_welfare_annual_cap", Decimal("6000"), True),
        ("public_welfare_annual_cap", Decimal("0.01"), True),
        ("public_welfare_annual_cap", Decimal("0"), False),
        ("public_welfare_annual_cap", Decimal("-1"), False),
        ("transport_in_county", 0, True),
        ("transport_in_county", Decimal("100000000"), True),
        ("transport_in_county", Decimal("100000000.01"), False),
        ("transport_in_county", Decimal("99.999"), False),
        ("transport_in_county", True, False),
        ("transport_in_county", "100", False),
        ("transport_in_county", Decimal("NaN"), False),
        ("public_welfare_lower_share", Decimal("0"), True),
        ("public_welfare_lower_share", Decimal("1"), True),
        ("public_welfare_lower_share", Decimal("1.0000001"), False),
        ("work_for_training_max_months", 600, True),
        ("work_for_training_max_months", 601, False),
        ("employment_fund_max_age", Decimal("59.5"), False),
        ("workshop_award_funding", "employment_fund", True),
        ("workshop_award_funding", "mixed", False),
        ("tiered_wage_tiers", [{"from": 1, "share": Decimal("0.3")}], True),
        ("tiered_wage_tiers", [{"from": 1, "share": Decimal("0.3"), "extra": 1}], False),
        ("tiered_wage_tiers", [{"from": 1, "share": Decimal("0.3")}, {"from": 1, "share": Decimal("0.4")}], False),
        ("workshop_award_tiers", [{"from": 5, "amount": 10000}, {"from": 10, "amount": Decimal("20000.5")}], True),
        ("no_such_parameter", 1, False),
    ],
)
def test_check_value(name: str, value: Any, ok: bool) -> None:
    assert (check_value(name, value) is None) is ok


def test_a_floor_above_its_ceiling() -> None:
    values = {"public_welfare_min_wage": Decimal(6001), "public_welfare_upper_wage": Decimal(6000)}
    assert check_resolved(values) == [("public_welfare_min_wage", "must not exceed public_welfare_upper_wage (6000)")]
    assert check_resolved({**values, "public_welfare_min_wage": Decimal(6000)}) == []
