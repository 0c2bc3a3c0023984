"""The reminder scheduler (提醒): the loop that fires due reminders once
(`application.reminders.fire_due_reminders`) — each in the transaction that sets its `fired_at`,
writes its inbox items and SMS rows and its `notification.reminder_fired` event to the outbox;
replicas claim with `FOR UPDATE SKIP LOCKED` (SQLite: one writer at a time), so a reminder fires
once across replicas and restarts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from services.notification.adapters.unit_of_work import uow_factory
from services.notification.application.reminders import FireDueReminders, fire_due_reminders
from shared.app import ServiceContext

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
        work = uow_factory(self.ctx)()
        async with work:
            fired = await fire_due_reminders(FireDueReminders(self.batch, self.sms), work, wake_sms=self.wake_sms)
        self.fired += len(fired.ids)
        return len(fired.ids)
