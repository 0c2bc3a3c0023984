"""End to end through the real gateway (uvicorn on loopback) in front of the real civil-affairs and
subsidy services, one NATS: a citizen's dibao application → village acceptance → the county check
system's callback → township review → 7-day public notice → county approval → enrolment → the
county's monthly run → `social_assistance.payment_ordered` → (subsidy records it, exact to the fen)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from gateway.config import GatewayConfig
from gateway.main import create_app as gateway_app
from services.civil_affairs.main import create_app as civil_affairs_app
from services.notification.main import create_app as notification_app
from services.subsidy.main import create_app as subsidy_app
from shared.app import CST
from shared.nats import NatsServer, free_port
from shared.settings import SERVICES, Settings
from tests.civil_affairs.integration.programmes_support import Clock, dibao_body, id_number
from tests.conftest import TEST_DB, create_pg_database, drop_pg_database
from tests.gateway.conftest import serve
from tests.helpers import auth, collect_events, make_settings
from tests.notification.integration.conftest import fast
from tests.notification.integration.support import Receiver, subscribe

VILLAGE = "341221001001"
COUNTY = "341221"
BASE = "/api/v1/social-assistance"


@contextlib.asynccontextmanager
async def _database(tmp_path: Path, name: str) -> AsyncIterator[str]:
    if TEST_DB == "postgres":
        db, url = await create_pg_database()
        try:
            yield url
        finally:
            await drop_pg_database(db)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / (name + '.db')}"


@pytest.fixture
async def system(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[tuple[httpx.AsyncClient, Settings, Clock]]:
    clock = Clock(dt.datetime(2026, 12, 1, 10, tzinfo=CST))
    async with contextlib.AsyncExitStack() as stack:
        urls: dict[str, str] = {}
        factories: tuple[tuple[str, Any], ...] = (
            ("civil_affairs", civil_affairs_app),
            ("subsidy", subsidy_app),
            ("notification", lambda s: notification_app(s, fast())),
        )
        for name, factory in factories:
            db = await stack.enter_async_context(_database(tmp_path, name))
            s = make_settings(tmp_path / name, nats_url=nats_server.url, database_url=db)
            app = factory(s)
            urls[name] = await stack.enter_async_context(serve(app))
            app.state.ctx.clock = clock
        gw_settings = make_settings(
            tmp_path, nats_url=nats_server.url, database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        )
        upstreams = {s: urls.get(s, f"http://127.0.0.1:{free_port()}") for s in SERVICES}
        gw = await stack.enter_async_context(serve(gateway_app(gw_settings, GatewayConfig(upstreams=upstreams))))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=gw, timeout=30))
        yield client, gw_settings, clock


async def _walk_to_payment(client: httpx.AsyncClient, settings: Settings, clock: Clock) -> dict[str, Any]:
    head = id_number("19800101", "011")
    citizen = auth(settings, "citizen", VILLAGE, sub=head)
    village = auth(settings, "village", VILLAGE)
    township = auth(settings, "township", VILLAGE[:9])
    county = auth(settings, "county", COUNTY, sub="county-chief")

    r = await client.post(
        f"{BASE}/applications", json=dibao_body(VILLAGE), headers={**citizen, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    assert r.json()["decision"]["rule"] == "dibao_income_below_standard"

    async def act(headers: dict[str, str], action: str, note: str) -> dict[str, Any]:
        r = await client.post(
            f"{BASE}/applications/{app_id}/transitions", json={"action": action, "note": note}, headers=headers
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    check_id = (await act(village, "accept", "受理"))["economic_check"]["id"]
    result = {
        "passed": True,
        "checked_at": "2026-12-03T09:00:00+08:00",
        "reference": "LQ-1",
        "income_found_annual": "9000",
    }
    r = await client.post(f"{BASE}/economic-checks/{check_id}/result", json=result, headers=county)
    assert r.status_code == 200, r.text
    assert (await act(township, "advance", "审核通过，予以公示"))["state"] == "public_notice"
    clock.set("2026-12-08")
    assert (await act(township, "advance", "公示期满无异议"))["state"] == "county_review"
    approved = await act(county, "approve", "同意")
    assert approved["state"] == "approved"
    # the citizen sees their own application, approved
    r = await client.get(f"{BASE}/applications/{app_id}", headers=citizen)
    assert r.json()["state"] == "approved"

    r = await client.get(f"{BASE}/enrolments", params={"household_id": approved["household_id"]}, headers=county)
    [enrolment] = r.json()["items"]
    assert enrolment["start_month"] == "2027-01"
    clock.set("2027-01-05")
    r = await client.post(f"{BASE}/payments:run", params={"period": "2027-01"}, headers=county)
    assert r.status_code == 200, r.text
    assert r.json()["ordered"] == 1
    r = await client.post(f"{BASE}/payments:run", params={"period": "2027-01"}, headers=township)
    assert r.status_code == 403

    events = await collect_events(
        settings.resolved_nats_url(), "fangfan.social_assistance.payment_ordered.>", count=1, timeout=10
    )
    [ev] = events
    assert ev["subject"] == approved["household_id"]
    assert ev["data"]["inputs"]["per_capita_income_annual"] == "3000.00"
    assert ev["data"]["inputs"]["minors"] == 1
    assert ev["data"]["approved_by"] == "county-chief"
    assert head not in json.dumps(ev)
    r = await client.get(f"{BASE}/payments", params={"period": "2027-01"}, headers=county)
    [order] = r.json()["items"]
    assert order["payment_id"] == ev["data"]["payment_id"]
    assert order["status"] == "ordered"
    return {"order": order, "county": county}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def test_a_dibao_application_through_the_gateway_to_a_payment_order(
    system: tuple[httpx.AsyncClient, Settings, Clock], receiver: Receiver
) -> None:
    client, settings, clock = system
    dept = auth(settings, "department", COUNTY, dept="minzheng", sub="dept-minzheng")
    secret = await subscribe(client, dept, receiver.url, ["social_assistance.*"], COUNTY)
    walked = await _walk_to_payment(client, settings, clock)

    # the county's department got every step, signed (Standard Webhooks), with no ID number
    got = await receiver.wait_for(8)
    verified = [Webhook(secret).verify(g.body, g.headers) for g in got]
    steps = [(v["type"].split(".")[3], v["data"].get("to")) for v in sorted(verified, key=lambda v: v["time"])]
    assert steps == [
        ("application_submitted", None),
        ("application_status_changed", "economic_check"),
        ("application_status_changed", "township_review"),
        ("application_status_changed", "public_notice"),
        ("application_status_changed", "county_review"),
        ("application_status_changed", "approved"),
        ("enrolled", None),
        ("payment_ordered", None),
    ]
    assert {v["subject"] for v in verified} == {walked["order"]["household_id"]}
    head = id_number("19800101", "011")
    assert all(head not in g.body.decode() for g in got)


async def test_subsidy_records_the_dibao_payment_exact_to_the_fen(
    system: tuple[httpx.AsyncClient, Settings, Clock],
) -> None:
    client, settings, clock = system
    walked = await _walk_to_payment(client, settings, clock)
    payment_id = walked["order"]["payment_id"]
    # (4,800 − 3,000) × 3 members = 5,400 a year, + 10 % of 4,800 for the minor = 480 → 5,880 / 12 = 490.00
    for _ in range(100):
        r = await client.get(f"{BASE}/payments", params={"period": "2027-01"}, headers=walked["county"])
        order = next(o for o in r.json()["items"] if o["payment_id"] == payment_id)
        if order["status"] == "recorded":
            break
        await asyncio.sleep(0.1)
    assert order["status"] == "recorded"
    assert order["amount"] == "490.00"
    r = await client.get(f"/api/v1/subsidies/decisions/{order['decision_id']}", headers=walked["county"])
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == "490.00"
    assert r.json()["funding_source"] == "dibao_fund"


async def test_a_recheck_starts_the_gradual_exit_paid_month_by_month_through_the_gateway(
    system: tuple[httpx.AsyncClient, Settings, Clock],
) -> None:
    client, settings, clock = system
    walked = await _walk_to_payment(client, settings, clock)
    county = walked["county"]
    household = walked["order"]["household_id"]
    r = await client.get(f"{BASE}/enrolments", params={"household_id": household}, headers=county)
    [enrolment] = r.json()["items"]
    # income rises above the standard at the re-check: 12 months of 渐退期 (Linquan), paid as before
    clock.set("2027-01-20")
    r = await client.post(
        f"{BASE}/enrolments/{enrolment['id']}/rechecks", json={"per_capita_income_annual": "5200"}, headers=county
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["last_month"]) == ("gradual_exit", "2028-01")
    r = await client.post(
        f"{BASE}/enrolments/{enrolment['id']}/rechecks",
        json={"per_capita_income_annual": "5200"},
        headers=auth(settings, "county", "341222"),
    )
    assert r.status_code == 404  # another county's enrolment
    clock.set("2027-02-03")
    r = await client.post(f"{BASE}/payments:run", params={"period": "2027-02"}, headers=county)
    assert r.json()["ordered"] == 1
    events = await collect_events(
        settings.resolved_nats_url(), "fangfan.social_assistance.payment_ordered.>", count=2, timeout=10
    )
    feb = events[1]["data"]
    assert (feb["period"], feb["inputs"]["phase"], feb["inputs"]["per_capita_income_annual"]) == (
        "2027-02",
        "gradual_exit",
        "3000.00",
    )
    for _ in range(100):  # subsidy records it at the amount of the benefit before the exit, to the fen
        r = await client.get(f"{BASE}/payments", params={"period": "2027-02"}, headers=county)
        [order] = r.json()["items"]
        if order["status"] == "recorded":
            break
        await asyncio.sleep(0.1)
    assert (order["status"], order["amount"]) == ("recorded", "490.00")
