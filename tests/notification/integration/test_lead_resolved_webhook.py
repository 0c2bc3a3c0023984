"""The department hears how its lead was resolved, end to end over real NATS: a department signal
about an unknown person becomes a lead in identification; the notification service is stopped
(its consumers killed); a village officer matches the lead to a household; identification's
outbox relay publishes `signal.lead_resolved`; notification, started again, fans it out to the
department's webhook subscription (`signal.*`, within region), which receives one correctly
signed delivery — exactly once, also after a second restart — and no ID number in it. A
subscription of another county gets nothing; the department account that sent the signal finds
the outcome in its inbox."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

from services.identification.main import create_app as identification_app
from shared.nats import NatsServer
from shared.settings import Settings
from tests.conftest import TEST_DB, create_pg_database, drop_pg_database
from tests.helpers import auth, make_settings, running_app
from tests.identification.integration.test_cases_support import application, id_number
from tests.notification.integration.support import Receiver, eventually

VILLAGE = "341221001201"
COUNTY = "341221"


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


async def test_department_webhook_gets_the_lead_resolution_once(
    tmp_path: Path, nats_server: NatsServer, receiver: Receiver, app_factory: Any
) -> None:
    other_county = await Receiver().start()
    async with (
        _database(tmp_path, "identification") as iden_db,
        _database(tmp_path, "notification") as noti_db,
    ):
        iden_settings = make_settings(tmp_path, nats_url=nats_server.url, database_url=iden_db)
        noti_settings = make_settings(tmp_path, nats_url=nats_server.url, database_url=noti_db)
        async with running_app(identification_app, iden_settings) as iden:
            async with running_app(app_factory(), noti_settings) as noti:
                secret = await _subscribe(noti, noti_settings, receiver, other_county)
            # notification is down: the event waits in the stream for its durable consumers
            household_id, lead_id, stranger = await _lead_matched(iden, iden_settings)
            await asyncio.sleep(0.5)  # the relay has published it by now (nobody consumes)
            assert receiver.requests == []
            async with running_app(app_factory(), noti_settings) as noti:
                [got] = await receiver.wait_for(1)
                await _check_inbox(noti, noti_settings, lead_id)
        verified = Webhook(secret).verify(got.body, got.headers)
        assert verified["type"] == "cn.fangfan.signal.lead_resolved.v1"
        assert verified["region"] == VILLAGE
        assert verified["subject"] == lead_id
        assert verified["id"] == got.headers["webhook-id"]
        data = verified["data"]
        assert data["lead_id"] == lead_id
        assert data["signal_id"] == "canlian-2024-0001"
        assert data["source_dept"] == "canlian"
        assert data["outcome"] == "matched"
        assert data["household_id"] == household_id
        assert stranger not in got.body.decode()
        # started once more: nothing is sent a second time
        async with running_app(app_factory(), noti_settings):
            await asyncio.sleep(1.5)
    assert len(receiver.requests) == 1
    assert other_county.requests == []
    await other_county.stop()


async def _subscribe(noti: Any, settings: Settings, receiver: Receiver, other_county: Receiver) -> str:
    dept = auth(settings, "department", COUNTY, dept="canlian", sub="dept-canlian")
    r = await noti.post(
        "/api/v1/subscriptions",
        json={"url": receiver.url, "event_types": ["signal.*"], "region": COUNTY},
        headers=dept,
    )
    assert r.status_code == 201, r.text
    other = auth(settings, "department", "341222", dept="canlian", sub="dept-other")
    r2 = await noti.post(
        "/api/v1/subscriptions", json={"url": other_county.url, "event_types": ["*"], "region": "341222"}, headers=other
    )
    assert r2.status_code == 201, r2.text
    return str(r.json()["secret"])


async def _lead_matched(iden: Any, settings: Settings) -> tuple[str, str, str]:
    village = auth(settings, "village", VILLAGE)
    r = await iden.post(
        "/api/v1/applications", json=application(VILLAGE), headers={**village, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert r.status_code == 201, r.text
    household_id = r.json()["household_id"]
    stranger = id_number("19700101")
    signal = {
        "source_dept": "canlian",
        "signal_id": "canlian-2024-0001",
        "kind": "disability_certificate",
        "id_number": stranger,
        "region_code": VILLAGE,
        "observed_at": "2024-03-01T08:00:00+08:00",
    }
    r = await iden.post(
        "/api/v1/signals",
        json=signal,
        headers=auth(settings, "department", COUNTY, dept="canlian", sub="dept-canlian"),
    )
    assert r.status_code == 200, r.text
    [outcome] = r.json()["outcomes"]
    assert outcome["outcome"] == "lead"
    lead_id = outcome["lead_id"]
    r = await iden.post(
        f"/api/v1/signals/leads/{lead_id}/resolve",
        json={"action": "match", "household_id": household_id},
        headers=village,
    )
    assert r.status_code == 200, r.text
    return household_id, lead_id, stranger


async def _check_inbox(noti: Any, settings: Settings, lead_id: str) -> None:
    """The department account that sent the signal finds the outcome in its inbox; another not."""

    async def inbox(headers: dict[str, str]) -> list[dict[str, Any]]:
        r = await noti.get("/api/v1/inbox", headers=headers)
        assert r.status_code == 200, r.text
        return [i for i in r.json()["items"] if i["kind"] == "lead_resolved"]

    sender = auth(settings, "department", COUNTY, dept="canlian", sub="dept-canlian")
    [item] = await eventually(lambda: inbox(sender))
    assert item["data"]["lead_id"] == lead_id
    assert item["data"]["outcome"] == "matched"
    assert await inbox(auth(settings, "department", COUNTY, dept="minzheng", sub="dept-minzheng")) == []
