"""Reminders: computed from events, stored, fired once — across a restart of the service on the
same database and with two replicas — as inbox items and a `notification.reminder_fired` event;
cancelled when the thing is done."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import sqlalchemy as sa

from services.notification.adapters.orm import reminders
from shared.settings import Settings
from tests.helpers import auth, collect_events, running_app
from tests.notification.integration.conftest import fast
from tests.notification.integration.support import VILLAGE, case_event, eventually, publish


def days(n: int) -> str:
    return (dt.date.today() + dt.timedelta(days=n)).isoformat()


async def _reminder_rows(client: httpx.AsyncClient) -> list[Any]:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.sessions() as s:
        return list((await s.execute(sa.select(reminders).order_by(reminders.c.kind))).all())


async def test_reminder_survives_restart_and_fires_once(settings: Settings, app_factory: Any) -> None:
    overdue_case = case_event("case-9", "verification", "submitted", deadline=days(-2))
    # first run: consumes the event and stores the reminders, but its scheduler is off
    async with running_app(app_factory(fast(reminders_enabled=False)), settings) as client:
        await publish(settings.resolved_nats_url(), overdue_case)
        rows = await eventually(lambda: _reminder_rows(client))
        assert {r.kind for r in rows} == {"case_deadline_approaching", "case_overdue"}
        assert all(r.fired_at is None for r in rows)
    # restarted on the same database: fires both, once
    async with running_app(app_factory(), settings) as client:

        async def fired() -> list[Any]:
            rows = await _reminder_rows(client)
            return rows if all(r.fired_at is not None for r in rows) else []

        await eventually(fired)
        items = (await client.get("/api/v1/inbox", headers=auth(settings, "village", VILLAGE))).json()["items"]
        assert sorted(i["kind"] for i in items) == ["reminder.case_deadline_approaching", "reminder.case_overdue"]
        assert any(days(-2) in i["body"] for i in items)
        county = (await client.get("/api/v1/inbox", headers=auth(settings, "county", "341221"))).json()["items"]
        assert [i["kind"] for i in county] == ["reminder.case_overdue"]
        listed = (
            await client.get(
                "/api/v1/reminders", params={"pending": "false"}, headers=auth(settings, "county", "341221")
            )
        ).json()
        assert listed["total"] == 2
    # and once more: nothing fires twice
    async with running_app(app_factory(), settings) as client:
        await asyncio.sleep(0.8)
        items = (await client.get("/api/v1/inbox", headers=auth(settings, "village", VILLAGE))).json()["items"]
        assert len(items) == 2
    events = await collect_events(
        settings.resolved_nats_url(), "fangfan.notification.reminder_fired.>", count=3, timeout=3
    )
    assert sorted(e["data"]["kind"] for e in events) == ["case_deadline_approaching", "case_overdue"]
    assert all(e["data"]["ref_id"] == "case-9" for e in events)


async def test_two_replicas_fire_once(settings: Settings, app_factory: Any) -> None:
    events = [
        case_event(f"case-{i}", "verification", "submitted", deadline=days(-1), household=f"hh-{i}") for i in range(20)
    ]
    async with running_app(app_factory(fast(reminders_enabled=False)), settings) as client:
        await publish(settings.resolved_nats_url(), *events)
        await eventually(lambda: _count(client, 40))
    async with running_app(app_factory(), settings) as one, running_app(app_factory(), settings) as two:
        for c in (one, two):
            c.app.state.ctx.extras.reminders.wake()  # type: ignore[attr-defined]

        async def all_fired() -> bool:
            return all(r.fired_at is not None for r in await _reminder_rows(one))

        await eventually(all_fired)
        fired = sum(c.app.state.ctx.extras.reminders.fired for c in (one, two))  # type: ignore[attr-defined]
        assert fired == 40
        items = (
            await one.get("/api/v1/inbox", params={"limit": 200}, headers=auth(settings, "county", "341221"))
        ).json()
        assert items["total"] == 20  # one overdue item per case for the county


async def _count(client: httpx.AsyncClient, n: int) -> bool:
    return len(await _reminder_rows(client)) == n


async def test_cancelled_when_done_and_moved_when_rescheduled(client: httpx.AsyncClient, settings: Settings) -> None:
    url = settings.resolved_nats_url()
    await publish(url, case_event("case-1", "verification", "submitted", deadline=days(30)))
    await publish(
        url, case_event("case-1", "public_notice", "village_review", deadline=days(30), notice_ends_on=days(20))
    )
    await eventually(lambda: _count(client, 3))
    rows = {r.kind: r for r in await _reminder_rows(client)}
    assert rows["public_notice_ending"].due_date == dt.date.today() + dt.timedelta(days=20)
    await publish(url, case_event("case-1", "township_review", "public_notice", deadline=days(30)))

    async def notice_cancelled() -> bool:
        r = {r.kind: r for r in await _reminder_rows(client)}
        return r["public_notice_ending"].cancelled_at is not None

    await eventually(notice_cancelled)
    await publish(url, case_event("case-1", "monitored", "county_review", deadline=days(30)))

    async def all_cancelled() -> bool:
        return all(r.cancelled_at is not None and r.fired_at is None for r in await _reminder_rows(client))

    await eventually(all_cancelled)
    pending = (await client.get("/api/v1/reminders", headers=auth(settings, "county", "341221"))).json()
    assert pending["total"] == 0
