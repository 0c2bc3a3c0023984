"""The in-app inbox and SMS: a citizen hears about their application (routed by the applicant's
blind index carried by `application.submitted`), officers by role within their region, contact
persons about new plans; read marks and unread counts; SMS through a real loopback gateway with
the number decrypted only to send, never logged, and a per-phone hourly limit."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from services.notification.application.common import subject_hash
from shared.events import Event
from shared.pii import FieldCipher
from shared.settings import Settings
from tests.helpers import auth, running_app
from tests.notification.integration.conftest import fast
from tests.notification.integration.support import (
    COUNTY,
    OTHER_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    Receiver,
    case_event,
    eventually,
    publish,
)

CITIZEN = "341221199001011237"  # a citizen's token subject is their resident ID number
PHONE = "13812345678"


def cipher(settings: Settings) -> FieldCipher:
    return FieldCipher(settings.pii_key_bytes(), settings.pii_index_key_bytes())


def submitted(settings: Settings, case_id: str = "case-1") -> Event:
    return Event(
        "application",
        "submitted",
        "hh-1",
        VILLAGE,
        {
            "application_id": "app-1",
            "case_id": case_id,
            "household_id": "hh-1",
            "urgent": False,
            "applicant_sub_hash": subject_hash(cipher(settings), "citizen", CITIZEN),
        },
        source="identification",
    )


async def inbox(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await client.get("/api/v1/inbox", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_citizen_and_officers_get_their_items(client: httpx.AsyncClient, settings: Settings) -> None:
    me = auth(settings, "citizen", VILLAGE, sub=CITIZEN)
    await publish(
        settings.resolved_nats_url(),
        submitted(settings),
        case_event("case-1", "verification", "submitted"),
        case_event("case-1", "village_review", "verification"),
        case_event("case-1", "public_notice", "village_review", notice_ends_on="2099-03-10"),
    )

    async def four() -> dict[str, Any] | None:
        got = await inbox(client, me)
        return got if got["total"] == 4 else None

    mine = await eventually(four)
    assert [i["kind"] for i in mine["items"]][::-1] == ["application_submitted"] + ["application_status"] * 3
    assert "「村级民主评议」变更为「公示」" in mine["items"][0]["body"]
    assert mine["unread"] == 4
    # officers: the village and the township above it see the public notice; another village does not
    for role, region in (("village", VILLAGE), ("township", TOWNSHIP)):
        items = (await inbox(client, auth(settings, role, region)))["items"]
        assert [i["kind"] for i in items] == ["public_notice_started"], (role, items)
        assert "2099-03-10" in items[0]["body"]
    assert (await inbox(client, auth(settings, "village", OTHER_VILLAGE)))["items"] == []
    assert (await inbox(client, auth(settings, "county", COUNTY)))["items"] == []  # not addressed to county
    assert (await inbox(client, auth(settings, "citizen", VILLAGE, sub="341221199001011253")))["items"] == []
    # read marks are per reader
    first = mine["items"][0]["id"]
    r = await client.post(f"/api/v1/inbox/{first}/read", headers=me)
    assert r.status_code == 200
    assert r.json()["read"] is True
    assert (await client.post(f"/api/v1/inbox/{first}/read", headers=me)).status_code == 200  # idempotent
    assert (await client.get("/api/v1/inbox/unread-count", headers=me)).json() == {"unread": 3}
    assert (await inbox(client, me, unread="true"))["total"] == 3
    other = auth(settings, "citizen", VILLAGE, sub="341221199001011253")
    assert (await client.post(f"/api/v1/inbox/{first}/read", headers=other)).status_code == 404
    village_item = (await inbox(client, auth(settings, "village", VILLAGE)))["items"][0]["id"]
    await client.post(f"/api/v1/inbox/{village_item}/read", headers=auth(settings, "village", VILLAGE))
    assert (await client.get("/api/v1/inbox/unread-count", headers=auth(settings, "township", TOWNSHIP))).json() == {
        "unread": 1
    }
    page = await inbox(client, me, limit=2, offset=2)
    assert len(page["items"]) == 2
    assert page["total"] == 4


async def test_contact_person_gets_new_plan(client: httpx.AsyncClient, settings: Settings) -> None:
    plan = Event(
        "assistance",
        "plan_created",
        "hh-1",
        VILLAGE,
        {"plan_id": "plan-1", "household_id": "hh-1", "due_date": "2099-01-10", "contact_person_ref": "contact-7"},
    )
    await publish(settings.resolved_nats_url(), plan)
    contact = auth(settings, "contact", VILLAGE, sub="contact-7")

    async def got() -> list[Any]:
        return (await inbox(client, contact))["items"]

    [item] = await eventually(got)
    assert item["kind"] == "plan_created"
    assert "2099-01-10" in item["body"]
    assert item["data"] == {"plan_id": "plan-1", "household_id": "hh-1"}


async def test_sms_sent_decrypted_only_to_send_rate_limited_never_logged(
    settings: Settings, app_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await Receiver().start()
    ns = fast(
        sms_provider_url=f"http://127.0.0.1:{gateway.port}/sms",
        sms_body_template='{"mobile": "$phone", "content": "$text", "sign": "防返"}',
        sms_headers='{"x-api-key": "k"}',
        sms_rate_limit_per_hour=2,
    )
    caplog.set_level(logging.DEBUG)
    me = auth(settings, "citizen", VILLAGE, sub=CITIZEN)
    try:
        async with running_app(app_factory(ns), settings) as client:
            r = await client.put("/api/v1/inbox/sms", json={"phone": PHONE}, headers=me)
            assert r.status_code == 200
            assert r.json()["phone"] == "138****5678"
            assert (await client.get("/api/v1/inbox/sms", headers=me)).json()["phone"] == "138****5678"
            r = await client.put("/api/v1/inbox/sms", json={"phone": "12345"}, headers=me)
            assert r.status_code == 422
            await publish(
                settings.resolved_nats_url(),
                submitted(settings),
                case_event("case-1", "verification", "submitted"),
                case_event("case-1", "village_review", "verification"),
            )
            got = await gateway.wait_for(2)
            await eventually(lambda: _sms_states(client, settings), timeout=10)
        first = json.loads(got[0].body)
        assert first["mobile"] == PHONE
        assert first["sign"] == "防返"
        assert first["content"].startswith("【防返】申请已受理")
        assert got[0].headers["x-api-key"] == "k"
        assert len(gateway.requests) == 2  # the third is over the hourly limit of 2
    finally:
        await gateway.stop()
    logged = "\n".join(r.getMessage() + json.dumps(getattr(r, "__dict__", {}), default=str) for r in caplog.records)
    assert PHONE not in logged
    assert CITIZEN not in logged


async def _sms_states(client: httpx.AsyncClient, settings: Settings) -> bool:
    import sqlalchemy as sa

    from services.notification.adapters.orm import sms_messages

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.sessions() as s:
        states = sorted((await s.execute(sa.select(sms_messages.c.status))).scalars())
        rows = (await s.execute(sa.select(sms_messages))).all()
    assert all(PHONE not in (r.text + (r.error or "")) for r in rows)
    return states == ["rate_limited", "sent", "sent"]
