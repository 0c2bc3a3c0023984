"""Webhook deliveries end to end: an event published to the stream (as an outbox relay does)
reaches a real loopback receiver, signed so that `standardwebhooks` verifies it; retries keep the
`webhook-id`; a receiver down for the whole retry window ends dead and is replayed on demand;
secret rotation signs with both secrets; order within a household; the SSRF guard again at
delivery time; two replicas send each delivery once; a long-failing subscription is disabled,
its owner told, and re-enabling replays what it missed."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from services.notification.adapters.orm import deliveries
from shared.db import make_engine
from shared.settings import Settings
from tests.helpers import auth, running_app
from tests.notification.integration.conftest import fast
from tests.notification.integration.support import (
    COUNTY,
    OTHER_VILLAGE,
    VILLAGE,
    Receiver,
    eventually,
    publish,
    risk_event,
)

DEPT = {"dept": "minzheng", "sub": "dept-minzheng"}


def dept(settings: Settings) -> dict[str, str]:
    return auth(settings, "department", COUNTY, **DEPT)


async def subscribe(client: httpx.AsyncClient, settings: Settings, url: str, **kw: Any) -> dict[str, Any]:
    payload = {"url": url, "event_types": ["risk.*", "case.status_changed"], "region": COUNTY, **kw}
    r = await client.post("/api/v1/subscriptions", json=payload, headers=dept(settings))
    assert r.status_code == 201, r.text
    return r.json()


async def deliveries_of(client: httpx.AsyncClient, settings: Settings, sub_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/subscriptions/{sub_id}/deliveries", headers=dept(settings))
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_event_reaches_receiver_signed(client: httpx.AsyncClient, settings: Settings, receiver: Receiver) -> None:
    sub = await subscribe(client, settings, receiver.url)
    ev = risk_event()
    elsewhere = risk_event(region=OTHER_VILLAGE)  # outside the subscription's region
    other_type = risk_event().__class__("household", "identified", "hh-9", VILLAGE, {"household_id": "hh-9"})
    await publish(settings.resolved_nats_url(), elsewhere, other_type, ev)
    [got] = await receiver.wait_for(1)
    assert got.headers["webhook-id"] == ev.id
    assert got.headers["Content-Type"] == "application/json"
    assert abs(int(got.headers["webhook-timestamp"]) - dt.datetime.now(dt.UTC).timestamp()) < 60
    verified = Webhook(sub["secret"]).verify(got.body, got.headers)
    assert verified == json.loads(got.body)
    assert verified["id"] == ev.id
    assert verified["type"] == "cn.fangfan.risk.warning_raised.v1"
    assert verified["region"] == VILLAGE
    assert verified["data"]["warning"] == "red"
    [d] = await eventually(lambda: _delivered(client, settings, sub["id"], 1))
    assert d["event_id"] == ev.id
    assert d["status"] == "delivered"
    [a] = d["attempts"]
    assert a["status_code"] == 204
    assert a["outcome"] == "delivered"
    assert a["latency_ms"] >= 0
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1


async def _delivered(client: httpx.AsyncClient, settings: Settings, sub_id: str, n: int) -> list[dict[str, Any]]:
    items = await deliveries_of(client, settings, sub_id)
    done = [d for d in items if d["status"] in ("delivered", "dead")]
    return done if len(done) >= n else []


async def test_fails_three_times_then_delivered_with_same_id(client: httpx.AsyncClient, settings: Settings) -> None:
    receiver = await Receiver(fail_first=3).start()
    try:
        sub = await subscribe(client, settings, receiver.url)
        ev = risk_event()
        await publish(settings.resolved_nats_url(), ev)
        [ok] = await receiver.wait_for(1)
        assert len(receiver.requests) == 4
        assert {r.headers["webhook-id"] for r in receiver.requests} == {ev.id}
        Webhook(sub["secret"]).verify(ok.body, ok.headers)
        [d] = await eventually(lambda: _delivered(client, settings, sub["id"], 1))
        assert d["status"] == "delivered"
        assert d["total_attempts"] == 4
        assert [a["status_code"] for a in d["attempts"]] == [500, 500, 500, 204]
        assert [a["outcome"] for a in d["attempts"]] == ["failed", "failed", "failed", "delivered"]
    finally:
        await receiver.stop()


async def test_down_receiver_dead_letter_then_replay(client: httpx.AsyncClient, settings: Settings) -> None:
    receiver = await Receiver(down=True).start()
    try:
        sub = await subscribe(client, settings, receiver.url)
        ev1, ev2 = risk_event(household="hh-1"), risk_event(household="hh-2")
        await publish(settings.resolved_nats_url(), ev1, ev2)
        dead = await eventually(lambda: _delivered(client, settings, sub["id"], 2))
        assert {d["status"] for d in dead} == {"dead"}
        assert all(d["total_attempts"] == 4 for d in dead)  # 1 + the 3 configured retries
        assert len(receiver.requests) == 8
        receiver.down = False
        # one delivery on demand
        d1 = next(d for d in dead if d["event_id"] == ev1.id)
        r = await client.post(f"/api/v1/deliveries/{d1['id']}/replay", headers=dept(settings))
        assert r.status_code == 200, r.text
        [got] = await receiver.wait_for(1)
        assert got.headers["webhook-id"] == ev1.id
        Webhook(sub["secret"]).verify(got.body, got.headers)
        # replaying a delivered one again is allowed; a pending one is not
        r = await client.post(
            f"/api/v1/deliveries/{d1['id']}/replay", headers=auth(settings, "department", "341222", dept="x")
        )
        assert r.status_code == 404
        # the rest since a time
        since = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
        r = await client.post(
            f"/api/v1/subscriptions/{sub['id']}/replay", params={"since": since}, headers=dept(settings)
        )
        assert r.status_code == 200
        assert r.json()["replayed"] == 1
        got = await receiver.wait_for(2)
        assert got[1].headers["webhook-id"] == ev2.id
        states = await eventually(lambda: _delivered(client, settings, sub["id"], 2))
        assert {d["status"] for d in states} == {"delivered"}
    finally:
        await receiver.stop()


async def test_secret_rotation_signs_with_both(
    client: httpx.AsyncClient, settings: Settings, receiver: Receiver
) -> None:
    sub = await subscribe(client, settings, receiver.url)
    r = await client.post(f"/api/v1/subscriptions/{sub['id']}/rotate-secret", headers=dept(settings))
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != sub["secret"]
    assert new.startswith("whsec_")
    await publish(settings.resolved_nats_url(), risk_event())
    [got] = await receiver.wait_for(1)
    sigs = got.headers["webhook-signature"].split(" ")
    assert len(sigs) == 2
    assert all(s.startswith("v1,") for s in sigs)
    Webhook(new).verify(got.body, got.headers)
    Webhook(sub["secret"]).verify(got.body, got.headers)


async def test_order_kept_within_household_not_across(client: httpx.AsyncClient, settings: Settings) -> None:
    a1, a2, a3 = (risk_event(household="hh-a", seq=i) for i in range(3))
    b1 = risk_event(household="hh-b", seq=0)
    receiver = await Receiver(fail_ids={a1.id: 2}).start()
    try:
        await subscribe(client, settings, receiver.url)
        await publish(settings.resolved_nats_url(), a1, a2, a3, b1)
        got = await receiver.wait_for(4)
        ids = [g.headers["webhook-id"] for g in got]
        assert [i for i in ids if i != b1.id] == [a1.id, a2.id, a3.id]
        assert ids.index(b1.id) < ids.index(a1.id)  # hh-b was not held up by hh-a's retries
    finally:
        await receiver.stop()


async def test_ssrf_checked_again_at_delivery(settings: Settings, app_factory: Any, receiver: Receiver) -> None:
    receiver_by_name = f"http://localhost:{receiver.port}/hook"
    async with running_app(app_factory(), settings) as client:
        sub = await subscribe(client, settings, receiver_by_name)
    closed = settings.model_copy(update={"webhook_allowlist": ""})
    async with running_app(app_factory(), closed) as client:
        await publish(settings.resolved_nats_url(), risk_event())
        [d] = await eventually(lambda: _delivered(client, closed, sub["id"], 1))
        assert d["status"] == "dead"
        assert {a["outcome"] for a in d["attempts"]} == {"refused"}
        assert "loopback" in d["attempts"][0]["error"]
    assert receiver.requests == []


async def test_two_replicas_send_each_delivery_once(settings: Settings, app_factory: Any, receiver: Receiver) -> None:
    events = [risk_event(household=f"hh-{i % 25}", seq=i) for i in range(200)]
    async with running_app(app_factory(), settings) as one, running_app(app_factory(), settings) as two:
        await subscribe(one, settings, receiver.url)
        await subscribe(two, settings, receiver.url)
        await publish(settings.resolved_nats_url(), *events)
        got = await receiver.wait_for(400, timeout=60)
        await asyncio.sleep(0.5)
    per_id: dict[str, int] = {}
    for g in receiver.requests:
        per_id[g.headers["webhook-id"]] = per_id.get(g.headers["webhook-id"], 0) + 1
    assert len(got) == 400
    assert len(receiver.requests) == 400
    assert set(per_id.values()) == {2}  # two subscriptions, once each


async def test_long_failing_subscription_disabled_owner_told_and_replayed_on_enable(
    settings: Settings, app_factory: Any
) -> None:
    receiver = await Receiver(down=True).start()
    ns = fast(webhook_disable_after_s=0.6)
    try:
        async with running_app(app_factory(ns), settings) as client:
            sub = await subscribe(client, settings, receiver.url)
            first = risk_event(household="hh-1")
            await publish(settings.resolved_nats_url(), first)

            async def disabled() -> dict[str, Any] | None:
                r = (await client.get(f"/api/v1/subscriptions/{sub['id']}", headers=dept(settings))).json()
                return r if r["status"] == "disabled" else None

            state = await eventually(disabled)
            assert state["disabled_reason"] == "failing"
            inbox = (await client.get("/api/v1/inbox", headers=dept(settings))).json()
            assert [i["kind"] for i in inbox["items"]] == ["subscription_disabled"]
            assert inbox["items"][0]["data"] == {"subscription_id": sub["id"]}
            # held while disabled
            later = risk_event(household="hh-2")
            await publish(settings.resolved_nats_url(), later)
            await asyncio.sleep(0.5)
            n_before = len(receiver.requests)
            await asyncio.sleep(0.3)
            assert len(receiver.requests) == n_before
            receiver.down = False
            r = await client.post(f"/api/v1/subscriptions/{sub['id']}/enable", headers=dept(settings))
            assert r.status_code == 200
            assert r.json()["status"] == "active"
            assert r.json()["replayed"] == 1
            got = await receiver.wait_for(2)
            assert {g.headers["webhook-id"] for g in got} == {first.id, later.id}
    finally:
        await receiver.stop()


async def test_disable_by_owner_holds_and_enable_sends(
    client: httpx.AsyncClient, settings: Settings, receiver: Receiver
) -> None:
    sub = await subscribe(client, settings, receiver.url)
    r = await client.post(f"/api/v1/subscriptions/{sub['id']}/disable", headers=dept(settings))
    assert r.status_code == 200
    assert r.json()["status"] == "disabled"
    assert r.json()["disabled_reason"] == "by_owner"
    ev = risk_event()
    await publish(settings.resolved_nats_url(), ev)
    engine = make_engine(settings.database_url_for("notification"))
    try:

        async def queued() -> bool:
            async with engine.connect() as conn:
                n = (await conn.execute(sa.select(sa.func.count()).select_from(deliveries))).scalar_one()
                await conn.rollback()
            return n == 1

        await eventually(queued)
    finally:
        await engine.dispose()
    await asyncio.sleep(0.3)
    assert receiver.requests == []
    r = await client.post(f"/api/v1/subscriptions/{sub['id']}/enable", headers=dept(settings))
    assert r.status_code == 200
    [got] = await receiver.wait_for(1)
    assert got.headers["webhook-id"] == ev.id


async def test_fresh_events_need_no_poll(settings: Settings, app_factory: Any, receiver: Receiver) -> None:
    """The fan-out hands fresh rows straight to the dispatcher, and a row held behind an earlier
    event of its household is claimed as soon as that one is recorded — a 60 s poll never runs."""
    a1, a2 = (risk_event(household="hh-a", seq=i) for i in range(2))
    b1 = risk_event(household="hh-b", seq=0)
    async with running_app(app_factory(fast(webhook_poll_s=60.0)), settings) as client:
        sub = await subscribe(client, settings, receiver.url)
        await asyncio.sleep(0.2)  # the claim loop's first (empty) claim is behind us
        await publish(settings.resolved_nats_url(), a1, a2, b1)
        got = await receiver.wait_for(3, timeout=5.0)
        ids = [g.headers["webhook-id"] for g in got]
        assert ids.index(a1.id) < ids.index(a2.id)
        items = await eventually(lambda: _all_delivered(client, settings, sub["id"], 3))
        assert all(len(d["attempts"]) == 1 for d in items)


async def _all_delivered(client: httpx.AsyncClient, settings: Settings, sub_id: str, n: int) -> Any:
    items = await deliveries_of(client, settings, sub_id)
    return items if len(items) == n and all(d["status"] == "delivered" for d in items) else None
