"""The idempotent event consumer: a JetStream durable pull consumer shared by a service's
replicas. Each batch is handled in one transaction that also writes the inbox rows
(consumer, event id); the messages are acknowledged only after the commit. A redelivered event
finds its inbox row and has no second effect. A failing event is retried with a delay and,
after `max_deliver` attempts, moved to the dead-letter table and terminated — it never blocks
the events behind it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import nats
import sqlalchemy as sa
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.exc import IntegrityError

from shared import metrics
from shared.db import UnitOfWork, utcnow
from shared.events import STREAM, Event, decode_event
from shared.nats import NatsLink

__all__ = ["EventHandler", "InboxConsumer", "PoisonEvent"]

log = logging.getLogger("fangfan.consumer")

EventHandler = Callable[[UnitOfWork, Event], Awaitable[None]]


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never succeed: dead-letter it at once."""


class InboxConsumer:
    def __init__(
        self,
        *,
        name: str,
        filter_subjects: Sequence[str],
        handler: EventHandler,
        uow_factory: Callable[[], UnitOfWork],
        inbox: sa.Table,
        dead_letters: sa.Table,
        link: NatsLink,
        batch_size: int = 500,
        max_deliver: int = 5,
        retry_delays: Sequence[float] = (1.0, 5.0, 30.0, 120.0),
        ack_wait: float = 60.0,
    ) -> None:
        self.name = name
        self.filter_subjects = list(filter_subjects)
        self.handler = handler
        self.uow_factory = uow_factory
        self.inbox = inbox
        self.dead_letters = dead_letters
        self.link = link
        self.batch_size = batch_size
        self.max_deliver = max_deliver
        self.retry_delays = list(retry_delays)
        self.ack_wait = ack_wait
        self._task: asyncio.Task[None] | None = None
        self._sub: Any = None
        self._stopping = False
        self.handled = 0

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.name,
            filter_subjects=self.filter_subjects,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            # JetStream keeps redelivering beyond our own limit: we dead-letter first.
            max_deliver=self.max_deliver + 5,
            max_ack_pending=50_000,
        )

    async def _ensure(self) -> None:
        js = self.link.js
        assert js is not None
        try:
            await js.add_consumer(STREAM, self.config())
        except nats.js.errors.BadRequestError:
            await js.update_consumer(STREAM, self.config())
        self._sub = await js.pull_subscribe_bind(durable=self.name, stream=STREAM)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"consumer-{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def run(self) -> None:
        backoff = 0.1
        while not self._stopping:
            try:
                if not self.link.connected:
                    self._sub = None
                    await asyncio.sleep(0.2)
                    continue
                if self._sub is None:
                    await self._ensure()
                try:
                    msgs = await self._sub.fetch(self.batch_size, timeout=1.0)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                await self.handle_batch(msgs)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Connection lost, consumer gone after a server restart, database busy: rebuild.
                log.warning("consumer %s: %s: %s", self.name, type(exc).__name__, exc)
                self._sub = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    # --- handling ----------------------------------------------------------------------------

    async def handle_batch(self, msgs: list[Any]) -> None:
        decoded: list[tuple[Any, Event]] = []
        for m in msgs:
            try:
                decoded.append((m, decode_event(m.data)))
            except Exception as exc:
                await self._dead_letter(m, None, f"undecodable event: {exc}")
        if not decoded:
            return
        try:
            await self._handle_together(decoded)
        except Exception as exc:
            log.info(
                "consumer %s: batch of %d failed (%s); handling one by one",
                self.name,
                len(decoded),
                exc,
            )
            for m, ev in decoded:
                await self._handle_one(m, ev)

    async def _seen(self, uow: UnitOfWork, ids: list[str]) -> set[str]:
        c = self.inbox.c
        seen: set[str] = set()
        for i in range(0, len(ids), 500):
            q = sa.select(c.event_id).where(c.consumer == self.name, c.event_id.in_(ids[i : i + 500]))
            seen.update((await uow.session.execute(q)).scalars())
        return seen

    async def _handle_together(self, batch: list[tuple[Any, Event]]) -> None:
        async with self.uow_factory() as uow:
            seen = await self._seen(uow, [ev.id for _, ev in batch])
            fresh: list[Event] = []
            for _, ev in batch:
                if ev.id in seen:  # processed before, or twice in this very batch
                    continue
                await self.handler(uow, ev)
                seen.add(ev.id)
                fresh.append(ev)
            if fresh:
                now = utcnow()
                await uow.session.execute(
                    sa.insert(self.inbox),
                    [{"consumer": self.name, "event_id": ev.id, "processed_at": now} for ev in fresh],
                )
            await uow.commit()
        for m, _ in batch:
            await m.ack()
        self.handled += len(fresh)
        metrics.CONSUMED.labels(self.name, "handled").inc(len(fresh))
        if len(batch) > len(fresh):
            metrics.CONSUMED.labels(self.name, "duplicate").inc(len(batch) - len(fresh))

    async def _handle_one(self, m: Any, ev: Event) -> None:
        try:
            async with self.uow_factory() as uow:
                if await self._seen(uow, [ev.id]):
                    await uow.rollback()
                    await m.ack()
                    metrics.CONSUMED.labels(self.name, "duplicate").inc()
                    return
                await self.handler(uow, ev)
                await uow.session.execute(
                    sa.insert(self.inbox).values(consumer=self.name, event_id=ev.id, processed_at=utcnow())
                )
                await uow.commit()
            await m.ack()
            self.handled += 1
            metrics.CONSUMED.labels(self.name, "handled").inc()
        except IntegrityError:
            # Another replica handled it between our check and our insert: its effect stands.
            await m.ack()
        except PoisonEvent as exc:
            await self._dead_letter(m, ev.id, f"poison: {exc}")
        except Exception as exc:
            delivered = _num_delivered(m)
            if delivered >= self.max_deliver:
                await self._dead_letter(m, ev.id, f"{type(exc).__name__}: {exc}")
            else:
                delay = self.retry_delays[min(delivered - 1, len(self.retry_delays) - 1)]
                log.info(
                    "consumer %s: event %s failed (%s), retry %d in %.0fs",
                    self.name,
                    ev.id,
                    exc,
                    delivered,
                    delay,
                )
                metrics.CONSUMED.labels(self.name, "retried").inc()
                await m.nak(delay=delay)

    async def _dead_letter(self, m: Any, event_id: str | None, error: str) -> None:
        async with self.uow_factory() as uow:
            await uow.session.execute(
                sa.insert(self.dead_letters).values(
                    consumer=self.name,
                    event_id=event_id,
                    subject=m.subject,
                    payload=bytes(m.data),
                    error=error[:4000],
                    deliveries=_num_delivered(m),
                    created_at=utcnow(),
                )
            )
            await uow.commit()
        await m.term()
        metrics.DEAD_LETTERS.labels(self.name).inc()
        log.warning("consumer %s: event %s dead-lettered: %s", self.name, event_id, error[:200])


def _num_delivered(m: Any) -> int:
    try:
        return int(m.metadata.num_delivered)
    except Exception:
        return 1
