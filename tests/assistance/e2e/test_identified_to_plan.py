"""End to end over real NATS: identification's `household.identified` event, published exactly
as its outbox relay does (CloudEvent from shared.events, `Nats-Msg-Id` = event id), becomes
within seconds a plan with recommended measures and a contact person; published again (the
relay re-sending after a crash, and a copy past JetStream's duplicate window) → still one plan.
Bad input answers 422/409 as problem+json."""

from __future__ import annotations

import asyncio
import time
import uuid

import nats

from shared.events import Event, encode_event
from tests.assistance.integration.conftest import OTHER_VILLAGE, TOWNSHIP, VILLAGE, Service
from tests.helpers import collect_events

__all__ = ["Service"]


async def test_identified_event_becomes_one_plan(service: Service) -> None:
    contact = await service.add_contact(name="周九")
    hid = f"hh-{uuid.uuid4().hex[:10]}"
    event = Event(
        "household",
        "identified",
        hid,
        VILLAGE,
        {
            "household_id": hid,
            "case_id": f"case-{hid}",
            "category": "unstable_escaped",
            "risk_types": ["illness", "unstable_employment"],
            "has_labor_capacity": True,
            "labor_capable_members": 2,
            "self_farming": False,
            "identified_on": "2024-03-04",
        },
        source="identification",
    )
    subject, payload = encode_event(event)
    assert subject == "fangfan.household.identified.34.3412.341221.341221001.341221001201"
    nc = await nats.connect(service.nats_url)
    try:
        js = nc.jetstream()
        started = time.monotonic()
        await js.publish(subject, payload, headers={"Nats-Msg-Id": event.id})
        plan = await service.wait_plan(hid, timeout=5)
        assert time.monotonic() - started < 5
        assert plan["household_id"] == hid
        assert plan["status"] == "open"
        assert plan["due_date"] == "2024-03-14"
        assert [(m["type"], m["department"], m["status"]) for m in plan["measures"]] == [
            ("employment", "hrss", "proposed"),
            ("medical", "medical_insurance", "proposed"),
        ]
        assert plan["contact_person"]["id"] == contact

        # The relay re-publishes after a crash (same message id: JetStream drops it) and a copy
        # arrives after the duplicate window (new message id: the inbox absorbs it).
        ack = await js.publish(subject, payload, headers={"Nats-Msg-Id": event.id})
        assert ack.duplicate
        await js.publish(subject, payload, headers={"Nats-Msg-Id": f"late-{event.id}"})
        await asyncio.sleep(1.5)
    finally:
        await nc.close()
    plans = await service.plans_of(hid)
    assert len(plans) == 1
    assert len(plans[0]["measures"]) == 2
    created = await collect_events(service.nats_url, "fangfan.assistance.plan_created.>", count=2, timeout=3)
    assert [e["data"]["household_id"] for e in created] == [hid]


async def test_bad_input(service: Service) -> None:
    far = await service.add_contact(region=OTHER_VILLAGE)
    plan = await service.identified_plan()
    problem = "application/problem+json"
    r = await service.client.post(
        "/api/v1/visits",
        json={"household_id": plan["household_id"], "visited_on": "2099-01-01", "findings": "x"},
        headers=service.headers(),
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(problem)
    r = await service.client.post(
        f"/api/v1/plans/{plan['id']}/measures", json={"type": "magic_beans", "reason": "x"}, headers=service.headers()
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(problem)
    r = await service.client.post(
        f"/api/v1/plans/{plan['id']}/contact",
        json={"contact_id": far, "reason": "x"},
        headers=service.headers("township", TOWNSHIP),
    )
    assert r.status_code == 409
    assert r.headers["content-type"].startswith(problem)
    assert r.json()["code"] == "contact_other_village"
