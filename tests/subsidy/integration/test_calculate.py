"""`POST /subsidies/calculate`: amounts, breakdown, policy clause and explanations from the
policy in force; input errors as 422 with the field path; jurisdiction and roles."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import COUNTY

URL = "/api/v1/subsidies/calculate"


def body(kind: str, inputs: dict[str, Any], *, region: str = COUNTY, as_of: str = "2020-06-01") -> dict[str, Any]:
    return {"kind": kind, "region_code": region, "as_of": as_of, "inputs": inputs}


async def test_public_welfare_post_in_the_upper_band(client, as_role) -> None:
    r = await client.post(URL, json=body("public_welfare_post", {"annual_wage": "8000"}), headers=as_role())
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["amount"] == "4800.00"
    assert out["kind"] == "public_welfare_post"
    assert out["policy"]["id"] == "linquan-employment-2020"
    assert out["policy"]["version"] == "2020.1"
    assert "000 就业扶贫" in out["policy"]["clause"]
    assert out["breakdown"][0]["component"] == "post_subsidy"
    assert any("60%" in e["detail"] for e in out["explanations"])
    assert out["parameters"]["public_welfare_annual_cap"] == "6000"


async def test_decimal_json_numbers_are_money_without_floats(client, as_role) -> None:
    raw = '{"kind":"public_welfare_post","region_code":"341221","as_of":"2020-06-01","inputs":{"annual_wage":4000.10}}'
    r = await client.post(URL, content=raw, headers={**as_role(), "content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == "2000.05"


async def test_tiered_wage_subsidy_rounds_once_half_up(client, as_role) -> None:
    r = await client.post(
        URL,
        json=body("tiered_wage_subsidy", {"poor_laborers": 20, "total_wages": "120000.50"}, region="341221001"),
        headers=as_role("township", "341221001"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == "46800.20"
    assert r.json()["breakdown"][0]["amount"] == "46800.195"


async def test_input_error_names_the_field_path(client, as_role) -> None:
    hires = [
        {"person_id": "p1", "contract_months": 12, "poor_laborer": True},
        {"person_id": "p2", "contract_months": "twelve", "poor_laborer": False},
    ]
    r = await client.post(URL, json=body("enterprise_employment_reward", {"hires": hires}), headers=as_role())
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["path"] == "inputs.hires[1].contract_months"


async def test_unknown_kind_is_422_on_kind(client, as_role) -> None:
    r = await client.post(URL, json=body("moon_subsidy", {}), headers=as_role())
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "kind"


async def test_no_policy_for_region_or_date(client, as_role) -> None:
    r = await client.post(
        URL, json=body("public_welfare_post", {"annual_wage": "5000"}, as_of="2019-06-01"), headers=as_role()
    )
    assert r.status_code == 422
    assert r.json()["code"] == "policy_not_found"
    r = await client.post(
        URL,
        json=body("public_welfare_post", {"annual_wage": "5000"}, region="110101"),
        headers=as_role("province", "11"),
    )
    assert r.status_code == 422
    assert r.json()["code"] == "policy_not_found"


async def test_unknown_body_field_is_refused(client, as_role) -> None:
    r = await client.post(
        URL, json={**body("housing_renovation", {"type": "rebuild"}), "amount": "1"}, headers=as_role()
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "amount"


async def test_outside_jurisdiction_is_404(client, as_role) -> None:
    r = await client.post(
        URL, json=body("housing_renovation", {"type": "rebuild"}, region="341225"), headers=as_role("county", COUNTY)
    )
    assert r.status_code == 404


async def test_citizens_may_not_calculate(client, as_role) -> None:
    r = await client.post(URL, json=body("housing_renovation", {"type": "rebuild"}), headers=as_role("citizen"))
    assert r.status_code == 403


async def test_a_contact_person_may_calculate_within_their_region(client, as_role) -> None:
    """The gateway lets contact persons calculate (one at a time, not in bulk); so does the service."""
    ok = await client.post(
        URL,
        json=body("housing_renovation", {"type": "rebuild"}, region="341225001001"),
        headers=as_role("contact", region="341225001001"),
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["amount"] == "20000.00"
    outside = await client.post(
        URL,
        json=body("housing_renovation", {"type": "rebuild"}, region="341225001002"),
        headers=as_role("contact", region="341225001001"),
    )
    assert outside.status_code == 404
    batch = await client.post(
        f"{URL}:batch",
        json=[body("housing_renovation", {"type": "rebuild"}, region="341225001001")],
        headers=as_role("contact", region="341225001001"),
    )
    assert batch.status_code == 403


@pytest.mark.parametrize(
    ("role", "region"), [("department", "341225"), ("province", "34"), ("village", "341225001001")]
)
async def test_departments_provinces_and_officers_may_calculate(client, as_role, role, region) -> None:
    r = await client.post(
        URL,
        json=body("housing_renovation", {"type": "rebuild"}, region="341225001001"),
        headers=as_role(role, region, dept="hrss" if role == "department" else None),
    )
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == "20000.00"
