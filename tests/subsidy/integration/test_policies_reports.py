"""`/admin/policies` for the subsidy service, `GET /subsidies/policies`, and the reports."""

from __future__ import annotations

import io
import uuid
from typing import Any

from openpyxl import load_workbook

from .conftest import COUNTY, VILLAGE

CALC = "/api/v1/subsidies/calculate"
ADMIN = "/api/v1/admin/policies"


def pwp(wage: str, as_of: str = "2024-03-01", region: str = COUNTY) -> dict[str, Any]:
    return {"kind": "public_welfare_post", "region_code": region, "as_of": as_of, "inputs": {"annual_wage": wage}}


async def test_a_new_version_changes_the_calculation_without_a_redeploy(client, as_role) -> None:
    before = (await client.post(CALC, json=pwp("20000"), headers=as_role())).json()
    assert before["amount"] == "6000.00"
    version = {
        "service": "subsidy",
        "region_prefix": COUNTY,
        "effective_from": "2024-01-01",
        "parameters": {"public_welfare_annual_cap": {"value": "8000", "source": "县人社局通知 2024 第1号 §2"}},
        "source": "县人社局通知 2024 第1号",
        "version": "2024.1",
    }
    r = await client.post(ADMIN, json=version, headers=as_role("county"))
    assert r.status_code == 403
    r = await client.post(ADMIN, json={**version, "parameters": {"no_such": 1}}, headers=as_role("admin", ""))
    assert r.status_code == 422
    r = await client.post(ADMIN, json=version, headers=as_role("province", "34"))
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    after = (await client.post(CALC, json=pwp("20000"), headers=as_role())).json()
    assert after["amount"] == "8000.00"
    assert after["parameters"]["public_welfare_annual_cap"] == "8000"
    assert any("2024 第1号" in e["source"] for e in after["explanations"])
    assert (await client.post(CALC, json=pwp("20000", "2023-12-31"), headers=as_role())).json()["amount"] == "6000.00"

    listed = (await client.get("/api/v1/subsidies/policies", headers=as_role())).json()
    ids = [v["id"] for v in listed["versions"]]
    assert "linquan-employment-2020" in ids
    assert vid in ids
    assert "funan-marginal-2020" not in ids  # not in a Linquan officer's jurisdiction
    in_force = (
        await client.get(
            "/api/v1/subsidies/policies", params={"region": VILLAGE, "as_of": "2024-06-01"}, headers=as_role()
        )
    ).json()
    assert in_force["policy"]["id"] == vid
    assert in_force["parameters"]["public_welfare_annual_cap"]["value"] == "8000"
    tiers = in_force["parameters"]["tiered_wage_tiers"]["value"]
    assert all(isinstance(t["share"], str) for t in tiers)  # never floats
    r = await client.get("/api/v1/admin/policies", params={"service": "subsidy", "region": COUNTY}, headers=as_role())
    assert r.status_code == 200
    r = await client.get(
        "/api/v1/subsidies/policies", params={"region": "341221", "as_of": "2010-01-01"}, headers=as_role()
    )
    assert r.json()["code"] == "policy_not_found"


async def _decide(client: Any, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/subsidies/decisions", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_reports_json_csv_xlsx(client, as_role) -> None:
    county = as_role()
    a = await _decide(
        client,
        county,
        {**pwp("8000", "2020-03-01", VILLAGE), "inputs": {"annual_wage": "8000", "person_id": "r1", "age": 30}},
    )
    b = await _decide(
        client,
        county,
        {**pwp("5000", "2020-04-01", "341221002001"), "inputs": {"annual_wage": "5000", "person_id": "r2", "age": 65}},
    )
    transport = {"person_id": "r3", "work_location": "out_of_province", "contract_months": 12, "social_insurance": True}
    c = await _decide(
        client,
        county,
        {"kind": "transport_allowance", "region_code": VILLAGE, "as_of": "2020-04-15", "inputs": transport},
    )
    await client.post(f"/api/v1/subsidies/decisions/{a['id']}/approve", headers=county)
    await client.post(f"/api/v1/subsidies/decisions/{a['id']}/pay", headers=county)
    await client.post(f"/api/v1/subsidies/decisions/{b['id']}/approve", headers=county)
    await client.post(f"/api/v1/subsidies/decisions/{c['id']}/reject", json={"reason": "duplicate"}, headers=county)

    url = "/api/v1/subsidies/reports"
    by_kind = (await client.get(url, params={"group_by": "kind"}, headers=county)).json()
    rows = {r["key"]: r for r in by_kind["rows"]}
    assert rows["public_welfare_post"] == {
        "key": "public_welfare_post",
        "decisions": 2,
        "decided": "7300.00",
        "approved": "7300.00",
        "paid": "4800.00",
        "rejected": "0.00",
    }
    assert rows["transport_allowance"]["rejected"] == "500.00"
    assert rows["transport_allowance"]["decided"] == "0.00"
    assert by_kind["totals"]["decided"] == "7300.00"

    by_month = (await client.get(url, params={"group_by": "month"}, headers=county)).json()
    assert [r["key"] for r in by_month["rows"]] == ["2020-03", "2020-04"]
    by_fund = (await client.get(url, params={"group_by": "funding_source"}, headers=county)).json()
    funds = {r["key"]: r["decided"] for r in by_fund["rows"]}
    assert funds["employment_fund"] == "4800.00"
    assert funds["county_finance"] == "2500.00"
    by_level = (await client.get(url, params={"group_by": "region_level"}, headers=county)).json()
    assert {r["key"]: r["decided"] for r in by_level["rows"]} == {"341221001": "4800.00", "341221002": "2500.00"}
    township = (
        await client.get(url, params={"group_by": "region_level", "region": "341221001"}, headers=county)
    ).json()
    assert [r["key"] for r in township["rows"]] == [VILLAGE]
    assert (await client.get(url, params={"region": "341225"}, headers=county)).status_code == 404

    csv_text = (await client.get(url, params={"group_by": "kind", "format": "csv"}, headers=county)).text
    lines = csv_text.splitlines()
    assert lines[0] == "kind,decisions,decided,approved,paid,rejected"
    assert "public_welfare_post,2,7300.00,7300.00,4800.00,0.00" in lines
    assert lines[-1].startswith("total,3,7300.00")

    xlsx = await client.get(url, params={"group_by": "kind", "format": "xlsx"}, headers=county)
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in ws[1]] == ["kind", "decisions", "decided", "approved", "paid", "rejected"]
