"""An appeal end to end through the real gateway, in front of the real identification, civil
affairs and notification services (uvicorn on loopback, each its own database, one NATS):
a citizen's self-application is rejected by the township; the citizen appeals through the
gateway (civil affairs asks identification over HTTP, with the citizen's own principal, whether
the citizen may); the county reviews and overturns it; the county's `appeal.*` webhook receives
the signed `appeal.decided` and the citizen finds the outcome in their inbox."""

from __future__ import annotations

import contextlib
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
from services.identification.main import create_app as identification_app
from services.notification.main import create_app as notification_app
from shared.nats import NatsServer, free_port
from shared.settings import SERVICES
from tests.civil_affairs.integration.grievance_world import database
from tests.gateway.conftest import serve
from tests.helpers import auth, make_settings
from tests.identification.integration.test_cases_support import application, household, id_number
from tests.notification.integration.conftest import fast
from tests.notification.integration.support import Receiver, eventually, subscribe

VILLAGE = "341221001201"
TOWNSHIP = "341221001"
COUNTY = "341221"


@pytest.fixture
async def system(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    async with contextlib.AsyncExitStack() as stack:
        urls: dict[str, str] = {}
        apps: dict[str, Any] = {}
        factories = {
            "identification": identification_app,
            "civil_affairs": civil_affairs_app,
            "notification": lambda s: notification_app(s, fast()),
        }
        settings = None
        for name, factory in factories.items():
            db = await stack.enter_async_context(database(tmp_path, name))
            s = make_settings(tmp_path / name, nats_url=nats_server.url, database_url=db)
            settings = settings or s
            apps[name] = factory(s)
            urls[name] = await stack.enter_async_context(serve(apps[name]))
        apps["civil_affairs"].state.ctx.extras.identification_url = urls["identification"]
        gw_settings = make_settings(
            tmp_path, nats_url=nats_server.url, database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        )
        upstreams = {s: urls.get(s, f"http://127.0.0.1:{free_port()}") for s in SERVICES}
        gw = await stack.enter_async_context(serve(gateway_app(gw_settings, GatewayConfig(upstreams=upstreams))))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=gw, timeout=30))
        yield client, gw_settings


