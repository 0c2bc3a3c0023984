"""The webhook dispatcher (投递): a background worker in every replica that claims due delivery
rows with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer at a time), POSTs
them signed (Standard Webhooks), and records each attempt. Per subscription, event order within
one household holds: a delivery is not claimed while an earlier one for the same (subscription,
household) is still pending. Failures are retried on the configured schedule with jitter, then
dead-lettered; a subscription whose deliveries all stay dead long enough is disabled and its
owner told."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from services.notification.adapters.http import HttpResult, OutboundHttp
from services.notification.adapters.orm import (
    deliveries,
    delivery_attempts,
    event_payloads,
    subscription_secrets,
    subscriptions,
)
from services.notification.adapters.unit_of_work import uow_factory, write_notices
from services.notification.application.common import SECRET_CONTEXT
from services.notification.domain.routing import Audience, Notice
from services.notification.domain.signing import webhook_headers
from services.notification.settings import NotificationSettings
from shared.app import ServiceContext
from shared.db import utcnow

__all__ = ["Dispatcher"]

log = logging.getLogger("fangfan.notification.dispatcher")


# PostgreSQL: a batch of outcomes recorded in one statement (one round trip): the deliveries
# updated from arrays (only where our lease still holds), the attempts inserted, the
# subscriptions' failing marks set or cleared.
_RECORD_PG = sa.text(
    """
