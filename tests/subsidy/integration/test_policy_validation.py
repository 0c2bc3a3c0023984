"""Subsidy policy versions are checked when written: a negative cap (which paid 0.00), malformed
tiers (which answered 500), a floor above its ceiling — 422 at `parameters.<name>`, nothing
stored; well-formed tiers sent as JSON numbers are kept as exact decimals and used."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import COUNTY

ADMIN = "/api/v1/admin/policies"
CALC = "/api/v1/subsidies/calculate"


def _version(**params: Any) -> dict[str, Any]:
    return {
        "service": "subsidy",
        "region_prefix": COUNTY,
        "effective_from": "2024-01-01",
        "parameters": params,
        "source": "县人社局通知 2024 第1号",
    }


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"public_welfare_annual_cap": "-6000"}, "public_welfare_annual_cap"),
        ({"public_welfare_annual_cap": 0}, "public_welfare_annual_cap"),
        ({"enterprise_reward_cap": "1e400"}, "enterprise_reward_cap"),
        ({"public_welfare_lower_share": "1.5"}, "public_welfare_lower_share"),
        ({"transport_out_of_province": "500.001"}, "transport_out_of_province"),
        ({"work_for_training_max_months": "6.5"}, "work_for_training_max_months"),
        ({"medical_assistance_funding": "lottery"}, "medical_assistance_funding"),
        ({"tiered_wage_tiers": "30%"}, "tiered_wage_tiers"),
        ({"tiered_wage_tiers": []}, "tiered_wage_tiers"),
        ({"tiered_wage_tiers": [{"from": 1}]}, "tiered_wage_tiers"),
        ({"tiered_wage_tiers": [{"from": 6, "share": 0.3}, {"from": 1, "share": 0.4}]}, "tiered_wage_tiers"),
        ({"tiered_wage_tiers": [{"from": 1, "share": "NaN"}]}, "tiered_wage_tiers"),
        ({"workshop_award_tiers": [{"from": 5, "amount": -1}]}, "workshop_award_tiers"),
        ({"public_welfare_min_wage": 7000}, "public_welfare_min_wage"),  # above the shipped upper band (6,000)
        ({"employment_fund_min_age": 60, "employment_fund_max_age": 59}, "employment_fund_min_age"),
    ],
)
async def test_bad_values_are_refused_and_nothing_is_stored(client, as_role, params: dict[str, Any], path: str) -> None:
    admin = as_role("admin", "")
    before = (await client.get(ADMIN, params={"service": "subsidy"}, headers=admin)).json()["versions"]
    r = await client.post(ADMIN, json=_version(**params), headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["path"] for e in r.json()["errors"]] == [f"parameters.{path}"]
    assert (await client.get(ADMIN, params={"service": "subsidy"}, headers=admin)).json()["versions"] == before
    calc = {
        "kind": "public_welfare_post",
        "region_code": COUNTY,
        "as_of": "2024-03-01",
        "inputs": {"annual_wage": "20000"},
    }
    assert (await client.post(CALC, json=calc, headers=as_role())).json()["amount"] == "6000.00"


async def test_tiers_as_json_numbers_are_exact_decimals_and_used(client, as_role) -> None:
    tiers = [{"from": 1, "share": 0.35}, {"from": 6, "share": 0.45}]
    r = await client.post(ADMIN, json=_version(tiered_wage_tiers=tiers), headers=as_role("admin", ""))
    assert r.status_code == 201, r.text
    assert r.json()["parameters"]["tiered_wage_tiers"]["value"] == [
        {"from": 1, "share": "0.35"},
        {"from": 6, "share": "0.45"},
    ]
    calc = {
        "kind": "tiered_wage_subsidy",
        "region_code": COUNTY,
        "as_of": "2024-03-01",
        "inputs": {"poor_laborers": 7, "total_wages": "100000.10"},
    }
    r = await client.post(CALC, json=calc, headers=as_role())
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == "45000.05"  # 45 % of 100,000.10 = 45,000.045 → half-up