async def test_a_rejected_applicant_appeals_and_the_county_overturns(
    system: tuple[httpx.AsyncClient, Any], receiver: Receiver
) -> None:
    client, settings = system
    county = auth(settings, "county", COUNTY, sub="minzheng-county")
    dept = auth(settings, "department", COUNTY, dept="minzheng", sub="dept-minzheng")
    secret = await subscribe(client, dept, receiver.url, ["appeal.*"], COUNTY)

    me = id_number()
    citizen = auth(settings, "citizen", "34", sub=me)
    r = await client.post(
        "/api/v1/applications",
        json=application(VILLAGE, household=household([me, id_number("19820202")])),
        headers={**citizen, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    app = r.json()
    r = await client.post(
        f"/api/v1/cases/{app['case_id']}/transitions",
        json={"action": "reject", "reason": "收入高于监测范围"},
        headers=auth(settings, "township", TOWNSHIP),
    )
    assert r.status_code == 200, r.text

    body = {
        "subject": {"kind": "identification_application", "id": app["id"]},
        "household_id": app["household_id"],
        "region_code": VILLAGE,
        "grounds": "医疗支出未扣除，收入算高了",
    }
    stranger = auth(settings, "citizen", "34", sub=id_number("19900909"))
    r = await client.post("/api/v1/appeals", json=body, headers=stranger)
    assert r.status_code == 404, r.text
    r = await client.post("/api/v1/appeals", json=body, headers=dept)
    assert r.status_code == 403, r.text
    r = await client.post("/api/v1/appeals", json=body, headers=citizen)
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert (appeal["review_level"], appeal["review_region"], appeal["state"]) == ("county", COUNTY, "received")

    for step in (
        {"action": "start_review"},
        {"action": "decide", "outcome": "overturned", "reason": "医疗支出应扣除，退回重新认定"},
    ):
        r = await client.post(f"/api/v1/appeals/{appeal['id']}/transitions", json=step, headers=county)
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "overturned"
    r = await client.get(f"/api/v1/appeals/{appeal['id']}", headers=citizen)
    assert (r.status_code, r.json()["outcome"]) == (200, "overturned")

    got = await receiver.wait_for(3)
    verified = [Webhook(secret).verify(g.body, g.headers) for g in got]
    assert [v["type"] for v in verified] == [
        "cn.fangfan.appeal.received.v1",
        "cn.fangfan.appeal.review_started.v1",
        "cn.fangfan.appeal.decided.v1",
    ]
    decided = verified[2]
    assert decided["subject"] == appeal["id"]
    assert (decided["data"]["outcome"], decided["data"]["reason"]) == ("overturned", "医疗支出应扣除，退回重新认定")
    assert me not in got[2].body.decode()

    async def outcome_in_inbox() -> list[dict[str, Any]]:
        r = await client.get("/api/v1/inbox", headers=citizen)
        assert r.status_code == 200, r.text
        return [i for i in r.json()["items"] if i["kind"] == "appeal_decided"]

    [item] = await eventually(outcome_in_inbox)
    assert item["body"] == "您的申诉已办结，复核结果：撤销原决定。"
    assert item["data"]["appeal_id"] == appeal["id"]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def test_a_citizens_complaint_is_answered_and_closed_through_the_gateway(
    system: tuple[httpx.AsyncClient, Any], receiver: Receiver
) -> None:
    client, settings = system
    dept = auth(settings, "department", COUNTY, dept="minzheng", sub="dept-minzheng")
    secret = await subscribe(client, dept, receiver.url, ["complaint.*"], COUNTY)

    me = id_number("19700707")
    citizen = auth(settings, "citizen", "34", sub=me)
    body = {
        "channel": "app",
        "text": "低保金本月未到账，电话13912345678",
        "region_code": VILLAGE,
        "topic": "subsidy_not_paid",
        "contact_phone": "13912345678",
    }
    r = await client.post("/api/v1/complaints", json=body, headers=citizen)
    assert r.status_code == 201, r.text
    c = r.json()
    # subsidy not paid: the county civil-affairs bureau answers, within 10 working days
    assert (c["responsible_level"], c["responsible_region"], c["state"]) == ("county", COUNTY, "received")
    assert c["contact_phone"] == "139****5678"
    assert "13912345678" not in r.text
    county = auth(settings, "county", COUNTY, sub="county-desk")
    township = auth(settings, "township", TOWNSHIP)
    url = f"/api/v1/complaints/{c['id']}/transitions"
    r = await client.post(url, json={"action": "acknowledge"}, headers=township)
    assert r.status_code in (403, 404, 409), r.text  # not the township's to handle
    for step in ({"action": "acknowledge"}, {"action": "reply", "note": "已核实，12月5日补发"}):
        r = await client.post(url, json=step, headers=county)
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "replied"
    r = await client.post(url, json={"action": "close", "satisfaction": "satisfied"}, headers=citizen)
    assert (r.status_code, r.json()["state"]) == (200, "closed"), r.text

    got = await receiver.wait_for(5)
    verified = [Webhook(secret).verify(g.body, g.headers) for g in got]
    assert [v["type"] for v in verified] == [
        "cn.fangfan.complaint.received.v1",
        "cn.fangfan.complaint.routed.v1",
        "cn.fangfan.complaint.acknowledged.v1",
        "cn.fangfan.complaint.replied.v1",
        "cn.fangfan.complaint.closed.v1",
    ]
    assert verified[4]["data"]["satisfaction"] == "satisfied"
    assert all("13912345678" not in g.body.decode() and me not in g.body.decode() for g in got)

    async def told() -> list[str]:
        r = await client.get("/api/v1/inbox", headers=citizen)
        assert r.status_code == 200, r.text
        kinds = [i["kind"] for i in r.json()["items"]]
        return kinds if "complaint_closed" in kinds else []

    kinds = await eventually(told)
    assert {"complaint_received", "complaint_replied", "complaint_closed"} <= set(kinds)
