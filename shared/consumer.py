"""The idempotent event consumer: a JetStream durable pull consumer shared by a service's
replicas. Each batch is handled in one transaction that also writes the inbox rows
(consumer, event id); the messages are acknowledged only after the commit. A redelivered event
finds its inbox row and has no second effect. A failing event is retried with a delay and,
after `max_deliver` attempts, moved to the dead-letter table and terminated — it never blocks
the events behind it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import sqlalchemy as sa
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.exc import IntegrityError

from shared import metrics
from shared.contracts import ContractViolation
from shared.db import UnitOfWork, utcnow
from shared.events import STREAM, Event, decode_event
from shared.nats import NatsLink

__all__ = ["EventHandler", "InboxConsumer", "PoisonEvent", "event_date", "event_day", "household_and_village"]

log = logging.getLogger("fangfan.consumer")

EventHandler = Callable[[UnitOfWork, Event], Awaitable[None]]

_CLAIM_PG = sa.text(
    "INSERT INTO inbox (consumer, event_id, processed_at) "
    "SELECT :consumer, x, :at FROM unnest(CAST(:ids AS varchar[])) AS x "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
# `WHERE true` lets SQLite tell the ON CONFLICT clause from a join constraint.
_CLAIM_SQLITE = sa.text(
    "INSERT INTO inbox (consumer, event_id, processed_at) "
    "SELECT :consumer, value, :at FROM json_each(:ids) WHERE true "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never succeed: dead-letter it at once."""


# China Standard Time: the day an event happened is a local date (as in shared.app).
_CST = dt.timezone(dt.timedelta(hours=8))


def household_and_village(ev: Event) -> tuple[str, str]:
    """The household an event is about (`data.household_id`, else the CloudEvent `subject`) and
    its village (`data.region_code`, else `region`; 12 digits); poison when either is missing."""
    household_id = str(ev.data.get("household_id") or ev.subject or "")
    village = str(ev.data.get("region_code") or ev.region or "")
    if not household_id:
        raise PoisonEvent(f"{ev.type} {ev.id}: no household_id")
    if len(village) != 12 or not village.isdigit():
        raise PoisonEvent(f"{ev.type} {ev.id}: region must be a 12-digit village code, got {village!r}")
    return household_id, village


