"""Fan-out (分发): every event on the stream becomes one delivery row per matching subscription
(type pattern and region prefix), in the consumer's transaction, so that a redelivered event —
absorbed by the inbox — never queues a second delivery. Disabled subscriptions still queue (held
until re-enabled: re-enabling replays what they missed).

Direct hand-off: a row that the dispatcher of this replica could send at once (active
subscription, no earlier pending delivery of the same household for that subscription, room in
the dispatcher) is inserted already leased to that dispatcher, and handed to it when the
transaction commits — no polling interval and no separate claim transaction on the way from the
event to the receiver. Everything else (held, blocked behind an earlier event, no room) is left
unleased for the dispatcher's claim loop, exactly as before.

The rows of all the events of one consumer batch are written together just before its
transaction commits (`_FanoutWrite`, deferred through the batching unit of work): a handful of
multi-row statements per batch instead of five statements per event.

This module is the consumer's side (batching, the hand-off to the dispatcher, the wake-up); which
subscriptions an event goes to and which rows are leased are `application.fanout` and
`domain.fanout`, and the SQL is `adapters/fanout_queue.py`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event as sa_event

from services.notification.adapters.fanout_queue import SqlFanout
from services.notification.adapters.unit_of_work import NotificationUnitOfWork, after_commit, defer
from services.notification.application.fanout import FannedEvent, QueueDeliveries, match_event, queue_deliveries
from shared.consumer import EventHandler, PoisonEvent
from shared.db import UnitOfWork
from shared.events import Event, PersonalDataInEvent

if TYPE_CHECKING:
    from services.notification.adapters.dispatcher import Dispatcher, _Claimed

__all__ = ["fanout_handler"]


class _FanoutWork:
    """`application.ports.FanoutWork` over any unit of work of the consumer (its session)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.fanout = SqlFanout(uow.session)


def _work(uow: UnitOfWork) -> NotificationUnitOfWork | _FanoutWork:
    return uow if isinstance(uow, NotificationUnitOfWork) else _FanoutWork(uow)


def _direct_batch(uow: UnitOfWork, dispatcher: Dispatcher) -> list[_Claimed]:
    """This transaction's rows leased to our dispatcher: handed over once it commits, forgotten
    if it rolls back (the rows go with it)."""
    info = uow.session.info
    batch: list[_Claimed] | None = info.get("direct_deliveries")
    if batch is None:
        batch = []
        info["direct_deliveries"] = batch

        def _committed(_session: Any) -> None:
            info.pop("direct_deliveries", None)
            if batch:
                dispatcher.submit(batch)

        def _rolled_back(_session: Any) -> None:
            info.pop("direct_deliveries", None)
            sa_event.remove(uow.session.sync_session, "after_commit", _committed)

        sa_event.listen(uow.session.sync_session, "after_commit", _committed, once=True)
        sa_event.listen(uow.session.sync_session, "after_rollback", _rolled_back, once=True)
    return batch


class _FanoutWrite:
    """The delivery rows of one transaction's events, written together just before it commits
    (`application.fanout.queue_deliveries`): one payload insert, one household-lock and one
    "earlier pending?" look-up, one insert of the rows leased to this replica's dispatcher and
    one of the rows left to the claim loop — per consumer batch rather than per event."""

    def __init__(
        self, uow: UnitOfWork, wake: Callable[[], None], dispatcher: Callable[[], Dispatcher | None] | None
    ) -> None:
        self.uow = uow
        self.wake = wake
        self.dispatcher = dispatcher
        self.events: list[FannedEvent] = []

    async def flush(self) -> None:
        events, self.events = self.events, []
        if not events:
            return
        disp = self.dispatcher() if self.dispatcher is not None else None
        batch: list[_Claimed] = []
        room = 0
        if disp is not None and any(t.status == "active" for e in events for t in e.targets):
            batch = _direct_batch(self.uow, disp)
            room = disp.room() - len(batch)
        cmd = QueueDeliveries(
            events,
            room=room,
            lease_owner=disp.owner if disp is not None else None,
            lease=disp.lease if disp is not None else None,
        )
        work = _work(self.uow)
        queued = await queue_deliveries(cmd, work)
        if queued.leased and disp is not None:
            secrets = work.fanout.signing_secrets()
            for d in queued.leased:
                batch.append(
                    disp.claimed_for(
                        d.id, d.target.id, d.event.event_id, d.target.url, d.event.payload, secrets.get(d.target.id, [])
                    )
                )
        if queued.left_active:
            # left for the claim loop (blocked behind an earlier event, or no room)
            if disp is not None:
                disp.unsettled = True
            after_commit(self.uow, "wake_dispatcher", self.wake)


def fanout_handler(wake: Callable[[], None], dispatcher: Callable[[], Dispatcher | None] | None = None) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        try:
            fanned = await match_event(ev, _work(uow))
        except PersonalDataInEvent as exc:
            raise PoisonEvent(f"event {ev.id} carries personal data; not forwarded") from exc
        if fanned is None:
            return
        info = uow.session.info
        write: _FanoutWrite | None = info.get("fanout")
        if write is None:
            write = info["fanout"] = _FanoutWrite(uow, wake, dispatcher)

            async def flush() -> None:
                info.pop("fanout", None)
                await write.flush()

            if not defer(uow, "fanout", flush):
                info.pop("fanout", None)
                write.events.append(fanned)
                await write.flush()
                return
        write.events.append(fanned)

    return handle
