"""The notification units of work: `NotificationUnitOfWork` (the repositories and queries of the
use cases over one session, wake-ups after commit), the batching one the consumers and workers
use (writes deferred to just before the commit), and on SQLite the one whose writers take turns;
with the inbox items and SMS rows written from domain notices."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from services.notification.adapters.context import extras_of
from services.notification.adapters.delivery_queue import SqlDeliveries
from services.notification.adapters.fanout_queue import SqlFanout
from services.notification.adapters.inbox_repository import SqlInbox
from services.notification.adapters.orm import inbox_items, sms_messages
from services.notification.adapters.people_repository import SqlPeople
from services.notification.adapters.reminders_query import SqlReminders
from services.notification.adapters.sms_queue import SqlSmsQueue
from services.notification.adapters.subscriptions_repository import SqlSubscriptions
from services.notification.domain.routing import Notice, sms_text
from shared.app import ServiceContext
from shared.db import UnitOfWork, utcnow

__all__ = [
    "BatchingUnitOfWork",
    "NotificationUnitOfWork",
    "SerialUnitOfWork",
    "after_commit",
    "defer",
    "serial_writers",
    "uow_factory",
    "write_notices",
]


class NotificationUnitOfWork(UnitOfWork):
    """`application.ports.Work` (and `DispatchWork`, `ReminderWork`, `SmsWork`, `FanoutWork`,
    `PeopleWork`):
    the repositories are views over this unit of work's session."""

    @property
    def subscriptions(self) -> SqlSubscriptions:
        return SqlSubscriptions(self.session)

    @property
    def inbox(self) -> SqlInbox:
        return SqlInbox(self.session)

    @property
    def reminders(self) -> SqlReminders:
        return SqlReminders(self.session)

    @property
    def reminder_queue(self) -> SqlReminders:
        return SqlReminders(self.session)

    @property
    def deliveries(self) -> SqlDeliveries:
        return SqlDeliveries(self.session)

    @property
    def sms(self) -> SqlSmsQueue:
        return SqlSmsQueue(self.session)

    @property
    def fanout(self) -> SqlFanout:
        return SqlFanout(self.session)

    @property
    def people(self) -> SqlPeople:
        return SqlPeople(self.session)

    @property
    def notices(self) -> SqlNotices:
        return SqlNotices(self)

    def after_commit(self, key: str, fn: Callable[[], None]) -> None:
        after_commit(self, key, fn)


class SqlNotices:
    """`application.ports.Notices` (`write_notices` into this unit of work)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def write(
        self, notices: Sequence[Notice], *, event_id: str | None, sms: bool, wake_sms: Callable[[], None] | None
    ) -> list[str]:
        return await write_notices(self.uow, list(notices), event_id=event_id, sms=sms, wake_sms=wake_sms)


class BatchingUnitOfWork(NotificationUnitOfWork):
    """A unit of work that runs the writes deferred to it (`defer`) just before it commits, in the
    same transaction. A consumer handles a whole fetched batch in one unit of work, so the
    fan-out and the inbox items of hundreds of events go in as one multi-row statement per table
    instead of several statements per event."""

    async def __aenter__(self) -> UnitOfWork:
        self.deferred: dict[str, Callable[[], Awaitable[None]]] = {}
        return await super().__aenter__()

    async def commit(self) -> None:
        while self.deferred:
            key = next(iter(self.deferred))
            await self.deferred.pop(key)()
        await super().commit()

    async def rollback(self) -> None:
        self.deferred = {}
        await super().rollback()


def defer(uow: UnitOfWork, key: str, flush: Callable[[], Awaitable[None]]) -> bool:
    """Have `flush` run once just before `uow` commits; False when this unit of work does not
    defer (the caller then writes at once)."""
    if not isinstance(uow, BatchingUnitOfWork):
        return False
    uow.deferred.setdefault(key, flush)
    return True


class SerialUnitOfWork(BatchingUnitOfWork):
    """A unit of work that first queues (FIFO) on a lock shared by this process's writers. On
    SQLite every transaction takes the write lock (BEGIN IMMEDIATE) and a writer that finds it
    taken sleeps in SQLite's busy handler — 1, 2, 5, … 100 ms steps, unfair, so under a steady
    stream of events the fan-out, the people consumer and the dispatcher starved one another for
    hundreds of milliseconds. Queued here they take turns at once."""

    def __init__(self, lock: asyncio.Lock, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = lock

    async def __aenter__(self) -> UnitOfWork:
        await self._lock.acquire()
        try:
            return await super().__aenter__()
        except BaseException:
            self._lock.release()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc, tb)
        finally:
            self._lock.release()


def serial_writers(ctx: ServiceContext) -> Callable[[], NotificationUnitOfWork]:
    """The unit-of-work factory installed for the consumers and the background workers
    (`NotificationExtras.uow`): batching (`BatchingUnitOfWork`), and on SQLite also taking turns on one
    process-wide lock. PostgreSQL keeps concurrent transactions (row locks, SKIP LOCKED)."""
    outbox = ctx.tables["outbox"]
    if ctx.engine.dialect.name != "sqlite":

        def batching() -> NotificationUnitOfWork:
            return BatchingUnitOfWork(ctx.sessions, outbox, on_commit=ctx.relay.wake)

        return batching
    lock = asyncio.Lock()

    def factory() -> NotificationUnitOfWork:
        return SerialUnitOfWork(lock, ctx.sessions, outbox, on_commit=ctx.relay.wake)

    return factory


def uow_factory(ctx: ServiceContext) -> Callable[[], NotificationUnitOfWork]:
    """The unit-of-work factory the background workers use (see `serial_writers`); before
    startup installed it, the service's own (`ServiceSpec(unit_of_work=NotificationUnitOfWork)`)."""
    factory = extras_of(ctx).uow
    if factory is not None:
        return factory

    def plain() -> NotificationUnitOfWork:
        uow = ctx.uow()
        assert isinstance(uow, NotificationUnitOfWork), "the notification spec names its unit of work"
        return uow

    return plain