WITH b AS (
  SELECT * FROM unnest(
    CAST(:ids AS bigint[]), CAST(:status AS varchar[]), CAST(:attempts AS integer[]), CAST(:total AS integer[]),
    CAST(:next_at AS timestamptz[]), CAST(:code AS integer[]), CAST(:error AS varchar[]),
    CAST(:delivered_at AS timestamptz[]), CAST(:dead_at AS timestamptz[]), CAST(:started_at AS timestamptz[]),
    CAST(:latency_ms AS double precision[]), CAST(:outcome AS varchar[])
  ) AS b(id, status, attempts, total, next_at, code, error, delivered_at, dead_at, started_at, latency_ms, outcome)
), updated AS (
  UPDATE deliveries AS d SET status = b.status, attempts = b.attempts, total_attempts = b.total,
    next_attempt_at = b.next_at, last_status_code = b.code, last_error = b.error,
    delivered_at = b.delivered_at, dead_at = b.dead_at, lease_owner = NULL, lease_until = NULL
  FROM b WHERE d.id = b.id AND d.lease_owner = :owner
  RETURNING d.id
), attempts AS (
  INSERT INTO delivery_attempts (delivery_id, attempt, started_at, latency_ms, status_code, outcome, error)
  SELECT id, total, started_at, latency_ms, code, outcome, error FROM b
), recovered AS (
  UPDATE subscriptions SET failing_since = NULL
  WHERE id = ANY(CAST(:succeeded AS varchar[])) AND failing_since IS NOT NULL
)
UPDATE subscriptions SET failing_since = :now
WHERE id = ANY(CAST(:died AS varchar[])) AND failing_since IS NULL
"""
)


def _record_arrays(
    owner: str,
    now: dt.datetime,
    updates: list[dict[str, Any]],
    attempts: list[dict[str, Any]],
    succeeded: set[str],
    died: set[str],
) -> dict[str, Any]:
    return {
        "owner": owner,
        "now": now,
        "ids": [u["b_id"] for u in updates],
        "status": [u["b_status"] for u in updates],
        "attempts": [u["b_attempts"] for u in updates],
        "total": [u["b_total"] for u in updates],
        "next_at": [u["b_next"] for u in updates],
        "code": [u["b_code"] for u in updates],
        "error": [u["b_error"] for u in updates],
        "delivered_at": [u["b_delivered"] for u in updates],
        "dead_at": [u["b_dead"] for u in updates],
        "started_at": [a["started_at"] for a in attempts],
        "latency_ms": [a["latency_ms"] for a in attempts],
        "outcome": [a["outcome"] for a in attempts],
        "succeeded": sorted(succeeded),
        "died": sorted(died - succeeded),
    }


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
        self._analyzed = 0.0
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
            async with uow_factory(self.ctx)() as uow:
                await uow.session.execute(
                    sa.update(deliveries)
                    .where(deliveries.c.lease_owner == self.owner, deliveries.c.status == "pending")
                    .values(lease_owner=None, lease_until=None)
                )
                await uow.commit()

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
        d, s = deliveries.c, subscriptions.c
        earlier = deliveries.alias("earlier")
        e = earlier.c
        now = utcnow()
        pending = sa.literal_column("'pending'")  # a literal, so the partial indexes apply
        blocked = (
            sa.select(sa.literal(1))
            .where(e.subscription_id == d.subscription_id, e.order_key == d.order_key, e.status == pending, e.id < d.id)
            .exists()
        )
        q = (
            sa.select(d.id, d.subscription_id, d.event_id, d.attempts, d.total_attempts, s.url)
            .join(subscriptions, s.id == d.subscription_id)
            .where(
                d.status == pending,
                d.next_attempt_at <= now,
                sa.or_(d.lease_until.is_(None), d.lease_until < now),
                s.status == "active",
                ~blocked,
            )
            .order_by(d.id)
            .limit(limit)
        )
        async with uow_factory(self.ctx)() as uow:
            session = uow.session
            pg = session.get_bind().dialect.name == "postgresql"
            if pg:
                q = q.with_for_update(of=deliveries, skip_locked=True)
            started = time.monotonic()
            rows = (await session.execute(q)).all()
            if pg and time.monotonic() - started > 0.25 and time.monotonic() - self._analyzed > 60:
                # A burst of fan-out leaves the planner with stale row counts (autovacuum has not
                # analysed yet) and it walks every pending row; refresh them now.
                self._analyzed = time.monotonic()
                await session.execute(sa.text("ANALYZE deliveries"))
            if not rows:
                return []
            ids = [r.id for r in rows]
            for i in range(0, len(ids), 1000):
                await session.execute(
                    sa.update(deliveries)
                    .where(d.id.in_(ids[i : i + 1000]))
                    .values(lease_owner=self.owner, lease_until=now + self.lease)
                )
            event_ids = list({r.event_id for r in rows})
            payloads: dict[str, bytes] = {}
            for i in range(0, len(event_ids), 1000):
                for ep in (
                    await session.execute(
                        sa.select(event_payloads.c.event_id, event_payloads.c.payload).where(
                            event_payloads.c.event_id.in_(event_ids[i : i + 1000])
                        )
                    )
                ).all():
                    payloads[ep.event_id] = bytes(ep.payload)
            sub_ids = list({r.subscription_id for r in rows})
            ss = subscription_secrets.c
            secrets: dict[str, list[str]] = {sid: [] for sid in sub_ids}
            for sec in (
                await session.execute(
                    sa.select(ss.subscription_id, ss.secret_enc)
                    .where(ss.subscription_id.in_(sub_ids), sa.or_(ss.expires_at.is_(None), ss.expires_at > now))
                    .order_by(ss.id.desc())
                )
            ).all():
                secrets[sec.subscription_id].extend(self.secrets([sec.secret_enc]))
            await uow.commit()
        return [
            _Claimed(
                r.id,
                r.subscription_id,
                r.event_id,
                r.attempts,
                r.total_attempts,
                r.url,
                payloads[r.event_id],
                secrets[r.subscription_id],
            )
            for r in rows
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
        now = utcnow()
        updates: list[dict[str, Any]] = []
        attempts: list[dict[str, Any]] = []
        succeeded: set[str] = set()
        died: set[str] = set()
        for o in batch:
            c, r = o.claimed, o.result
            made = c.attempts + 1
            if r.ok:
                status, next_at, dead_at, delivered_at = "delivered", now, None, now
                succeeded.add(c.subscription_id)
            else:
                delay = self.schedule.next_delay(made, self._rng)
                if delay is None:
                    status, next_at, dead_at, delivered_at = "dead", now, now, None
                    died.add(c.subscription_id)
                else:
                    status, next_at, dead_at, delivered_at = "pending", now + dt.timedelta(seconds=delay), None, None
            updates.append(
                {
                    "b_id": c.id,
                    "b_owner": self.owner,
                    "b_status": status,
                    "b_attempts": made,
                    "b_total": c.total_attempts + 1,
                    "b_next": next_at,
                    "b_code": r.status,
                    "b_error": r.error,
                    "b_delivered": delivered_at,
                    "b_dead": dead_at,
                }
            )
            attempts.append(
                {
                    "delivery_id": c.id,
                    "attempt": c.total_attempts + 1,
                    "started_at": o.started_at,
                    "latency_ms": r.latency_ms,
                    "status_code": r.status,
                    "outcome": "delivered" if r.ok else ("refused" if r.refused else "failed"),
                    "error": r.error,
                }
            )
        async with uow_factory(self.ctx)() as uow:
            if uow.session.get_bind().dialect.name == "postgresql":
                await uow.session.execute(
                    _RECORD_PG, _record_arrays(self.owner, now, updates, attempts, succeeded, died)
                )
            else:
                await self._record_statements(uow, now, updates, attempts, succeeded, died)
            await uow.commit()

    async def _record_statements(
        self,
        uow: Any,
        now: dt.datetime,
        updates: list[dict[str, Any]],
        attempts: list[dict[str, Any]],
        succeeded: set[str],
        died: set[str],
    ) -> None:
        d = deliveries.c
        stmt = (
            sa.update(deliveries)
            .where(d.id == sa.bindparam("b_id"), d.lease_owner == sa.bindparam("b_owner"))
            .values(
                status=sa.bindparam("b_status"),
                attempts=sa.bindparam("b_attempts"),
                total_attempts=sa.bindparam("b_total"),
                next_attempt_at=sa.bindparam("b_next"),
                last_status_code=sa.bindparam("b_code"),
                last_error=sa.bindparam("b_error"),
                delivered_at=sa.bindparam("b_delivered"),
                dead_at=sa.bindparam("b_dead"),
                lease_owner=None,
                lease_until=None,
            )
        )
        await uow.session.execute(stmt, updates)
        await uow.session.execute(sa.insert(delivery_attempts), attempts)
        s = subscriptions.c
        if succeeded:
            await uow.session.execute(
                sa.update(subscriptions)
                .where(s.id.in_(succeeded), s.failing_since.is_not(None))
                .values(failing_since=None)
            )
        if died - succeeded:
            await uow.session.execute(
                sa.update(subscriptions)
                .where(s.id.in_(died - succeeded), s.failing_since.is_(None))
                .values(failing_since=now)
            )

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
        the configured period, and tell each owner in their inbox."""
        now = utcnow()
        cutoff = now - dt.timedelta(seconds=self.settings.webhook_disable_after_s)
        s = subscriptions.c
        async with uow_factory(self.ctx)() as uow:
            q = sa.select(subscriptions).where(
                s.status == "active", s.failing_since.is_not(None), s.failing_since < cutoff
            )
            if uow.session.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = (await uow.session.execute(q)).all()
            for row in rows:
                await uow.session.execute(
                    sa.update(subscriptions)
                    .where(s.id == row.id)
                    .values(
                        status="disabled",
                        disabled_reason="failing",
                        disabled_at=now,
                        missed_since=row.failing_since,
                        updated_at=now,
                    )
                )
                notice = Notice(
                    "subscription_disabled",
                    "订阅已停用",
                    f"您的事件订阅（{row.description or row.id}）"
                    f"自{row.failing_since:%Y-%m-%d %H:%M} UTC起投递持续失败，"
                    "已自动停用。请检查接收地址后重新启用，停用期间未送达的事件将自动补发。",
                    row.region or row.owner_region or "",
                    Audience(person=row.owner_sub_hash),
                    {"subscription_id": row.id},
                )
                await write_notices(uow, [notice], event_id=None, sms=False, wake_sms=None)
                log.warning("subscription %s disabled after failing since %s", row.id, row.failing_since)
            await uow.commit()
        return len(rows)
