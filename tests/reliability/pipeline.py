"""A minimal producer/consumer pipeline on the shared outbox and inbox (for the relay-kill
scenario): state changes committed with their events, and consumers that write one effect row
per handled event, tagged with the consumer, with no unique key — so a double would show."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from shared.consumer import InboxConsumer, PoisonEvent
from shared.db import UnitOfWork, infra_tables, make_engine
from shared.events import Event
from shared.nats import NatsLink

metadata = sa.MetaData()
tables = infra_tables(metadata)
effects = sa.Table(
    "effects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("consumer", sa.String(100), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
)
REGION = "341221001001"


async def setup_engine(url: str) -> AsyncEngine:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return engine


def uow_factory(engine: AsyncEngine):  # type: ignore[no-untyped-def]
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return lambda: UnitOfWork(sessions, tables["outbox"])


async def commit_events(engine: AsyncEngine, start: int, count: int, *, poison: Collection[int] = ()) -> list[str]:
    """`count` events in one transaction (the state change is the event itself here); those
    numbered in `poison` are events the consumers can never handle. Returns the event ids."""
    ids = []
    async with uow_factory(engine)() as uow:
        for n in range(start, start + count):
            data = {"n": n, "poison": n in poison}
            ev = Event("test", "changed", subject=f"c{n}", region=REGION, data=data, source="test")
            uow.add_event(ev)
            ids.append(ev.id)
        await uow.commit()
    return ids


def make_consumer(engine: AsyncEngine, link: NatsLink, name: str, **kw: Any) -> InboxConsumer:
    async def record(uow: UnitOfWork, ev: Event) -> None:
        if ev.data.get("poison"):
            raise PoisonEvent(f"event {ev.data['n']} can never be handled")
        await uow.session.execute(sa.insert(effects).values(consumer=name, event_id=ev.id))

    return InboxConsumer(
        name=name,
        filter_subjects=["fangfan.test.>"],
        handler=record,
        uow_factory=uow_factory(engine),
        inbox=tables["inbox"],
        dead_letters=tables["dead_letters"],
        link=link,
        **kw,
    )