def after_commit(uow: UnitOfWork, key: str, fn: Callable[[], None]) -> None:
    """Call `fn` once after this unit of work commits (e.g. wake the dispatcher)."""
    info = uow.session.info
    if info.get(key):
        return
    info[key] = True

    def _fire(_session: Any) -> None:
        info.pop(key, None)
        fn()

    sa_event.listen(uow.session.sync_session, "after_commit", _fire, once=True)


async def write_notices(
    uow: UnitOfWork, notices: list[Notice], *, event_id: str | None, sms: bool, wake_sms: Callable[[], None] | None
) -> list[str]:
    """Inbox rows (one per person, one per role), and an SMS row for each person-addressed
    notice that asks for one. Returns the item ids."""
    now = utcnow()
    items: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    for n in notices:
        base = {
            "region": n.region,
            "kind": n.kind,
            "title": n.title,
            "body": n.body,
            "data": {k: v for k, v in n.data.items() if v is not None},
            "event_id": event_id,
            "created_at": now,
        }
        if n.audience.person:
            item_id = str(uuid.uuid4())
            items.append(dict(base, id=item_id, recipient_hash=n.audience.person, recipient_role=None))
            if sms and n.sms:
                texts.append(
                    {
                        "recipient_hash": n.audience.person,
                        "kind": n.kind,
                        "text": sms_text(n),
                        "inbox_item_id": item_id,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
        for role in n.audience.roles:
            items.append(dict(base, id=str(uuid.uuid4()), recipient_hash=None, recipient_role=role))
    if texts and wake_sms is not None:
        after_commit(uow, "wake_sms", wake_sms)
    info = uow.session.info
    found: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = info.get("pending_notices")
    pending: tuple[list[dict[str, Any]], list[dict[str, Any]]]
    if found is not None:
        pending = found
    else:
        pending = ([], [])
        info["pending_notices"] = pending

        async def flush() -> None:
            info.pop("pending_notices", None)
            if pending[0]:
                await uow.session.execute(sa.insert(inbox_items), pending[0])
            if pending[1]:
                await uow.session.execute(sa.insert(sms_messages), pending[1])

        if not defer(uow, "notices", flush):
            info.pop("pending_notices", None)
            pending[0].extend(items)
            pending[1].extend(texts)
            await flush()
            return [i["id"] for i in items]
    pending[0].extend(items)
    pending[1].extend(texts)
    return [i["id"] for i in items]
