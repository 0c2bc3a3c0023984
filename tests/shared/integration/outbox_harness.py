"""A tiny service used by the outbox/consumer tests: one table of state changes and one table of
effects that the consumer writes, so 'exactly once' is a count we can check."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from shared.consumer import InboxConsumer, PoisonEvent
from shared.db import UnitOfWork, infra_tables, make_engine
from shared.events import Event
from shared.nats import NatsLink
from shared.outbox import OutboxRelay

metadata = sa.MetaData()
tables = infra_tables(metadata)
changes = sa.Table(
    "changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("n", sa.Integer, nullable=False),
)
effects = sa.Table(
    "effects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False),  # not unique on purpose: doubles must show
    sa.Column("n", sa.Integer, nullable=False),
)
REGION = "341221001001"


async def setup_engine(url: str) -> AsyncEngine:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return engine


def uow_factory(engine: AsyncEngine, on_commit=None):  # type: ignore[no-untyped-def]
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return lambda: UnitOfWork(sessions, tables["outbox"], on_commit=on_commit)


async def commit_changes(engine: AsyncEngine, count: int, *, start: int = 0, per_tx: int = 1) -> list[str]:
    """`count` state changes, each with its event, `per_tx` of them per transaction."""
    make = uow_factory(engine)
    ids: list[str] = []
    for base in range(start, start + count, per_tx):
        async with make() as uow:
            for n in range(base, min(base + per_tx, start + count)):
                await uow.session.execute(sa.insert(changes).values(n=n))
                ev = Event("test", "changed", subject=f"c{n}", region=REGION, data={"n": n}, source="test")
                uow.add_event(ev)
                ids.append(ev.id)
            await uow.commit()
    return ids


async def record_effect(uow: UnitOfWork, ev: Event) -> None:
    if ev.data.get("poison"):
        raise PoisonEvent("this event can never be handled") if ev.data["poison"] == "hard" else RuntimeError("boom")
    await uow.session.execute(sa.insert(effects).values(event_id=ev.id, n=int(ev.data["n"])))


def make_consumer(engine: AsyncEngine, link: NatsLink, **kw) -> InboxConsumer:  # type: ignore[no-untyped-def]
    return InboxConsumer(
        name=kw.pop("name", "test-effects"),
        filter_subjects=["fangfan.test.>"],
        handler=record_effect,
        uow_factory=uow_factory(engine),
        inbox=tables["inbox"],
        dead_letters=tables["dead_letters"],
        link=link,
        **kw,
    )


def make_relay(engine: AsyncEngine, link: NatsLink, **kw) -> OutboxRelay:  # type: ignore[no-untyped-def]
    return OutboxRelay(engine, tables["outbox"], link, service="test", **kw)


async def effect_stats(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        total = (await conn.execute(sa.select(sa.func.count()).select_from(effects))).scalar_one()
        distinct = (await conn.execute(sa.select(sa.func.count(sa.distinct(effects.c.event_id))))).scalar_one()
        await conn.rollback()
    return int(total), int(distinct)


async def wait_for(predicate, timeout: float, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)
