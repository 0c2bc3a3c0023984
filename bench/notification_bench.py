"""Webhook fan-out throughput and latency against a real NATS server (from the wheel), a real
database and real loopback receivers (aiohttp.web, in this process — so the figures include the
receivers' share of the one event loop and are conservative).

    .venv/bin/python bench/notification_bench.py --db sqlite   --events 10000 --subscribers 20
    .venv/bin/python bench/notification_bench.py --db postgres --events 10000 --subscribers 20

Phase 1 (burst): N events published to the stream as fast as JetStream takes them, each matching
all S subscriptions: deliveries/s (first publish → last receipt) and p50/p99 from an event's
publish to its receipt. Phase 2 (steady): a producer commits one event per transaction to its own
outbox at --rate events/s for --seconds (the outbox relay publishes them): p50/p99 from the
producer's commit to the receipt, every subscriber.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import nats
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.notification.main import create_app
from services.notification.settings import NotificationSettings
from shared.db import UnitOfWork, infra_tables, make_engine
from shared.events import Event, encode_event
from shared.nats import NatsLink, NatsServer, free_port
from shared.outbox import OutboxRelay
from tests.conftest import create_pg_database, drop_pg_database
from tests.helpers import auth, make_settings

VILLAGE = "341221001001"


class Receivers:
    def __init__(self, n: int) -> None:
        self.n = n
        self.ports = [free_port() for _ in range(n)]
        self.receipts: dict[str, list[float]] = {}
        self.count = 0
        self.runners: list[web.AppRunner] = []

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.receipts.setdefault(request.headers["webhook-id"], []).append(time.perf_counter())
        self.count += 1
        return web.Response(status=204)

    async def start(self) -> None:
        for port in self.ports:
            app = web.Application()
            app.router.add_post("/hook", self._handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
            self.runners.append(runner)

    async def stop(self) -> None:
        for r in self.runners:
            await r.cleanup()

    async def wait(self, total: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count < total and time.monotonic() < deadline:
            await asyncio.sleep(0.02)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def latencies(sent: dict[str, float], receipts: dict[str, list[float]]) -> list[float]:
    return [(t - sent[eid]) * 1000 for eid, ts in receipts.items() if eid in sent for t in ts]


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="fangfan-noti-bench-"))
    server = NatsServer(tmp / "js", log_file=tmp / "nats.log").start()
    pg_name = None
    if args.db == "postgres":
        pg_name, url = await create_pg_database("fangfan_bench")
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'notification.db'}"
    settings = make_settings(tmp, nats_url=server.url, database_url=url)
    ns = NotificationSettings(webhook_poll_s=0.05, webhook_max_in_flight=args.in_flight)
    receivers = Receivers(args.subscribers)
    await receivers.start()
    app = create_app(settings, ns)
    try:
        async with app.router.lifespan_context(app):
            ctx = app.state.ctx
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                headers = auth(settings, "county", "341221")
                for port in receivers.ports:
                    r = await client.post(
                        "/api/v1/subscriptions",
                        json={"url": f"http://127.0.0.1:{port}/hook", "event_types": ["risk.*"], "region": "341221"},
                        headers=headers,
                    )
                    assert r.status_code == 201, r.text
            await ctx.link.wait_ready(15)

            # --- phase 1: burst
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            events = [
                Event("risk", "warning_raised", f"hh-{i % 2000}", VILLAGE, {"household_id": f"hh-{i % 2000}", "n": i})
                for i in range(args.events)
            ]
            encoded = [(ev.id, *encode_event(ev)) for ev in events]
            sent: dict[str, float] = {}
            total = args.events * args.subscribers
            t0 = time.perf_counter()
            futures = []
            for eid, subject, payload in encoded:
                sent[eid] = time.perf_counter()
                futures.append(await js.publish_async(subject, payload, headers={"Nats-Msg-Id": eid}))
            await asyncio.gather(*futures)
            await receivers.wait(total, args.timeout)
            elapsed = time.perf_counter() - t0
            got = receivers.count
            lat = latencies(sent, receivers.receipts)
            print(f"burst: {args.events} events x {args.subscribers} subscribers ({args.db})")
            print(f"  deliveries {got}/{total} in {elapsed:.1f} s = {got / elapsed:,.0f} deliveries/s")
            print(f"  publish->receipt p50 {pct(lat, 50):,.0f} ms  p99 {pct(lat, 99):,.0f} ms")
            await nc.close()

            # --- phase 2: steady rate, commit -> receipt, through a producer's outbox and relay
            receivers.receipts.clear()
            receivers.count = 0
            prod_engine = make_engine(f"sqlite+aiosqlite:///{tmp / 'producer.db'}")
            md = sa.MetaData()
            outbox = infra_tables(md)["outbox"]
            async with prod_engine.begin() as conn:
                await conn.run_sync(md.create_all)
            link = NatsLink(server.url, name="bench-producer")
            link.start()
            await link.wait_ready(15)
            relay = OutboxRelay(prod_engine, outbox, link, service="producer", idle_interval=0.05)
            relay.start()
            sessions = async_sessionmaker(prod_engine, expire_on_commit=False)
            committed: dict[str, float] = {}
            n = int(args.rate * args.seconds)
            start = time.perf_counter()
            for i in range(n):
                due = start + i / args.rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                ev = Event("risk", "warning_raised", f"hh-{i}", VILLAGE, {"household_id": f"hh-{i}", "n": i})
                async with UnitOfWork(sessions, outbox, on_commit=relay.wake) as uow:
                    uow.add_event(ev)
                    await uow.commit()
                committed[ev.id] = time.perf_counter()
            await receivers.wait(n * args.subscribers, args.timeout)
            lat = latencies(committed, receivers.receipts)
            print(f"steady: {args.rate:g} events/s for {args.seconds:g} s x {args.subscribers} subscribers")
            print(
                f"  deliveries {receivers.count}/{n * args.subscribers}; commit->receipt "
                f"p50 {pct(lat, 50):,.1f} ms  p99 {pct(lat, 99):,.1f} ms  max {max(lat):,.1f} ms"
            )
            print(f"  (mean {statistics.fmean(lat):.1f} ms)")
            await relay.stop()
            await link.close()
            await prod_engine.dispose()
    finally:
        await receivers.stop()
        server.stop()
        if pg_name:
            await drop_pg_database(pg_name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--subscribers", type=int, default=20)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--in-flight", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()
    os.environ.setdefault("FANGFAN_LOG_LEVEL", "WARNING")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
