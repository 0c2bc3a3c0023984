"""Scenario 5 (issue 10): 10 poison events among 10,000, through the outbox relay to a
consumer on the shared `InboxConsumer` (production settings: batches of 500, max_deliver 5).
Poison: three messages that are not events at all (not JSON, not a CloudEvent, a JSON list),
published straight to the stream, and seven committed events the handler can never handle
(`PoisonEvent`). Checked: each poison is in `dead_letters` within 60 s of its
commit or publication; the 9,990 others are handled once; the durable
consumer ends with nothing pending and nothing unacknowledged (nothing stalled behind a poison)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import nats
import pytest
import sqlalchemy as sa

from shared.events import event_subject
from shared.nats import NatsLink, NatsServer
from shared.outbox import OutboxRelay
from tests.reliability import checker, pipeline
from tests.reliability.system import ON_POSTGRES_ONLY, until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(**ON_POSTGRES_ONLY)]

EVENTS = 10_000
CONSUMERS = ("reliability-poison",)
RAW_POISON = [b"not json at all", b'{"specversion": "1.0", "type": "cn.fangfan.test.changed.v1"}', b'["a", "list"]']


async def _pending(url: str, durable: str) -> tuple[int, int]:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info("FANGFAN", durable)
        return int(info.num_pending or 0), int(info.num_ack_pending or 0)
    finally:
        await nc.close()


async def test_ten_poison_events_among_ten_thousand(database_url: str, nats_server: NatsServer) -> None:
    engine = await pipeline.setup_engine(database_url)
    link = NatsLink(nats_server.url, name="reliability-poison")
    link.start()
    await link.wait_ready(15)
    relay = OutboxRelay(engine, pipeline.tables["outbox"], link, service="reliability")
    consumers = [pipeline.make_consumer(engine, link, name) for name in CONSUMERS]
    report: dict[str, Any] = {}
    committed = EVENTS - len(RAW_POISON)
    step = committed // 7
    poison_n = {k * step + step // 2 for k in range(7)}
    raw_at = {i * (EVENTS // 3) + 1000: payload for i, payload in enumerate(RAW_POISON)}  # after which commit
    relay.start()
    for consumer in consumers:
        consumer.start()
    try:
        t0 = time.time()
        ids: list[str] = []
        raw_published: dict[bytes, float] = {}
        for start in range(0, committed, 100):
            ids += await pipeline.commit_events(engine, start, min(100, committed - start), poison=poison_n)
            for after, payload in raw_at.items():
                if start <= after < start + 100:
                    assert link.js is not None
                    await link.js.publish(event_subject("test", "changed", pipeline.REGION), payload)
                    raw_published[payload] = time.time()
        report["committed_s"] = round(time.time() - t0, 1)
        poison_ids = {ids[n] for n in poison_n}
        good = set(ids) - poison_ids
        assert len(ids) + len(RAW_POISON) == EVENTS
        assert len(good) == EVENTS - 10

        async def settled() -> bool:
            dead = int(await _scalar(engine, sa.select(sa.func.count()).select_from(pipeline.tables["dead_letters"])))
            if dead < 10 * len(CONSUMERS):
                return False
            return all([await _pending(nats_server.url, name) == (0, 0) for name in CONSUMERS])

        assert await until(settled, 90, 0.25)
        report["all_done_s"] = round(time.time() - t0, 1)
        await asyncio.sleep(1.0)

        created = {r.event_id: r.created_at.timestamp() for r in await _rows(engine, pipeline.tables["outbox"])}
        dead_rows = await _rows(engine, pipeline.tables["dead_letters"])
        waited: list[float] = []
        for name in CONSUMERS:
            mine = [r for r in dead_rows if r.consumer == name]
            assert {r.event_id for r in mine if r.event_id} == poison_ids
            assert sorted(bytes(r.payload) for r in mine if r.event_id is None) == sorted(RAW_POISON)
            assert len(mine) == 10
            for r in mine:
                since = created[r.event_id] if r.event_id else raw_published[bytes(r.payload)]
                waited.append(r.created_at.timestamp() - since)
            assert await checker.inbox(database_url, name) == good  # a dead letter is not marked handled
            assert await _pending(nats_server.url, name) == (0, 0)
        report["dead_letter_after_s"] = {"min": round(min(waited), 2), "max": round(max(waited), 2)}
        report["dead_letter_errors"] = sorted({r.error.split(":")[0] for r in dead_rows})
        assert max(waited) <= 60
        e = pipeline.effects.c
        counts = sa.select(e.consumer, sa.func.count(), sa.func.count(sa.distinct(e.event_id))).group_by(e.consumer)
        rows = await _all(engine, counts)
        assert {r[0]: (r[1], r[2]) for r in rows} == {name: (len(good), len(good)) for name in CONSUMERS}
        report["handled_per_consumer"] = len(good)
    finally:
        print("\nscenario 5:", json.dumps(report, indent=1))
        for consumer in consumers:
            await consumer.stop()
        await relay.stop()
        await link.close()
        await engine.dispose()


async def _all(engine: Any, stmt: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(stmt)).all())


async def _rows(engine: Any, table: sa.Table) -> list[Any]:
    return await _all(engine, sa.select(table))


async def _scalar(engine: Any, stmt: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(stmt)).scalar_one()
