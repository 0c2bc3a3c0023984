"""The webhook dispatcher (投递): a background worker in every replica that claims due delivery
rows with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer at a time), POSTs
them signed (Standard Webhooks), and records each attempt. Per subscription, event order within
one household holds: a delivery is not claimed while an earlier one for the same (subscription,
household) is still pending. Failures are retried on the configured schedule with jitter, then
dead-lettered; a subscription whose deliveries all stay dead long enough is disabled and its
owner told.

This module is the loop (claiming, sending, batching outcomes, maintenance, the direct hand-off
from the fan-out); what to claim and what an outcome comes to are `application.dispatch` and
`domain.delivery`, and the SQL is `adapters/delivery_queue.py`."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
import uuid
from dataclasses import dataclass

from services.notification.adapters.http import HttpResult, OutboundHttp
from services.notification.adapters.unit_of_work import uow_factory
from services.notification.application.common import SECRET_CONTEXT
from services.notification.application.dispatch import (
    ClaimDue,
    DisableFailing,
    RecordOutcomes,
    SendOutcome,
    claim_due,
    disable_failing,
    record_outcomes,
    release_leases,
)
from services.notification.domain.signing import webhook_headers
from services.notification.settings import NotificationSettings
from shared.app import ServiceContext
from shared.db import utcnow

__all__ = ["Dispatcher"]

log = logging.getLogger("fangfan.notification.dispatcher")


_RECORD_LINGER_S = 0.005


@dataclass(slots=True)
class _Claimed:
    id: int
    subscription_id: str
    event_id: str
    attempts: int
    total_attempts: int
    url: str
    payload: bytes
    secrets: list[str]


@dataclass(slots=True)
class _Outcome:
    claimed: _Claimed
    started_at: dt.datetime
    result: HttpResult


class Dispatcher:
    def __init__(self, ctx: ServiceContext, settings: NotificationSettings, http: OutboundHttp) -> None:
        self.ctx = ctx
        self.settings = settings
        self.schedule = settings.retry_schedule()
        self.http = http
        self.owner = str(uuid.uuid4())
        self.lease = dt.timedelta(seconds=settings.webhook_timeout_s + 30.0)
        self._wake = asyncio.Event()
        self._results: list[_Outcome] = []
        self._results_ready = asyncio.Event()
        self._sends: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._rng = random.Random()
        self.in_flight = 0
        self.sent = 0
        self._stopping = False
        self._sends_over = False
        self._stop_maintenance: asyncio.Event | None = None
        self._running = False
        #: rows may be waiting for the claim loop (blocked behind an earlier delivery of their
        #: household, or left over when there was no room): recording an outcome wakes it.
        self.unsettled = True
        self._plain: dict[str, str] = {}  # encrypted secret -> decrypted (AES-GCM once each)

    # --- lifecycle ---------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    # --- direct hand-off from the fan-out ----------------------------------------------------

    def room(self) -> int:
        """How many more sends this dispatcher takes now (0 unless it is running)."""
        if not self._running or self._stopping:
            return 0
        return max(0, self.settings.webhook_max_in_flight - self.in_flight)

    def secrets(self, encrypted: list[str]) -> list[str]:
        out = []
        for enc in encrypted:
            plain = self._plain.get(enc)
            if plain is None:
                if len(self._plain) > 10_000:
                    self._plain.clear()
                plain = self._plain[enc] = self.ctx.cipher.decrypt_text(enc, context=SECRET_CONTEXT)
            out.append(plain)
        return out

    def claimed_for(
        self, delivery_id: int, subscription_id: str, event_id: str, url: str, payload: bytes, secrets_enc: list[str]
    ) -> _Claimed:
        """A fresh row the fan-out inserted already leased to us (first attempt)."""
        return _Claimed(delivery_id, subscription_id, event_id, 0, 0, url, payload, self.secrets(secrets_enc))

    def submit(self, claimed: list[_Claimed]) -> None:
        """Send rows leased to us by a committed transaction (called from its commit hook).
        Stopping: they are left to the lease (released by `stop`, or expiring)."""
        if self._stopping:
            return
        for c in claimed:
            self._start_send(c)

    def _start_send(self, c: _Claimed) -> None:
        self.in_flight += 1
        task = asyncio.create_task(self._send(c))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def run(self) -> None:
        """The background task: claim loop, result writer and maintenance side by side. It
        stops when `stop()` asks, between database operations (never cancelled inside one: a
        cancel there would strand a connection in the middle of its transaction)."""
        self._running = True
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="webhook-claim"),
            asyncio.create_task(self._write_loop(), name="webhook-results"),
            asyncio.create_task(self._maintenance_loop(), name="webhook-maintenance"),
        ]
        await asyncio.gather(*self._tasks)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._stop_maintenance is not None:
            self._stop_maintenance.set()
        self._results_ready.set()
        # In-flight HTTP requests hold no database connection: cancel them.
        for t in list(self._sends):
            t.cancel()
        await asyncio.gather(*self._sends, return_exceptions=True)
        self._sends_over = True  # the writer records what came back, then returns
        self._results_ready.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Give back what we hold so another replica (or our next start) need not wait the lease out.
        with contextlib.suppress(Exception):
            work = uow_factory(self.ctx)()
            async with work:
                await release_leases(self.owner, work)

    # --- claiming ----------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        backoff = 0.1
        while not self._stopping:
            try:
                capacity = self.settings.webhook_max_in_flight - self.in_flight
                # Claim in batches: a claim is a write transaction, so not for a handful of rows
                # while many requests are still out.
                worth_it = capacity > 0 and (
                    self.in_flight == 0 or capacity >= self.settings.webhook_max_in_flight // 4
                )
                claimed = await self.claim(min(self.settings.webhook_claim_batch, capacity)) if worth_it else []
                backoff = 0.1
                for c in claimed:
                    self._start_send(c)
                if claimed:
                    self.unsettled = True  # their successors may become due
                elif worth_it and self.in_flight == 0:
                    self.unsettled = False  # nothing due and nothing out: only retries remain
                if claimed and capacity - len(claimed) > 0:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_s)
                self._wake.clear()
            except Exception as exc:
                log.warning("dispatcher claim: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def claim(self, limit: int) -> list[_Claimed]:
        """Lease up to `limit` due deliveries to this dispatcher (`application.dispatch.claim_due`)."""
        work = uow_factory(self.ctx)()
        async with work:
            claimed = await claim_due(ClaimDue(self.owner, limit, self.lease), work)
        return [
            _Claimed(
                c.id,
                c.subscription_id,
                c.event_id,
                c.attempts,
                c.total_attempts,
                c.url,
                c.payload,
                self.secrets(c.secrets_enc),
            )
            for c in claimed
        ]

    # --- sending -----------------------------------------------------------------------------

    async def _send(self, c: _Claimed) -> None:
        started = utcnow()
        try:
            headers = webhook_headers(c.secrets, c.event_id, int(time.time()), c.payload)
            result = await self.http.post(c.url, c.payload, headers)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never lose the outcome of a claimed row
            result = HttpResult(None, 0.0, f"{type(exc).__name__}: {exc}"[:500])
        self._results.append(_Outcome(c, started, result))
        self._results_ready.set()

    # --- recording ---------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            if not self._results:
                if self._sends_over:
                    return
                await self._results_ready.wait()
                self._results_ready.clear()
                continue
            if len(self._results) < 64 and self._sends and not self._sends_over:
                # Let a few more outcomes arrive: one transaction records them together. Not on
                # the way to the receiver; fewer, larger record transactions leave the database
                # (and its commit flushes) to the fan-out that is.
                await asyncio.sleep(_RECORD_LINGER_S)
            batch, self._results = self._results, []
            for attempt in range(50):
                try:
                    await self._record(batch)
                    break
                except Exception as exc:
                    log.warning("dispatcher record: %s: %s (retry %d)", type(exc).__name__, exc, attempt + 1)
                    await asyncio.sleep(min(0.1 * 2**attempt, 5.0))
            self.in_flight -= len(batch)
            self.sent += len(batch)
            if self.unsettled or any(not o.result.ok for o in batch):
                self._wake.set()  # successors of what just finished may be due now

    async def _record(self, batch: list[_Outcome]) -> None:
        """Each outcome's next state — delivered, retried, dead-lettered — and the failing marks
        (`application.dispatch.record_outcomes`), written only where our lease still holds."""
        outcomes = [
            SendOutcome(
                delivery_id=o.claimed.id,
                subscription_id=o.claimed.subscription_id,
                attempts=o.claimed.attempts,
                total_attempts=o.claimed.total_attempts,
                started_at=o.started_at,
                ok=o.result.ok,
                refused=o.result.refused,
                status_code=o.result.status,
                latency_ms=o.result.latency_ms,
                error=o.result.error,
            )
            for o in batch
        ]
        work = uow_factory(self.ctx)()
        async with work:
            await record_outcomes(RecordOutcomes(self.owner, outcomes, self.schedule), work, rng=self._rng)

    # --- long failures -----------------------------------------------------------------------

    async def _maintenance_loop(self) -> None:
        interval = max(0.2, min(60.0, self.settings.webhook_disable_after_s / 4))
        stop = asyncio.Event()
        self._stop_maintenance = stop
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if self._stopping:
                return
            try:
                await self.disable_failing()
            except Exception as exc:
                log.warning("dispatcher maintenance: %s: %s", type(exc).__name__, exc)

    async def disable_failing(self) -> int:
        """Disable subscriptions failing (every delivery dead, none delivered) for longer than
        the configured period, and tell each owner in their inbox (`application.dispatch`)."""
        work = uow_factory(self.ctx)()
        async with work:
            disabled = await disable_failing(DisableFailing(self.settings.webhook_disable_after_s), work)
        for d in disabled:
            log.warning("subscription %s disabled after failing since %s", d.id, d.failing_since)
        return len(disabled)
