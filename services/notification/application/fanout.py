"""Fan-out (分发): every event on the stream becomes one delivery row per matching subscription
(type pattern and region prefix), in the consumer's transaction, so that a redelivered event —
absorbed by the inbox — never queues a second delivery. Disabled subscriptions still queue (held
until re-enabled: re-enabling replays what they missed).

Direct hand-off: a row that the dispatcher of this replica could send at once (active
subscription, no earlier pending delivery of the same household for that subscription, room in
the dispatcher) is inserted already leased to that dispatcher, and handed to it when the
transaction commits — no polling interval and no separate claim transaction on the way from the
event to the receiver. Everything else (held, blocked behind an earlier event, no room) is left
unleased for the dispatcher's claim loop, exactly as before."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from services.notification.adapters.orm import deliveries, event_payloads, subscription_secrets, subscriptions
from services.notification.application.common import after_commit
from services.notification.domain.patterns import matches_any, order_key
from shared.consumer import EventHandler, PoisonEvent
from shared.db import UnitOfWork, utcnow
from shared.events import Event, PersonalDataInEvent, encode_event
from shared.identifiers import region_within

if TYPE_CHECKING:
    from services.notification.application.dispatcher import Dispatcher, _Claimed

__all__ = ["fanout_handler"]

# Earlier pending deliveries of the same household, per subscription (the partial index
# ix_deliveries_order answers it: one probe per subscription).
_BLOCKED_PG = sa.text(
    "SELECT DISTINCT subscription_id FROM deliveries WHERE status = 'pending' AND order_key = :key "
    "AND subscription_id = ANY(CAST(:subs AS varchar[]))"
)
# Held until the fan-out transaction ends; never waited for (no deadlock between replicas).
_HOUSEHOLD_LOCK_PG = sa.text("SELECT pg_try_advisory_xact_lock(hashtext('fangfan.order:' || :key))")
_BLOCKED_SQLITE = sa.text(
    "SELECT DISTINCT subscription_id FROM deliveries WHERE status = 'pending' AND order_key = :key "
    "AND subscription_id IN (SELECT value FROM json_each(:subs))"
)


async def _subscriptions(uow: UnitOfWork) -> list[Any]:
    """Read once per transaction (a consumer batch), not once per event."""
    cached: list[Any] | None = uow.session.info.get("subscriptions")
    if cached is None:
        s = subscriptions.c
        cached = list((await uow.session.execute(sa.select(s.id, s.event_types, s.region, s.status, s.url))).all())
        uow.session.info["subscriptions"] = cached
    return cached


async def _secrets(uow: UnitOfWork, now: dt.datetime) -> dict[str, list[str]]:
    """The encrypted signing secrets of every subscription, newest first; once per transaction."""
    cached: dict[str, list[str]] | None = uow.session.info.get("subscription_secrets")
    if cached is None:
        ss = subscription_secrets.c
        cached = {}
        for row in (
            await uow.session.execute(
                sa.select(ss.subscription_id, ss.secret_enc)
                .where(sa.or_(ss.expires_at.is_(None), ss.expires_at > now))
                .order_by(ss.id.desc())
            )
        ).all():
            cached.setdefault(row.subscription_id, []).append(row.secret_enc)
        uow.session.info["subscription_secrets"] = cached
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
        now = utcnow()
        session = uow.session
        dialect = session.get_bind().dialect.name
        etype = f"{ev.domain}.{ev.name}"
        await session.execute(
            _insert_ignore(dialect, event_payloads),
            [{"event_id": ev.id, "event_type": etype, "payload": payload, "created_at": now}],
        )
        key = order_key(ev.subject, ev.data)[:64]

        # Which rows go straight to our dispatcher, leased in this very transaction.
        disp = dispatcher() if dispatcher is not None else None
        direct_ids: set[str] = set()
        batch: list[_Claimed] = []
        active = [s.id for s in matching if s.status == "active"]
        if disp is not None and active:
            batch = _direct_batch(uow, disp)
            room = disp.room() - len(batch)
            if room > 0:
                params = {"key": key, "subs": active}
                if dialect == "postgresql":
                    # Another replica fanning out this household right now (its rows not yet
                    # visible to us): leave ours to the claim loop rather than race it.
                    if (await session.execute(_HOUSEHOLD_LOCK_PG, {"key": key})).scalar_one():
                        blocked = set((await session.execute(_BLOCKED_PG, params)).scalars())
                    else:
                        blocked = set(active)
                else:
                    params["subs"] = json.dumps(active)
                    blocked = set((await session.execute(_BLOCKED_SQLITE, params)).scalars())
                direct_ids = set([sid for sid in active if sid not in blocked][:room])

        def row(sid: str, leased: bool) -> dict[str, Any]:
            return {
                "subscription_id": sid,
                "event_id": ev.id,
                "event_type": etype,
                "order_key": key,
                "status": "pending",
                "attempts": 0,
                "total_attempts": 0,
                "next_attempt_at": now,
                "lease_owner": disp.owner if leased and disp is not None else None,
                "lease_until": now + disp.lease if leased and disp is not None else None,
                "created_at": now,
            }

        queued = [row(s.id, False) for s in matching if s.id not in direct_ids]
        if queued:
            # executemany of one cached statement (a multi-row VALUES would be compiled per event)
            await session.execute(_insert_ignore(dialect, deliveries), queued)
            if any(s.status == "active" for s in matching if s.id not in direct_ids):
                # left for the claim loop (blocked behind an earlier event, or no room)
                if disp is not None:
                    disp.unsettled = True
                after_commit(uow, "wake_dispatcher", wake)
        if direct_ids and disp is not None:
            d = deliveries.c
            inserted = (
                await session.execute(
                    _insert_ignore(dialect, deliveries).returning(d.id, d.subscription_id),
                    [row(sid, True) for sid in active if sid in direct_ids],
                )
            ).all()
            by_id = {s.id: s for s in matching}
            secrets = await _secrets(uow, now)
            for r in inserted:
                s = by_id[r.subscription_id]
                batch.append(disp.claimed_for(r.id, s.id, ev.id, s.url, payload, secrets.get(s.id, [])))

    return handle
