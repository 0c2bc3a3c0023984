"""The department hears how its lead was resolved, end to end over real NATS: a department signal
about an unknown person becomes a lead in identification; a village officer matches it to a
household; identification's outbox relay publishes `signal.lead_resolved`; notification fans it
out to the department's webhook subscription (`signal.*`, within region), which receives one
correctly signed delivery — exactly once, also after the notification service is stopped and
started again — and no ID number in it. A subscription of another county gets nothing; the
department account that sent the signal finds the outcome in its inbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
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
    tmp_path: Path, nats_server: NatsServer, receiver: Receiver, app_factory: object
) -> None:
    other_county = await Receiver().start()
    async with (
        _database(tmp_path, "identification") as iden_db,
        _database(tmp_path, "notification") as noti_db,
    ):
        iden_settings = make_settings(tmp_path, nats_url=nats_server.url, database_url=iden_db)
        noti_settings = make_settings(tmp_path, nats_url=nats_server.url, database_url=noti_db)
        await _resolve_and_receive(iden_settings, noti_settings, receiver, other_county, app_factory)
        first_id = receiver.requests[0].headers["webhook-id"]
        # the notification service is stopped and started again: nothing is sent a second time
        async with running_app(app_factory(), noti_settings):  # type: ignore[operator]
            await asyncio.sleep(1.5)
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["webhook-id"] == first_id
    assert other_county.requests == []
    await other_county.stop()


async def _resolve_and_receive(
    iden_settings: Settings, noti_settings: Settings, receiver: Receiver, other_county: Receiver, app_factory: Any
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        iden = await stack.enter_async_context(running_app(identification_app, iden_settings))
        notification_app = app_factory()
        noti = await stack.enter_async_context(running_app(notification_app, noti_settings))

        dept = auth(noti_settings, "department", COUNTY, dept="canlian", sub="dept-canlian")
        r = await noti.post(
            "/api/v1/subscriptions",
            json={"url": receiver.url, "event_types": ["signal.*"], "region": COUNTY},
            headers=dept,
        )
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        r = await noti.post(
            "/api/v1/subscriptions",
            json={"url": other_county.url, "event_types": ["*"], "region": "341222"},
            headers=auth(noti_settings, "department", "341222", dept="canlian", sub="dept-other"),
        )
        assert r.status_code == 201, r.text

        village = auth(iden_settings, "village", VILLAGE)
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
            headers=auth(iden_settings, "department", COUNTY, dept="canlian", sub="dept-canlian"),
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

        [got] = await receiver.wait_for(1)
        verified = Webhook(secret).verify(got.body, got.headers)
        assert verified["type"] == "cn.fangfan.signal.lead_resolved.v1"
        assert verified["region"] == VILLAGE
        assert verified["subject"] == lead_id
        data = verified["data"]
        assert data["lead_id"] == lead_id
        assert data["signal_id"] == "canlian-2024-0001"
        assert data["source_dept"] == "canlian"
        assert data["outcome"] == "matched"
        assert data["household_id"] == household_id
        assert stranger not in got.body.decode()
        assert json.loads(got.body)["id"] == got.headers["webhook-id"]

        # the department account that sent the signal finds it in its inbox; another does not
        async def inbox(headers: dict[str, str]) -> list[dict[str, Any]]:
            r = await noti.get("/api/v1/inbox", headers=headers)
            assert r.status_code == 200, r.text
            return [i for i in r.json()["items"] if i["kind"] == "lead_resolved"]

        sender = auth(noti_settings, "department", COUNTY, dept="canlian", sub="dept-canlian")
        [item] = await eventually(lambda: inbox(sender))
        assert item["data"]["lead_id"] == lead_id
        assert item["data"]["outcome"] == "matched"
        assert await inbox(auth(noti_settings, "department", COUNTY, dept="minzheng", sub="dept-minzheng")) == []