def event_date(value: Any) -> dt.date | None:
    """A date field of an event's data (an ISO date or date-time); None when absent or not a date."""
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def event_day(ev: Event) -> dt.date:
    """The China date of the event's time."""
    return ev.time.astimezone(_CST).date()


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
        # CONSUMER.CREATE on an existing durable updates it in place when the change is allowed
        # (nats-server ≥ 2.9); a refused change surfaces here and the run loop retries, logged.
        await js.add_consumer(STREAM, self.config())
        assert self.link.nc is not None
        if self._sub is not None:
            await self._sub.close()
        self._sub = await _Puller.open(self.link.nc, STREAM, self.name)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"consumer-{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._drop_sub()

    async def run(self) -> None:
        backoff = 0.1
        while not self._stopping:
            try:
                if not self.link.connected:
                    await self._drop_sub()
                    await asyncio.sleep(0.2)
                    continue
                if self._sub is None:
                    await self._ensure()
                msgs = await self._sub.fetch(self.batch_size, timeout=1.0)
                if msgs:
                    await self.handle_batch(msgs)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Connection lost, consumer gone after a server restart, database busy: rebuild.
                log.warning("consumer %s: %s: %s", self.name, type(exc).__name__, exc)
                await self._drop_sub()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _drop_sub(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.close()
        self._sub = None

    # --- handling ----------------------------------------------------------------------------

    async def handle_batch(self, msgs: list[Any]) -> None:
        decoded: list[tuple[Any, Event]] = []
        for m in msgs:
            try:
                decoded.append((m, decode_event(m.data)))
            except Exception as exc:
                await self._dead_letter(m, None, f"undecodable event: {exc}")
        # Runs of events to handle, last first. When a handler fails, the events before it are
        # handled together again, the failing one alone (retried later or dead-lettered) and the
        # rest together: a poison event costs its batch one extra transaction, not one per event.
        runs: list[tuple[list[tuple[Any, Event]], bool]] = [(decoded, False)]
        while runs:
            run, alone = runs.pop()
            if alone:
                await self._handle_one(*run[0])
                continue
            if not run:
                continue
            failed_at: list[int] = []
            try:
                await self._handle_together(run, failed_at)
                continue
            except Exception as exc:
                log.info("consumer %s: batch of %d failed (%s)", self.name, len(run), exc)
            if not failed_at:  # not in a handler (the claim, the commit): one by one
                runs.extend(([one], True) for one in reversed(run))
                continue
            i = failed_at[0]
            runs += [(run[i + 1 :], False), ([run[i]], True), (run[:i], False)]

    async def _claim(self, uow: UnitOfWork, ids: list[str]) -> set[str]:
        """Insert the inbox rows and return the ids that were not there yet. Done first, in the
        transaction that will hold the effects: a rollback releases the claim; a duplicate hits
        the primary key and is skipped (on PostgreSQL a concurrent replica waits for ours).
        One constant statement per batch (an array / a JSON list), so it is compiled once."""
        bind = uow.session.get_bind()
        params = {"consumer": self.name, "at": utcnow()}
        if bind.dialect.name == "postgresql":
            sql = _CLAIM_PG
            params["ids"] = list(dict.fromkeys(ids))
        else:
            sql = _CLAIM_SQLITE
            params["ids"] = json.dumps(list(dict.fromkeys(ids)))
        return set((await uow.session.execute(sql, params)).scalars())

    async def _handle_together(self, batch: list[tuple[Any, Event]], failed_at: list[int] | None = None) -> None:
        """One transaction for the batch; if a handler raises, its index goes to `failed_at`."""
        async with self.uow_factory() as uow:
            fresh = await self._claim(uow, [ev.id for _, ev in batch])
            handled = 0
            for i, (_, ev) in enumerate(batch):
                if ev.id not in fresh:  # processed before, or twice in this very batch
                    continue
                fresh.discard(ev.id)
                try:
                    await self.handler(uow, ev)
                except Exception:
                    if failed_at is not None:
                        failed_at.append(i)
                    raise
                handled += 1
            await uow.commit()
        for m, _ in batch:
            await m.ack()
        self.handled += handled
        metrics.CONSUMED.labels(self.name, "handled").inc(handled)
        if len(batch) > handled:
            metrics.CONSUMED.labels(self.name, "duplicate").inc(len(batch) - handled)

    async def _handle_one(self, m: Any, ev: Event) -> None:
        try:
            async with self.uow_factory() as uow:
                if not await self._claim(uow, [ev.id]):
                    await uow.rollback()
                    await m.ack()
                    metrics.CONSUMED.labels(self.name, "duplicate").inc()
                    return
                await self.handler(uow, ev)
                await uow.commit()
            await m.ack()
            self.handled += 1
            metrics.CONSUMED.labels(self.name, "handled").inc()
        except IntegrityError:
            # SQLite: another writer handled it between our claim and commit: its effect stands.
            await m.ack()
        except (PoisonEvent, ContractViolation) as exc:  # off contract: no retry makes it conform
            await self._dead_letter(m, ev.id, f"poison: {exc}")
        except Exception as exc:
            delivered = _num_delivered(m)
            if delivered >= self.max_deliver:
                await self._dead_letter(m, ev.id, f"{type(exc).__name__}: {exc}")
            else:
                delay = self.retry_delays[min(delivered - 1, len(self.retry_delays) - 1)]
                log.info(
                    "consumer %s: event %s failed (%s), retry %d in %.0fs", self.name, ev.id, exc, delivered, delay
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


#: a pull request neither answered nor expired this long after its expiry counts as lost
_LOST_AFTER_S = 1.0


class _Puller:
    """A pull consumer on one inbox subscription. nats-py's `fetch()` costs a task and a
    `wait_for` per message (about 9,000 messages/s here); this keeps one pull request in flight
    ahead of the handler and takes messages from a queue filled by the subscription callback."""

    def __init__(self, nc: Any, subject: str, inbox: str) -> None:
        self.nc = nc
        self.subject = subject
        self.inbox = inbox
        self.queue: deque[Any] = deque()
        self.arrived = asyncio.Event()
        self.requested = 0  # messages asked for and not yet received or expired
        #: when the last pull request expires: a request the server never answers (sent to a
        #: consumer leader that died, or lost in a reconnect) must not stall the loop for good
        self.expires_at = 0.0
        self.sub: Any = None

    @classmethod
    async def open(cls, nc: Any, stream: str, durable: str) -> _Puller:
        p = cls(nc, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}", nc.new_inbox())
        p.sub = await nc.subscribe(p.inbox, cb=p._on_msg)
        return p

    async def _on_msg(self, msg: Any) -> None:
        status = (msg.headers or {}).get("Status") if not msg.data else None
        if status:
            # 404 no messages / 408 request expired / 409 limits: that request is over.
            self.requested = 0
        else:
            self.queue.append(msg)
            self.requested = max(0, self.requested - 1)
        self.arrived.set()

    async def _request(self, batch: int, expires_s: float) -> None:
        body = json.dumps({"batch": batch, "expires": int(expires_s * 1e9)}).encode()
        await self.nc.publish(self.subject, body, reply=self.inbox)
        self.requested += batch
        self.expires_at = time.monotonic() + expires_s

    async def fetch(self, batch: int, timeout: float) -> list[Any]:
        if self.requested and time.monotonic() > self.expires_at + _LOST_AFTER_S:
            self.requested = 0  # no messages and no 408 long after it expired: the request was lost
        if self.requested < batch // 2:
            await self._request(batch, timeout)
        if not self.queue:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout + 0.5)
        out: list[Any] = []
        while self.queue and len(out) < batch:
            out.append(self.queue.popleft())
        return out

    async def close(self) -> None:
        if self.sub is not None:
            with contextlib.suppress(Exception):
                await self.sub.unsubscribe()
        self.sub = None


def _num_delivered(m: Any) -> int:
    try:
        return int(m.metadata.num_delivered)
    except Exception:
        return 1
