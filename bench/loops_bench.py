"""The income loop's consumer (docs/procedure.md "The loops"): identification running with its
real lifespan, N generated households imported, N `assistance.income_updated` events (one per
household, as assistance's relay publishes them) put into JetStream; measured: the time until
every event has been handled (inbox rows), i.e. stored income + re-assessment + outcome +
warning events, per event.

    .venv/bin/python bench/loops_bench.py --db sqlite --households 2000
    .venv/bin/python bench/loops_bench.py --db postgres --households 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nats
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.identification.main import create_app
from shared.cli.generate import generate_households
from shared.events import Event, encode_event
from shared.nats import NatsServer
from tests.conftest import create_pg_database, drop_pg_database
from tests.helpers import auth, make_settings, running_app

COUNTY = "341221"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def main(db: str, n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="loops-bench-"))
    server = NatsServer(tmp / "js", log_file=tmp / "nats.log").start()
    pg = None
    if db == "postgres":
        pg, url = await create_pg_database("fangfan_bench")
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'iden.db'}"
    try:
        settings = make_settings(tmp, nats_url=server.url, database_url=url)
        async with running_app(create_app, settings) as client:
            ctx = client.app.state.ctx  # type: ignore[attr-defined]
            await ctx.link.wait_ready(10)
            body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in generate_households(n, COUNTY)).encode()
            r = await client.post(
                "/api/v1/households/import",
                content=body,
                headers={"content-type": "application/x-ndjson"} | auth(settings, "county", COUNTY),
            )
            assert r.json()["rows_done"] == n, r.text
            async with ctx.sessions() as s:
                rows = (await s.execute(sa.text("SELECT id, region_code FROM households"))).all()
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            started, cpu = time.perf_counter(), _cpu()
            acks = []
            for i, (hid, region) in enumerate(rows):
                ev = Event(
                    "assistance",
                    "income_updated",
                    hid,
                    region,
                    {
                        "household_id": hid,
                        "region_code": region,
                        "visit_id": uuid.uuid4().hex,
                        "visited_on": "2024-06-30",
                        "income": {"wage": str(2000 + 37 * i)},
                    },
                    source="assistance",
                )
                subject, payload = encode_event(ev)
                acks.append(await js.publish_async(subject, payload, headers={"Nats-Msg-Id": ev.id}))
            await asyncio.gather(*acks)
            await nc.close()
            while True:
                async with ctx.sessions() as s:
                    done = (await s.execute(sa.text("SELECT count(*) FROM inbox"))).scalar_one()
                if done >= n:
                    break
                await asyncio.sleep(0.05)
            wall, used = time.perf_counter() - started, _cpu() - cpu
            async with ctx.sessions() as s:
                events = (
                    await s.execute(sa.text("SELECT count(*) FROM outbox WHERE subject LIKE 'fangfan.risk.warning_%'"))
                ).scalar_one()
        print(
            f"{db}: {n} income updates handled in {wall:.2f} s = {n / wall:,.0f} events/s, "
            f"{1e6 * used / n:,.0f} µs CPU/event (this process); {events} warning events"
        )
    finally:
        server.stop()
        if pg is not None:
            await drop_pg_database(pg)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--households", type=int, default=2000)
    a = p.parse_args()
    asyncio.run(main(a.db, a.households))
