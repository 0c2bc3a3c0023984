"""The reminder scheduler (提醒): fires due reminders once — each in the transaction that sets its
`fired_at`, writes its inbox items and SMS rows and its `notification.reminder_fired` event to
the outbox; replicas claim with `FOR UPDATE SKIP LOCKED` (SQLite: one writer at a time), so a
reminder fires once across replicas and restarts."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from services.notification.adapters.orm import reminders
from services.notification.adapters.unit_of_work import uow_factory, write_notices
from services.notification.domain.routing import Audience, reminder_notice
from shared.app import ServiceContext
from shared.db import utcnow
from shared.events import Event

__all__ = ["ReminderScheduler"]

log = logging.getLogger("fangfan.notification.reminders")


class ReminderScheduler:
    def __init__(
        self, ctx: ServiceContext, *, poll_s: float, sms: bool, wake_sms: Callable[[], None] | None, batch: int = 200
    ) -> None:
        self.ctx = ctx
        self.poll_s = poll_s
        self.sms = sms
        self.wake_sms = wake_sms
        self.batch = batch
        self.fired = 0
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Finish the current step, then return from `run()` (never cancelled mid-transaction)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                while await self.fire_due() == self.batch and not self._stopping:
                    pass
            except Exception as exc:
                log.warning("reminders: %s: %s", type(exc).__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()

    async def fire_due(self) -> int:
        rc = reminders.c
        now = utcnow()
        q = (
            sa.select(reminders)
            .where(rc.fired_at.is_(None), rc.cancelled_at.is_(None), rc.fire_at <= now)
            .order_by(rc.fire_at)
            .limit(self.batch)
        )
        async with uow_factory(self.ctx)() as uow:
            if uow.session.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = (await uow.session.execute(q)).all()
            for r in rows:
                await self._fire(uow, r)
            if rows:
                await uow.session.execute(
                    sa.update(reminders).where(rc.id.in_([r.id for r in rows])).values(fired_at=now, updated_at=now)
                )
            await uow.commit()
        self.fired += len(rows)
        return len(rows)

    async def _fire(self, uow: Any, r: Any) -> None:
        audience = Audience(person=r.recipient_hash, roles=tuple(r.recipient_roles or ()))
        data = dict(r.data or {}, reminder_id=r.id)
        notice = reminder_notice(r.kind, r.region, r.due_date, audience, data)
        await write_notices(uow, [notice], event_id=None, sms=self.sms, wake_sms=self.wake_sms)
        uow.add_event(
            Event(
                "notification",
                "reminder_fired",
                r.ref_id,
                r.region,
                {
                    "reminder_id": r.id,
                    "kind": r.kind,
                    "ref_id": r.ref_id,
                    "household_id": r.household_id,
                    "due_date": r.due_date.isoformat(),
                    # SQLite hands the column back naive (UTC wall time): the payload says UTC either way
                    "fire_at": (r.fire_at if r.fire_at.tzinfo else r.fire_at.replace(tzinfo=dt.UTC)).isoformat(),
                    "recipient_roles": list(r.recipient_roles or ()),
                    "to_person": r.recipient_hash is not None,
                },
                source="notification",
            )
        )
