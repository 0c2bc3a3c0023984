"""Webhook fan-out throughput and latency against a real NATS server (from the wheel), a real
database and real loopback receivers (aiohttp.web, in a child process of their own, so that they
do not take the service's event loop; receipts are stamped with the system-wide monotonic clock).

    .venv/bin/python bench/notification_bench.py --db sqlite   --events 10000 --subscribers 20
    .venv/bin/python bench/notification_bench.py --db postgres --events 10000 --subscribers 20

Phase 1 (burst): N events published to the stream as fast as JetStream takes them, each matching
all S subscriptions: deliveries/s (first publish → last receipt) and p50/p99 from an event's
publish to its receipt. Phase 2 (steady): a producer — another service, in a process of its own —
commits one event per transaction to its own outbox at --rate events/s for --seconds (its outbox
relay publishes them): p50/p99 from the producer's commit to the receipt, every subscriber.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from aiohttp import ClientSession, web
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
    """S loopback receivers (aiohttp.web) in a child process of their own, so that their work
    does not share the service's event loop and core; receipts are stamped with
    `time.monotonic()` (CLOCK_MONOTONIC, the same clock in both processes)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.ports = [free_port() for _ in range(n)]
        self.control = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.session: ClientSession | None = None
        self.count = 0

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--receivers", ",".join(map(str, self.ports)), "--control", str(self.control)
        )
        self.session = ClientSession(base_url=f"http://127.0.0.1:{self.control}")
        deadline = time.monotonic() + 20
        while True:
            try:
                await self.refresh()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def refresh(self) -> int:
        assert self.session is not None
        async with self.session.get("/count") as r:
            self.count = int(await r.text())
        return self.count

    async def receipts(self) -> dict[str, list[float]]:
        assert self.session is not None
        async with self.session.get("/receipts") as r:
            return await r.json()  # type: ignore[no-any-return]

    async def reset(self) -> None:
        assert self.session is not None
        async with self.session.post("/reset") as r:
            await r.read()
        self.count = 0

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.proc is not None:
            self.proc.terminate()
            await self.proc.wait()

    async def wait(self, total: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while await self.refresh() < total and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


async def _serve_receivers(ports: list[int], control: int) -> None:
    receipts: dict[str, list[float]] = {}
    count = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal count
        await request.read()
        receipts.setdefault(request.headers["webhook-id"], []).append(time.monotonic())
        count += 1
        return web.Response(status=204)

    async def get_count(_: web.Request) -> web.Response:
        return web.Response(text=str(count))

    async def get_receipts(_: web.Request) -> web.Response:
        return web.json_response(receipts)

    async def reset(_: web.Request) -> web.Response:
        nonlocal count
        receipts.clear()
        count = 0
        return web.Response(status=204)

    for port in ports:
        app = web.Application()
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    ctl = web.Application()
    ctl.router.add_get("/count", get_count)
    ctl.router.add_get("/receipts", get_receipts)
    ctl.router.add_post("/reset", reset)
    runner = web.AppRunner(ctl, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", control).start()
    await asyncio.Event().wait()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def latencies(sent: dict[str, float], receipts: dict[str, list[float]]) -> list[float]:
    return [(t - sent[eid]) * 1000 for eid, ts in receipts.items() if eid in sent for t in ts]


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="fangfan-noti-bench-"))
    server = NatsServer(tmp / "js", log_file=tmp / "nats.log").start()
    pg_name = prod_pg = None
    if args.db == "postgres":
        pg_name, url = await create_pg_database("fangfan_bench")
        # the producer (another service) keeps its outbox on PostgreSQL too, as in production
        prod_pg, prod_url = await create_pg_database("fangfan_bench_producer")
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'notification.db'}"
        prod_url = f"sqlite+aiosqlite:///{tmp / 'producer.db'}"
    settings = make_settings(tmp, nats_url=server.url, database_url=url)
    ns = NotificationSettings(webhook_max_in_flight=args.in_flight)
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
            t0 = time.monotonic()
            cpu0 = time.process_time()
            futures = []
            for eid, subject, payload in encoded:
                sent[eid] = time.monotonic()
                futures.append(await js.publish_async(subject, payload, headers={"Nats-Msg-Id": eid}))
            await asyncio.gather(*futures)
            await receivers.wait(total, args.timeout)
            elapsed = time.monotonic() - t0
            cpu = time.process_time() - cpu0
            got = receivers.count
            lat = latencies(sent, await receivers.receipts())
            print(f"burst: {args.events} events x {args.subscribers} subscribers ({args.db})")
            print(f"  deliveries {got}/{total} in {elapsed:.1f} s = {got / elapsed:,.0f} deliveries/s")
            print(f"  publish->receipt p50 {pct(lat, 50):,.0f} ms  p99 {pct(lat, 99):,.0f} ms")
            print(f"  service process CPU {cpu:.1f} s = {cpu / max(got, 1) * 1000:.2f} ms per delivery")
            await nc.close()

            # --- phase 2: steady rate, commit -> receipt, through a producer's outbox and relay
            # (another service: a process of its own, as in production)
            await receivers.reset()
            out = tmp / "committed.json"
            n = int(args.rate * args.seconds)
            producer = await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "--producer",
                prod_url,
                "--nats",
                server.url,
                "--rate",
                str(args.rate),
                "--seconds",
                str(args.seconds),
                "--out",
                str(out),
            )
            cpu0 = time.process_time()
            assert await producer.wait() == 0, "producer failed"
            committed: dict[str, float] = json.loads(await asyncio.to_thread(out.read_text))
            await receivers.wait(n * args.subscribers, args.timeout)
            lat = latencies(committed, await receivers.receipts())
            print(f"steady: {args.rate:g} events/s for {args.seconds:g} s x {args.subscribers} subscribers")
            print(
                f"  deliveries {receivers.count}/{n * args.subscribers}; commit->receipt "
                f"p50 {pct(lat, 50):,.1f} ms  p99 {pct(lat, 99):,.1f} ms  max {max(lat):,.1f} ms"
            )
            cpu = time.process_time() - cpu0
            print(f"  (mean {statistics.fmean(lat):.1f} ms; service process CPU {cpu / args.seconds:.0%} of a core)")
    finally:
        await receivers.stop()
        server.stop()
        for name in (pg_name, prod_pg):
            if name:
                await drop_pg_database(name)


