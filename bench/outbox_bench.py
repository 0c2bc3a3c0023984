"""Outbox relay and inbox consumer throughput against a real NATS server (started from the wheel)
and a real database.

    .venv/bin/python bench/outbox_bench.py --db sqlite --events 50000
    .venv/bin/python bench/outbox_bench.py --db postgres --events 50000

Relay: events already committed to the outbox → published to JetStream and marked (events/s).
Consumer: events in the stream → handled with an inbox row each, committed, acked (events/s).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from shared.consumer import InboxConsumer
from shared.db import UnitOfWork, utcnow
from shared.events import Event, encode_event
from shared.nats import NatsLink, NatsServer
from tests.conftest import create_pg_database, drop_pg_database
from tests.shared.integration import outbox_harness as h


async def fill_outbox(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    rows = []
    now = utcnow()
    for i in range(n):
        ev = Event("bench", "changed", f"c{i}", h.REGION, {"n": i, "note": "x" * 64})
        subject, payload = encode_event(ev)
        rows.append({"event_id": ev.id, "subject": subject, "payload": payload, "created_at": now})
    async with engine.begin() as conn:
        for i in range(0, n, 5000):
            await conn.execute(sa.insert(h.tables["outbox"]), rows[i : i + 5000])


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fangfan-bench-"))
    server = NatsServer(tmp / "js").start()
    pg_name = None
    if args.db == "postgres":
        pg_name, url = await create_pg_database("fangfan_bench")
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    engine = await h.setup_engine(url)
    link = NatsLink(server.url, name="bench")
    link.start()
    await link.wait_ready(10)
    try:
        await fill_outbox(engine, args.events)
        relay = h.make_relay(engine, link, batch_size=args.batch)
        t0, c0 = time.perf_counter(), time.process_time()
        while await relay.publish_batch():
            pass
        relay_s, relay_cpu = time.perf_counter() - t0, time.process_time() - c0
        assert await relay.backlog() == 0

        async def noop(uow: UnitOfWork, ev: Event) -> None:
            return None

        consumer = InboxConsumer(
            name="bench",
            filter_subjects=["fangfan.bench.>"],
            handler=noop,
            uow_factory=h.uow_factory(engine),
            inbox=h.tables["inbox"],
            dead_letters=h.tables["dead_letters"],
            link=link,
            batch_size=args.batch,
        )
        t0, c0 = time.perf_counter(), time.process_time()
        consumer.start()
        while consumer.handled < args.events:
            await asyncio.sleep(0.01)
        consumer_s, consumer_cpu = time.perf_counter() - t0, time.process_time() - c0
        await consumer.stop()
        print(f"db={args.db} events={args.events} batch={args.batch}")
        # CPU time of this process per event: steadier than wall time on a shared machine, and
        # 1e6 / (µs per event) is the rate one free core would reach.
        print(
            f"relay:    {args.events / relay_s:,.0f} events/s ({relay_s:.2f} s), "
            f"{relay_cpu / args.events * 1e6:.1f} µs CPU/event"
        )
        print(
            f"consumer: {args.events / consumer_s:,.0f} events/s ({consumer_s:.2f} s), "
            f"{consumer_cpu / args.events * 1e6:.1f} µs CPU/event"
        )
    finally:
        await link.close()
        await engine.dispose()
        server.stop()
        if pg_name:
            await drop_pg_database(pg_name)


if __name__ == "__main__":
    asyncio.run(main())
