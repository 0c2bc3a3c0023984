"""Fan-out (分发): every event on the stream becomes one delivery row per matching subscription
(type pattern and region prefix), in the consumer's transaction, so that a redelivered event —
absorbed by the inbox — never queues a second delivery. Disabled subscriptions still queue (held
until re-enabled: re-enabling replays what they missed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from services.notification.adapters.orm import deliveries, event_payloads, subscriptions
from services.notification.application.common import after_commit
from services.notification.domain.patterns import matches_any, order_key
from shared.consumer import EventHandler, PoisonEvent
from shared.db import UnitOfWork, utcnow
from shared.events import Event, PersonalDataInEvent, encode_event
from shared.identifiers import region_within

__all__ = ["fanout_handler"]


async def _subscriptions(uow: UnitOfWork) -> list[Any]:
    """Read once per transaction (a consumer batch), not once per event."""
    cached: list[Any] | None = uow.session.info.get("subscriptions")
    if cached is None:
        s = subscriptions.c
        cached = list((await uow.session.execute(sa.select(s.id, s.event_types, s.region))).all())
        uow.session.info["subscriptions"] = cached
    return cached


def _insert_ignore(dialect: str, table: sa.Table) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def fanout_handler(wake: Callable[[], None]) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        subs = await _subscriptions(uow)
        matching = [
            s.id for s in subs if matches_any(s.event_types, ev.domain, ev.name) and region_within(ev.region, s.region)
        ]
        if not matching:
            return
        try:
            _, payload = encode_event(ev)
        except PersonalDataInEvent as exc:
            raise PoisonEvent(f"event {ev.id} carries personal data; not forwarded") from exc
        now = utcnow()
        dialect = uow.session.get_bind().dialect.name
        etype = f"{ev.domain}.{ev.name}"
        await uow.session.execute(
            _insert_ignore(dialect, event_payloads),
            [{"event_id": ev.id, "event_type": etype, "payload": payload, "created_at": now}],
        )
        key = order_key(ev.subject, ev.data)[:64]
        rows = [
            {
                "subscription_id": sid,
                "event_id": ev.id,
                "event_type": etype,
                "order_key": key,
                "status": "pending",
                "attempts": 0,
                "total_attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for sid in matching
        ]
        # executemany of one cached statement (a multi-row VALUES would be compiled per event)
        await uow.session.execute(_insert_ignore(dialect, deliveries), rows)
        after_commit(uow, "wake_dispatcher", wake)

    return handle
