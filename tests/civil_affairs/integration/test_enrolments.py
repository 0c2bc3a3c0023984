"""Enrolments on a real database and NATS: the monthly run and its `payment_ordered` events, the
subsidy decision that records an order, gradual and voluntary exits paid month by month, the
sanction after three refused job offers, the re-check due list."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from shared.events import Event
from shared.settings import Settings
from tests.civil_affairs.integration.conftest import COUNTY, VILLAGE
from tests.civil_affairs.integration.programmes_support import clock_of, publish
from tests.helpers import collect_events

BASE = "/api/v1/social-assistance"


def existing(programme: str = "dibao", household: str = "hh-1", **kw: Any) -> dict[str, Any]:
    return {
        "household_id": household,
        "region_code": kw.pop("region_code", VILLAGE),
        "programme": programme,
        "members": kw.pop(
            "members",
            [
                {"person_ref": "per-a", "birth_date": "1950-05-01", "labor_capacity": "none"},
                {"person_ref": "per-b", "birth_date": "1985-03-01", "labor_capacity": "ordinary"},
                {"person_ref": "per-c", "birth_date": "2016-07-01", "labor_capacity": "none"},
            ],
        ),
        "per_capita_income_annual": kw.pop("income", "3000.00"),
        "start_month": kw.pop("start_month", "2026-01"),
        **kw,
    }


async def _register(client: httpx.AsyncClient, headers: dict[str, str], key: str, **kw: Any) -> dict[str, Any]:
    r = await client.post(f"{BASE}/enrolments", json=existing(**kw), headers={**headers, "Idempotency-Key": key})
    assert r.status_code == 201, r.text
    return r.json()


async def _run(client: httpx.AsyncClient, headers: dict[str, str], period: str) -> dict[str, Any]:
    r = await client.post(f"{BASE}/payments:run", params={"period": period}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _wait_recorded(client: httpx.AsyncClient, headers: dict[str, str], payment_id: str) -> dict[str, Any]:
    for _ in range(100):
        r = await client.get(f"{BASE}/payments", params={"period": "2026-12"}, headers=headers)
        order = next(o for o in r.json()["items"] if o["payment_id"] == payment_id)
        if order["status"] == "recorded":
            return order
        await asyncio.sleep(0.1)
    raise AssertionError(order)


async def test_the_monthly_run_orders_once_and_subsidy_records_the_amount(
    client: httpx.AsyncClient, as_role: Any, settings: Settings
) -> None:
    clock_of(client, "2026-12-01")
    county = as_role("county")
    e = await _register(client, county, "reg-1")
    assert e["status"] == "active"
    assert e["next_recheck_on"] == "2027-06-01"
    first = await _run(client, county, "2026-12")
    assert first["ordered"] == 1
    again = await _run(client, county, "2026-12")
    assert (again["ordered"], again["already_ordered"]) == (0, 1)
    assert (
        await client.post(
            f"{BASE}/payments:run", params={"period": "2026-12"}, headers=as_role("township", VILLAGE[:9])
        )
    ).status_code == 403

    [ev] = await collect_events(settings.resolved_nats_url(), "fangfan.social_assistance.payment_ordered.>", count=1)
    assert ev["type"] == "cn.fangfan.social_assistance.payment_ordered.v1"
    assert ev["source"] == "civil_affairs"
    assert ev["subject"] == "hh-1"
    data = ev["data"]
    assert data["kind"] == "dibao_monthly"
    assert data["period"] == "2026-12"
    assert data["inputs"] == {
        "per_capita_income_annual": "3000.00",
        "members": 3,
        "severely_ill_or_disabled": 0,
        "aged_70_plus": 1,
        "minors": 1,
        "months": 1,
        "excluded_members": 0,
        "phase": "regular",
    }
    assert data["funding_source"] == "dibao_fund"
    assert data["reference"] == {"kind": "enrolment", "id": e["id"]}
    assert data["approved_role"] == "county"
    assert data["as_of"] == "2026-12-01"

    # subsidy's decision event for the order marks it recorded with the amount
    decision = Event(
        domain="subsidy",
        name="decision_calculated",
        subject="hh-1",
        region=VILLAGE,
        data={
            "decision_id": "dec-1",
            "kind": "dibao_monthly",
            "state": "approved",
            "amount": "630.00",
            "household_id": "hh-1",
            "region_code": VILLAGE,
            "payment_id": data["payment_id"],
        },
        source="subsidy",
    )
    await publish(settings.resolved_nats_url(), decision)
    order = await _wait_recorded(client, county, data["payment_id"])
    assert (order["amount"], order["decision_id"], order["decision_state"]) == ("630.00", "dec-1", "approved")


async def test_gradual_exit_is_paid_month_by_month_then_exited(
    client: httpx.AsyncClient, as_role: Any, settings: Settings
) -> None:
    clock = clock_of(client, "2026-12-15")
    county = as_role("county")
    e = await _register(client, county, "reg-g")
    # Linquan: 12 months of 渐退期 when income rises above the standard (000)
    r = await client.post(
        f"{BASE}/enrolments/{e['id']}/rechecks", json={"per_capita_income_annual": "5200"}, headers=county
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["outcome"], got["status"], got["last_month"]) == ("gradual_exit", "gradual_exit", "2027-12")
    assert got["per_capita_income_annual"] == "3000.00"  # paid at the amount it had during 渐退期
    assert "12个月的渐退期" in got["history"][-1]["source"]
    clock.set("2027-01-02")
    assert (await _run(client, county, "2027-01"))["ordered"] == 1
    clock.set("2027-12-02")
    last = await _run(client, county, "2027-12")
    assert (last["ordered"], last["exited"]) == (1, 1)
    clock.set("2028-01-02")
    assert (await _run(client, county, "2028-01"))["ordered"] == 0
    final = (await client.get(f"{BASE}/enrolments/{e['id']}", headers=county)).json()
    assert final["status"] == "exited"
    events = await collect_events(settings.resolved_nats_url(), "fangfan.social_assistance.>", count=5)
    names = [x["type"].split(".")[3] for x in events]
    assert names == ["enrolled", "exit_started", "payment_ordered", "payment_ordered", "exited"]
    assert [x["data"]["inputs"]["phase"] for x in events if "inputs" in x["data"]] == ["gradual_exit"] * 2


async def test_a_guangxi_gradual_exit_lasts_six_months_and_voluntary_exit_gives_extra_months(
    client: httpx.AsyncClient, as_role: Any
) -> None:
    clock_of(client, "2026-12-15")
    gx_village = "450102001001"
    gx = as_role("county", "450102")
    e = await _register(client, gx, "reg-gx", region_code=gx_village, household="hh-gx")
    r = await client.post(
        f"{BASE}/enrolments/{e['id']}/rechecks", json={"per_capita_income_annual": "4800"}, headers=gx
    )
    assert r.json()["last_month"] == "2027-06"
    county = as_role("county")
    v = await _register(client, county, "reg-v", household="hh-v")
    r = await client.post(f"{BASE}/enrolments/{v['id']}/voluntary-exit", json={"months": 4}, headers=county)
    assert r.status_code == 409
    assert r.json()["code"] == "voluntary_exit_months"
    r = await client.post(f"{BASE}/enrolments/{v['id']}/voluntary-exit", json={"months": 2}, headers=county)
    assert (r.json()["status"], r.json()["last_month"]) == ("voluntary_exit", "2027-02")
    # a re-check below the standard keeps the household and changes the amount
    s = await _register(client, county, "reg-s", household="hh-s")
    r = await client.post(
        f"{BASE}/enrolments/{s['id']}/rechecks", json={"per_capita_income_annual": "3600"}, headers=county
    )
    assert (r.json()["outcome"], r.json()["per_capita_income_annual"]) == ("amount_changed", "3600")
    assert r.json()["next_recheck_on"] == "2027-06-15"


async def test_three_refused_offers_stop_that_persons_share(
    client: httpx.AsyncClient, as_role: Any, settings: Settings
) -> None:
    clock_of(client, "2026-12-01")
    county = as_role("county")
    e = await _register(client, county, "reg-x", household="hh-x")
    refused = Event(
        domain="employment",
        name="offers_refused",
        subject="hh-x",
        region=VILLAGE,
        data={
            "household_id": "hh-x",
            "region_code": VILLAGE,
            "person_ref": "per-b",
            "refusals": 3,
            "recommendation_ids": ["r1", "r2", "r3"],
            "decided_at": "2026-11-30T10:00:00+08:00",
        },
        source="assistance",
    )
    await publish(settings.resolved_nats_url(), refused)
    for _ in range(100):
        got = (await client.get(f"{BASE}/enrolments/{e['id']}", headers=county)).json()
        if got["excluded_members"]:
            break
        await asyncio.sleep(0.1)
    assert got["excluded_members"] == ["per-b"]
    entry = got["history"][-1]
    assert entry["rule"] == "three_refused_job_offers"
    assert "3次拒绝" in entry["source"]
    await _run(client, county, "2026-12")
    events = await collect_events(settings.resolved_nats_url(), "fangfan.social_assistance.>", count=3)
    assert [x["type"].split(".")[3] for x in events] == ["enrolled", "member_excluded", "payment_ordered"]
    assert events[2]["data"]["inputs"]["excluded_members"] == 1


async def test_the_recheck_due_list_and_jurisdiction(client: httpx.AsyncClient, as_role: Any) -> None:
    clock_of(client, "2026-12-01")
    county = as_role("county")
    t = await _register(
        client,
        county,
        "reg-t",
        programme="tekun",
        household="hh-t",
        members=[
            {"person_ref": "per-old", "birth_date": "1940-01-01", "labor_capacity": "none", "care_level": "partial"}
        ],
        income="0",
    )
    assert t["next_recheck_on"] == "2027-12-01"  # 特困: yearly
    d = await _register(client, county, "reg-d", household="hh-d")
    r = await client.get(f"{BASE}/rechecks", params={"due_before": "2027-07-01"}, headers=county)
    assert [i["enrolment_id"] for i in r.json()["items"]] == [d["id"]]
    assert r.json()["items"][0]["schedule"]["category"] == "dibao_other"
    r = await client.get(f"{BASE}/rechecks", params={"due_before": "2027-12-31"}, headers=county)
    assert r.json()["total"] == 2
    other = as_role("county", "341222")
    assert (await client.get(f"{BASE}/enrolments/{t['id']}", headers=other)).status_code == 404
    assert (await client.get(f"{BASE}/enrolments", headers=other)).json()["total"] == 0
    r = await client.post(
        f"{BASE}/enrolments/{t['id']}/rechecks", json={"tekun_conditions_hold": False}, headers=county
    )
    assert (r.json()["outcome"], r.json()["status"]) == ("exited", "exited")
    dup = await client.post(
        f"{BASE}/enrolments", json=existing(household="hh-d"), headers={**county, "Idempotency-Key": "reg-dup"}
    )
    assert dup.status_code == 409
    assert dup.json()["code"] == "already_enrolled"
    assert COUNTY == "341221"


async def test_a_policy_version_added_at_run_time_sets_the_gradual_exit_months(
    client: httpx.AsyncClient, as_role: Any
) -> None:
    clock_of(client, "2026-12-15")
    admin = as_role("admin", "")
    body = {
        "service": "civil_affairs",
        "region_prefix": "341222",
        "effective_from": "2026-01-01",
        "source": "县民政局通知 2026 第1号",
        "parameters": {"gradual_exit_months": {"value": 9, "source": "县民政局通知 2026 第1号 §3 渐退期9个月"}},
    }
    r = await client.post("/api/v1/admin/policies", json=body, headers=admin)
    assert r.status_code == 201, r.text
    bad = {**body, "parameters": {"voluntary_exit_months_max": 5}}
    assert (await client.post("/api/v1/admin/policies", json=bad, headers=admin)).status_code == 422
    r = await client.get(
        "/api/v1/admin/policies",
        params={"service": "civil_affairs", "region": "341222001001", "as_of": "2026-12-15"},
        headers=admin,
    )
    got = r.json()["parameters"]
    assert str(got["gradual_exit_months"]["value"]) == "9"
    assert str(got["public_notice_days"]["value"]) == "7"
    county = as_role("county", "341222")
    e = await _register(client, county, "reg-p", region_code="341222001001", household="hh-p")
    r = await client.post(
        f"{BASE}/enrolments/{e['id']}/rechecks", json={"per_capita_income_annual": "6000"}, headers=county
    )
    assert r.json()["last_month"] == "2027-09"
    assert "渐退期9个月" in r.json()["history"][-1]["source"]
