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
multi-row statements per batch instead of five statements per event."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from services.notification.adapters.orm import deliveries, event_payloads, subscription_secrets, subscriptions
from services.notification.adapters.unit_of_work import after_commit, defer
from services.notification.domain.patterns import matches_any, order_key
from shared.consumer import EventHandler, PoisonEvent
from shared.db import UnitOfWork, utcnow
from shared.events import Event, PersonalDataInEvent, encode_event
from shared.identifiers import region_within

if TYPE_CHECKING:
    from services.notification.adapters.dispatcher import Dispatcher, _Claimed

__all__ = ["fanout_handler"]

# Earlier pending deliveries of these households for these subscriptions (the partial index
# ix_deliveries_order answers it); one statement for a whole consumer batch.
_BLOCKED_PG = sa.text(
    "SELECT DISTINCT subscription_id, order_key FROM deliveries WHERE status = 'pending' "
    "AND order_key = ANY(CAST(:keys AS varchar[])) AND subscription_id = ANY(CAST(:subs AS varchar[]))"
)
# Held until the fan-out transaction ends; never waited for (no deadlock between replicas).
_HOUSEHOLD_LOCKS_PG = sa.text(
    "SELECT k, pg_try_advisory_xact_lock(hashtext('fangfan.order:' || k)) FROM unnest(CAST(:keys AS varchar[])) AS k"
)
_BLOCKED_SQLITE = sa.text(
    "SELECT DISTINCT subscription_id, order_key FROM deliveries WHERE status = 'pending' "
    "AND order_key IN (SELECT value FROM json_each(:keys)) "
    "AND subscription_id IN (SELECT value FROM json_each(:subs))"
)


@dataclass(frozen=True, slots=True)
class _Subscription:
    id: str
    event_types: Any
    region: str
    status: str
    url: str


async def _subscriptions(uow: UnitOfWork) -> list[_Subscription]:
    """Every subscription and its signing secrets in force (newest first), read together once per
    transaction (a consumer batch), not once per event."""
    info = uow.session.info
    cached: list[_Subscription] | None = info.get("subscriptions")
    if cached is None:
        s, ss = subscriptions.c, subscription_secrets.c
        q = (
            sa.select(s.id, s.event_types, s.region, s.status, s.url, ss.secret_enc)
            .select_from(
                subscriptions.outerjoin(
                    subscription_secrets,
                    sa.and_(
                        ss.subscription_id == s.id,
                        sa.or_(ss.expires_at.is_(None), ss.expires_at > sa.bindparam("now")),
                    ),
                )
            )
            .order_by(s.id, ss.id.desc())
        )
        by_id: dict[str, _Subscription] = {}
        secrets: dict[str, list[str]] = {}
        for row in (await uow.session.execute(q, {"now": utcnow()})).all():
            if row.id not in by_id:
                by_id[row.id] = _Subscription(row.id, row.event_types, row.region, row.status, row.url)
                secrets[row.id] = []
            if row.secret_enc is not None:
                secrets[row.id].append(row.secret_enc)
        cached = info["subscriptions"] = list(by_id.values())
        info["subscription_secrets"] = secrets
    return cached


def _insert_ignore(dialect: str, table: sa.Table) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


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


@dataclass(slots=True)
class _Fanned:
    event_id: str
    event_type: str
    order_key: str
    payload: bytes
    matching: list[Any]


