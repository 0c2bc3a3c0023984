"""Visit reminders for contact persons: `assistance.visit_scheduled` (addressed by
`contact_person_sub_hash`) becomes a durable reminder in the contact person's inbox, fired once;
`visit_recorded` cancels it for good — a late or redelivered `visit_scheduled` (or one overtaken
by the recording after a retry) does not bring it back; a reassignment moves it to the new
contact person. Then the whole chain with the real assistance service on the same NATS server."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.assistance.main import create_app as create_assistance
from services.notification.adapters.orm import reminders
from services.notification.application.common import subject_hash
from shared.events import Event
from shared.nats import NatsServer
from shared.pii import FieldCipher
from shared.settings import Settings
from tests.conftest import TEST_DB, create_pg_database, drop_pg_database
from tests.helpers import auth, make_settings, running_app
from tests.notification.integration.conftest import fast
from tests.notification.integration.support import VILLAGE, eventually, publish


def days(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


def cipher(settings: Settings) -> FieldCipher:
    return FieldCipher(settings.pii_key_bytes(), settings.pii_index_key_bytes())


def visit_event(name: str, settings: Settings, visit_id: str, *, contact: str | None = None, **data: Any) -> Event:
    body: dict[str, Any] = {"visit_id": visit_id, "plan_id": "plan-1", "household_id": "hh-1", "region_code": VILLAGE}
    if contact is not None:
        body["contact_person_sub_hash"] = subject_hash(cipher(settings), "contact", contact)
    body.update(data)
    return Event("assistance", name, "hh-1", VILLAGE, body, source="assistance")


async def _reminder(client: httpx.AsyncClient, ref_id: str) -> Any:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.sessions() as s:
        q = sa.select(reminders).where(reminders.c.kind == "visit_due", reminders.c.ref_id == ref_id)
        return (await s.execute(q)).first()


async def _inbox(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return list((await client.get("/api/v1/inbox", headers=headers)).json()["items"])


async def test_visit_reminder_fires_once_in_the_contact_persons_inbox(settings: Settings, app_factory: Any) -> None:
    url = settings.resolved_nats_url()
    due = days(2)  # lead time 3 days: due now
    async with running_app(app_factory(), settings) as client:
        await publish(url, visit_event("visit_scheduled", settings, "v-1", contact="contact-7", due_date=due))
        me = auth(settings, "contact", VILLAGE, sub="contact-7")
        [item] = await eventually(lambda: _inbox(client, me))
        assert item["kind"] == "reminder.visit_due"
        assert due in item["body"]
        assert item["data"]["visit_id"] == "v-1"
        village = await _inbox(client, auth(settings, "village", VILLAGE))
        assert [i["kind"] for i in village] == ["reminder.visit_due"]
        # another contact person sees nothing
        assert await _inbox(client, auth(settings, "contact", VILLAGE, sub="contact-8")) == []
        # the same event again (a copy with another message id) and a later recording: fired once
        copy = visit_event("visit_scheduled", settings, "v-1", contact="contact-7", due_date=due)
        recorded = visit_event("visit_recorded", settings, "v-1", visited_on=days(0))
        await publish(url, copy, recorded)
        await eventually(lambda: _handled(client, recorded.id))
        row = await _reminder(client, "v-1")
        assert row.fired_at is not None
        assert len(await _inbox(client, me)) == 1


async def _handled(client: httpx.AsyncClient, event_id: str) -> bool:
    """The people consumer has processed the event (its inbox row is there)."""
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    inbox = ctx.tables["inbox"]
    async with ctx.sessions() as s:
        q = sa.select(inbox.c.consumer).where(inbox.c.event_id == event_id)
        return any("people" in c for c in (await s.execute(q)).scalars())


async def test_recorded_visit_cancels_for_good_and_reassignment_moves_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    url = settings.resolved_nats_url()
    await publish(url, visit_event("visit_scheduled", settings, "v-1", contact="contact-7", due_date=days(30)))
    row = await eventually(lambda: _reminder(client, "v-1"))
    assert row.recipient_hash == subject_hash(cipher(settings), "contact", "contact-7")
    assert row.due_date == dt.date.today() + dt.timedelta(days=30)
    assert row.recipient_roles == ["village"]

    # reassigned: the same visit, the new contact person
    await publish(url, visit_event("visit_scheduled", settings, "v-1", contact="contact-8", due_date=days(30)))

    async def moved() -> bool:
        r = await _reminder(client, "v-1")
        return bool(r.recipient_hash == subject_hash(cipher(settings), "contact", "contact-8"))

    await eventually(moved)

    # recorded: cancelled; a late copy of the announcement does not revive it
    await publish(
        url,
        visit_event("visit_recorded", settings, "v-1", visited_on=days(0)),
        visit_event("visit_scheduled", settings, "v-1", contact="contact-8", due_date=days(30)),
    )

    async def cancelled() -> Any:
        r = await _reminder(client, "v-1")
        return r if r.cancelled_at is not None and r.source_event_id else None

    await eventually(cancelled)

    # the recording overtakes its announcement (a retried event): the reminder is born cancelled
    await publish(
        url,
        visit_event("visit_recorded", settings, "v-2", visited_on=days(0)),
        visit_event("visit_scheduled", settings, "v-2", contact="contact-8", due_date=days(-1)),
        visit_event("visit_scheduled", settings, "v-3", contact="contact-8", due_date=days(40)),
    )
    await eventually(lambda: _reminder(client, "v-3"))
    for ref in ("v-1", "v-2"):
        r = await _reminder(client, ref)
        assert r.cancelled_at is not None
        assert r.fired_at is None
        assert r.cancel_reason == "assistance.visit_recorded"
    assert (await _reminder(client, "v-3")).cancelled_at is None
    pending = (await client.get("/api/v1/reminders", headers=auth(settings, "village", VILLAGE))).json()
    assert [r["ref_id"] for r in pending["items"]] == ["v-3"]
    # nothing fired: v-2 was overdue when announced, but already recorded
    assert await _inbox(client, auth(settings, "contact", VILLAGE, sub="contact-8")) == []


# --- the real chain: assistance → outbox → JetStream → notification ---------------------------


@pytest.fixture
async def assistance_db(tmp_path: Path) -> AsyncIterator[str]:
    """Assistance's own database (a service never reads another's)."""
    if TEST_DB == "postgres":
        name, url = await create_pg_database()
        yield url
        await drop_pg_database(name)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'assistance.db'}"


async def test_assistance_events_reach_the_contact_persons_inbox(
    tmp_path: Path, nats_server: NatsServer, settings: Settings, app_factory: Any, assistance_db: str
) -> None:
    a_settings = make_settings(tmp_path / "assistance", nats_url=nats_server.url, database_url=assistance_db)
    # the scheduler stays off so that the reminders can be looked at before they are due
    async with (
        running_app(create_assistance, a_settings) as assistance,
        running_app(app_factory(fast(reminders_enabled=False)), settings) as notification,
    ):
        officer = auth(a_settings, "township", VILLAGE[:9])
        r = await assistance.post(
            "/api/v1/contacts",
            json={"region_code": VILLAGE, "name": "王小明", "phone": "13812345678", "sub": "wang-xm"},
            headers=officer,
        )
        assert r.status_code == 201, r.text
        hid = f"hh-{uuid.uuid4().hex[:8]}"
        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
        identified = Event(
            "household",
            "identified",
            hid,
            VILLAGE,
            {"household_id": hid, "case_id": f"case-{hid}", "risk_types": ["illness"], "identified_on": str(today)},
            source="identification",
        )
        await publish(nats_server.url, identified)

        me = auth(settings, "contact", VILLAGE, sub="wang-xm")
        [item] = await eventually(lambda: _inbox(notification, me))
        assert item["kind"] == "plan_created"
        assert item["title"] == "新的帮扶计划"

        plans = (await assistance.get("/api/v1/plans", params={"household_id": hid}, headers=officer)).json()["items"]
        plan = plans[0]
        ctx = notification.app.state.ctx  # type: ignore[attr-defined]

        async def visit_reminders() -> list[Any]:
            async with ctx.sessions() as s:
                q = sa.select(reminders).where(reminders.c.kind == "visit_due").order_by(reminders.c.created_at)
                return list((await s.execute(q)).all())

        [first] = await eventually(visit_reminders)
        assert first.due_date.isoformat() == plan["next_visit_due"]
        assert first.recipient_hash == subject_hash(cipher(settings), "contact", "wang-xm")
        assert first.cancelled_at is None

        # the contact person records the visit: that reminder is cancelled, the next one set
        r = await assistance.post(
            "/api/v1/visits",
            json={"household_id": hid, "visited_on": str(today), "findings": "家中情况稳定"},
            headers=auth(a_settings, "contact", VILLAGE, sub="wang-xm"),
        )
        assert r.status_code == 201, r.text
        assert r.json()["id"] == first.ref_id

        async def moved_on() -> list[Any]:
            rows = await visit_reminders()
            return rows if len(rows) == 2 and rows[0].cancelled_at is not None else []

        done, nxt = await eventually(moved_on)
        assert done.ref_id == first.ref_id
        assert done.cancel_reason == "assistance.visit_recorded"
        assert nxt.cancelled_at is None
        assert nxt.due_date.isoformat() == r.json()["next_visit_due"]
        assert nxt.recipient_hash == first.recipient_hash