async def produce(url: str, nats_url: str, rate: float, seconds: float) -> dict[str, float]:
    """The producer (child process): commits one event per transaction to its own outbox at
    `rate` events/s, its relay publishes them; returns {event id: commit time}."""
    engine = make_engine(url)
    md = sa.MetaData()
    outbox = infra_tables(md)["outbox"]
    async with engine.begin() as conn:
        await conn.run_sync(md.create_all)
    link = NatsLink(nats_url, name="bench-producer")
    link.start()
    await link.wait_ready(15)
    relay = OutboxRelay(engine, outbox, link, service="producer", idle_interval=0.05)
    relay.start()
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    committed: dict[str, float] = {}
    n = int(rate * seconds)
    start = time.monotonic()
    for i in range(n):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        ev = Event("risk", "warning_raised", f"hh-{i}", VILLAGE, {"household_id": f"hh-{i}", "n": i})
        async with UnitOfWork(sessions, outbox, on_commit=relay.wake) as uow:
            uow.add_event(ev)
            await uow.commit()
        committed[ev.id] = time.monotonic()
    while await relay.backlog():
        await asyncio.sleep(0.05)
    await relay.stop()
    await link.close()
    await engine.dispose()
    return committed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--subscribers", type=int, default=20)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--in-flight", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--profile", metavar="FILE", help="cProfile the whole run (service and bench) into FILE")
    ap.add_argument("--receivers", help=argparse.SUPPRESS)  # child process: serve these ports
    ap.add_argument("--producer", help=argparse.SUPPRESS)  # child process: produce into this database
    ap.add_argument("--nats", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--control", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.receivers:
        asyncio.run(_serve_receivers([int(p) for p in args.receivers.split(",")], args.control))
        return
    if args.producer:
        os.environ.setdefault("FANGFAN_LOG_LEVEL", "WARNING")
        committed = asyncio.run(produce(args.producer, args.nats, args.rate, args.seconds))
        Path(args.out).write_text(json.dumps(committed))
        return
    if args.profile:
        import cProfile

        os.environ.setdefault("FANGFAN_LOG_LEVEL", "WARNING")
        cProfile.runctx("asyncio.run(run(args))", globals(), {"args": args}, args.profile)
        return
    os.environ.setdefault("FANGFAN_LOG_LEVEL", "WARNING")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