class _FanoutWrite:
    """The delivery rows of one transaction's events, written together just before it commits:
    one payload insert, one household-lock and one "earlier pending?" look-up, one insert of the
    rows leased to this replica's dispatcher and one of the rows left to the claim loop — per
    consumer batch rather than per event."""

    def __init__(
        self, uow: UnitOfWork, wake: Callable[[], None], dispatcher: Callable[[], Dispatcher | None] | None
    ) -> None:
        self.uow = uow
        self.wake = wake
        self.dispatcher = dispatcher
        self.events: list[_Fanned] = []

    async def flush(self) -> None:
        events, self.events = self.events, []
        if not events:
            return
        session = self.uow.session
        dialect = session.get_bind().dialect.name
        now = utcnow()
        await session.execute(
            _insert_ignore(dialect, event_payloads),
            [
                {"event_id": e.event_id, "event_type": e.event_type, "payload": e.payload, "created_at": now}
                for e in events
            ],
        )

        # Which rows go straight to our dispatcher, leased in this very transaction: an active
        # subscription, nothing of the household pending before it (in the table or earlier in
        # this batch), room in the dispatcher.
        disp = self.dispatcher() if self.dispatcher is not None else None
        batch: list[_Claimed] = []
        room = 0
        blocked: set[tuple[str, str]] = set()
        active_keys = sorted({e.order_key for e in events if any(s.status == "active" for s in e.matching)})
        if disp is not None and active_keys:
            batch = _direct_batch(self.uow, disp)
            room = disp.room() - len(batch)
        if room > 0:
            subs = sorted({s.id for e in events for s in e.matching if s.status == "active"})
            if dialect == "postgresql":
                # Another replica fanning out one of these households right now (its rows not yet
                # visible to us): leave ours to the claim loop rather than race it.
                locks = (await session.execute(_HOUSEHOLD_LOCKS_PG, {"keys": active_keys})).all()
                refused = {k for k, got in locks if not got}
                blocked.update((sid, k) for k in refused for sid in subs)
                params: dict[str, Any] = {"keys": [k for k in active_keys if k not in refused], "subs": subs}
                if params["keys"]:
                    blocked.update((r[0], r[1]) for r in (await session.execute(_BLOCKED_PG, params)).all())
            else:
                params = {"keys": json.dumps(active_keys), "subs": json.dumps(subs)}
                blocked.update((r[0], r[1]) for r in (await session.execute(_BLOCKED_SQLITE, params)).all())

        queued: list[dict[str, Any]] = []
        direct: list[dict[str, Any]] = []
        left_active = False
        lease_until = now + disp.lease if disp is not None else None
        for e in events:
            for s in e.matching:
                pair = (s.id, e.order_key)
                leased = room > 0 and s.status == "active" and pair not in blocked
                blocked.add(pair)  # a later event of this household for s waits behind this one
                row = {
                    "subscription_id": s.id,
                    "event_id": e.event_id,
                    "event_type": e.event_type,
                    "order_key": e.order_key,
                    "status": "pending",
                    "attempts": 0,
                    "total_attempts": 0,
                    "next_attempt_at": now,
                    "lease_owner": disp.owner if leased and disp is not None else None,
                    "lease_until": lease_until if leased else None,
                    "created_at": now,
                }
                if leased:
                    room -= 1
                    direct.append(row)
                else:
                    queued.append(row)
                    left_active = left_active or s.status == "active"
        # Direct rows first: a (subscription, household) pair's direct row is its first in this
        # batch, and the claim loop's order check compares ids, so it must get the smaller one.
        if direct and disp is not None:
            d = deliveries.c
            inserted = (
                await session.execute(
                    _insert_ignore(dialect, deliveries).returning(d.id, d.subscription_id, d.event_id), direct
                )
            ).all()
            by_event = {e.event_id: e for e in events}
            secrets: dict[str, list[str]] = self.uow.session.info["subscription_secrets"]
            for r in inserted:
                e = by_event[r.event_id]
                s = next(x for x in e.matching if x.id == r.subscription_id)
                batch.append(disp.claimed_for(r.id, s.id, e.event_id, s.url, e.payload, secrets.get(s.id, [])))
        if queued:
            # executemany of one cached statement (sent as multi-row INSERTs)
            await session.execute(_insert_ignore(dialect, deliveries), queued)
            if left_active:
                # left for the claim loop (blocked behind an earlier event, or no room)
                if disp is not None:
                    disp.unsettled = True
                after_commit(self.uow, "wake_dispatcher", self.wake)


def fanout_handler(wake: Callable[[], None], dispatcher: Callable[[], Dispatcher | None] | None = None) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        subs = await _subscriptions(uow)
        matching = [
            s for s in subs if matches_any(s.event_types, ev.domain, ev.name) and region_within(ev.region, s.region)
        ]
        if not matching:
            return
        try:
            _, payload = encode_event(ev)
        except PersonalDataInEvent as exc:
            raise PoisonEvent(f"event {ev.id} carries personal data; not forwarded") from exc
        fanned = _Fanned(ev.id, f"{ev.domain}.{ev.name}", order_key(ev.subject, ev.data)[:64], payload, matching)
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
