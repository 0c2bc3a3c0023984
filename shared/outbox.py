"""The outbox relay: publishes committed event rows to JetStream with `Nats-Msg-Id` = event id
and marks them published only after JetStream acknowledged them. A crash between publish and
mark re-publishes the batch, which JetStream's duplicate window (and every consumer's inbox)
absorbs. Several replicas share the work on PostgreSQL through `FOR UPDATE SKIP LOCKED`."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import metrics
from shared.db import is_postgres, utcnow
from shared.nats import NatsLink

__all__ = ["OutboxRelay", "PublishRefused"]

log = logging.getLogger("fangfan.outbox")


class PublishRefused(Exception):
    """JetStream did not store a message of the batch (no stream for its subject, or an error)."""


class _Batch:
    """The acknowledgements a published batch waits for."""

    def __init__(self, seq: int, size: int) -> None:
        self.seq = seq
        self.size = size
        self.acked: set[str] = set()
        self.error: str | None = None
        self.done = asyncio.Event()
        if size == 0:
            self.done.set()


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        outbox: sa.Table,
        link: NatsLink,
        *,
        service: str,
        batch_size: int = 1000,
        idle_interval: float = 0.25,
        ack_timeout: float = 10.0,
        retention: dt.timedelta = dt.timedelta(days=7),
        after_publish: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.link = link
        self.service = service
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.ack_timeout = ack_timeout
        self.retention = retention
        #: Fault-injection seam: runs after JetStream acknowledged a batch, before it is marked.
        self.after_publish = after_publish
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.published_total = 0
        self._acks_of: Any = None  # the NATS client the ack subscription lives on
        self._ack_prefix = ""
        self._batch = 0
        self._waiting: _Batch | None = None

    def wake(self) -> None:
        """Called by a unit of work after it committed events: publish now, not at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self.service}")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Publish what is pending (bounded by `drain_timeout`), then stop. Rows not published stay
        in the table for the next start: nothing is lost either way."""
        self._stopping = True
        self._wake.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, drain_timeout)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task

    async def run(self) -> None:
        backoff = 0.1
        last_purge = 0.0
        while True:
            try:
                if not self.link.connected:
                    if self._stopping:
                        return
                    await self._sleep(0.2)
                    continue
                n = await self.publish_batch()
                backoff = 0.1
                if n == 0:
                    if self._stopping:
                        return
                    if time.monotonic() - last_purge > 3600:
                        last_purge = time.monotonic()
                        await self.purge()
                    await self._sleep(self.idle_interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # NATS down, ack timeout, database busy: nothing was marked; try again later.
                log.warning("outbox relay: %s: %s; retrying in %.1fs", type(exc).__name__, exc, backoff)
                metrics.OUTBOX_ERRORS.labels(self.service).inc()
                if self._stopping:
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    def _select(self) -> sa.Select[Any]:
        o = self.outbox.c
        return (
            sa.select(o.id, o.event_id, o.subject, o.payload)
            .where(o.published_at.is_(None))
            .order_by(o.id)
            .limit(self.batch_size)
        )

    async def publish_batch(self) -> int:
        """Publish one batch of unpublished rows; returns how many were published and marked."""
        if is_postgres(self.engine):
            async with self.engine.begin() as conn:
                rows = (await conn.execute(self._select().with_for_update(skip_locked=True))).all()
                if not rows:
                    return 0
                await self._publish(rows)
                if self.after_publish:
                    await self.after_publish()
                await self._mark(conn, [r.id for r in rows])
        else:
            # SQLite: one relay per database file; read, publish, then mark in a short write.
            async with self.engine.connect() as conn:
                rows = (await conn.execute(self._select())).all()
                await conn.rollback()
            if not rows:
                return 0
            await self._publish(rows)
            if self.after_publish:
                await self.after_publish()
            async with self.engine.begin() as conn:
                await self._mark(conn, [r.id for r in rows])
        self.published_total += len(rows)
        metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def _publish(self, rows: list[Any]) -> None:
        """Publish a batch and wait for JetStream's acknowledgement of every message (an error, a
        missing stream or a timeout raises: nothing is marked, the batch goes again later).

        Each message is a plain NATS publish whose reply subject is this relay's ack inbox plus
        the message's place in the batch; one subscription collects the acks. Half the CPU per
        event of nats-py's `publish_async` (a future, a per-message inbox token and its
        bookkeeping each) — the relay is the busiest loop when a screening raises 160,000
        warnings."""
        nc = self.link.nc
        if nc is None or self.link.js is None:
            raise ConnectionError("no JetStream context yet")
        if self._acks_of is not nc:  # first batch on this client (a reconnect keeps its subscriptions)
            self._ack_prefix = nc.new_inbox()
            await nc.subscribe(self._ack_prefix + ".*.*", cb=self._on_ack)
            self._acks_of = nc
        self._batch += 1
        waiting = _Batch(self._batch, len(rows))
        self._waiting = waiting
        prefix = f"{self._ack_prefix}.{self._batch}."
        try:
            for i, r in enumerate(rows):
                await nc.publish(r.subject, bytes(r.payload), reply=f"{prefix}{i}", headers={"Nats-Msg-Id": r.event_id})
            await asyncio.wait_for(waiting.done.wait(), self.ack_timeout)
        finally:
            self._waiting = None
        if waiting.error is not None:
            raise PublishRefused(waiting.error)

    async def _on_ack(self, msg: Any) -> None:
        waiting = self._waiting
        batch, _, i = msg.subject.rpartition(".")
        if waiting is None or not batch.endswith(f".{waiting.seq}"):
            return  # a late ack of a batch that already failed (it goes again, deduplicated)
        data = msg.data
        if not data.startswith(b"{") or b'"seq"' not in data:
            # {"error": …}, or an empty 503 "no responders" status (no stream for the subject)
            status = (msg.headers or {}).get("Status", "") if hasattr(msg, "headers") else ""
            waiting.error = (data[:200] or b"no responders " + status.encode()).decode(errors="replace")
            waiting.done.set()
            return
        if i not in waiting.acked:
            waiting.acked.add(i)
            if len(waiting.acked) == waiting.size:
                waiting.done.set()

    async def _mark(self, conn: Any, ids: list[int]) -> None:
        o = self.outbox.c
        now = utcnow()
        if is_postgres(self.engine):  # one statement with one array (500 parameters a statement cost planning time)
            ids_param = sa.bindparam("ids", ids, type_=ARRAY(sa.BigInteger))
            await conn.execute(sa.update(self.outbox).where(o.id == sa.any_(ids_param)).values(published_at=now))
            return
        for i in range(0, len(ids), 500):
            await conn.execute(sa.update(self.outbox).where(o.id.in_(ids[i : i + 500])).values(published_at=now))

    async def backlog(self) -> int:
        async with self.engine.connect() as conn:
            n = (
                await conn.execute(sa.select(sa.func.count()).where(self.outbox.c.published_at.is_(None)))
            ).scalar_one()
            await conn.rollback()
        return int(n)

    async def purge(self) -> int:
        """Delete rows published longer ago than the retention (kept meanwhile for audit/replay)."""
        cutoff = utcnow() - self.retention
        async with self.engine.begin() as conn:
            res = await conn.execute(
                sa.delete(self.outbox).where(
                    self.outbox.c.published_at.is_not(None), self.outbox.c.published_at < cutoff
                )
            )
        return int(res.rowcount or 0)
