"""Bulk import + screening throughput of the identification service, in-process over HTTP
(ASGI) against a real database and a real NATS server (started from the wheel).

    .venv/bin/python bench/import_screen_bench.py --db sqlite   --households 100000
    .venv/bin/python bench/import_screen_bench.py --db postgres --households 100000
    .venv/bin/python bench/import_screen_bench.py --db postgres --households 1000000 --file /tmp/h1m.ndjson

Generates N synthetic households of county 341221 (`fangfan generate`, NDJSON) to a file,
streams the file to `POST /api/v1/households/import` in 64 KiB chunks, then runs
`POST /api/v1/screenings` over the county and polls `GET /api/v1/jobs/{id}`. Reports
households/s for each, warnings raised (= risk.warning_raised events in the outbox), and the
peak resident memory of the process (ru_maxrss) — which stays flat as N grows because the
body is parsed and stored batch by batch.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import sqlalchemy as sa

from services.identification.main import create_app
from shared.cli.generate import write_households
from shared.nats import NatsServer
from tests.conftest import PG_ADMIN_DSN, create_pg_database, drop_pg_database
from tests.helpers import auth, make_settings, running_app

CHUNK = 64 * 1024


def _cpu_s() -> float:
    """CPU seconds of this process (the service, its relay and the bench client; not the workers)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


async def _outbox_left(client: Any) -> int:
    ctx = client.app.state.ctx
    async with ctx.sessions() as s:
        outbox = ctx.tables["outbox"]
        unsent = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return int((await s.execute(unsent)).scalar_one())


async def bench(db: str, n: int, county: str, file: Path | None, reuse: str | None) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        data = file or tmp_path / "households.ndjson"
        t0 = time.perf_counter()
        if not data.exists():  # made once (2 processes), reused by later runs with --file
            write_households(data, n, county, workers=2)
        gen_s = time.perf_counter() - t0
        rss_before = _rss_mb()
        server = NatsServer(tmp_path / "js", log_file=tmp_path / "nats.log").start()
        pg_name = None
        import_s = rss_import = 0.0
        try:
            if db == "postgres" and reuse:
                url = f"{PG_ADMIN_DSN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+asyncpg://')}/{reuse}"
                admin = await asyncpg.connect(PG_ADMIN_DSN)
                try:
                    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", reuse)
                    if not exists:
                        await admin.execute(f'CREATE DATABASE "{reuse}"')
                finally:
                    await admin.close()
            elif db == "postgres":
                pg_name, url = await create_pg_database("fangfan_bench")
                exists = None
            else:
                url = f"sqlite+aiosqlite:///{tmp_path / 'identification.db'}"
                exists = None
            settings = make_settings(tmp_path, nats_url=server.url, database_url=url)
            headers = auth(settings, "province", county[:2])
            async with running_app(create_app, settings) as client:
                if exists:  # --reuse: households imported by an earlier run; screen them afresh
                    ctx = client.app.state.ctx  # type: ignore[attr-defined]
                    async with ctx.uow() as uow:
                        await uow.session.execute(sa.text("TRUNCATE household_outcomes, outbox"))
                        await uow.commit()
                else:
                    t0 = time.perf_counter()
                    r = await client.post(
                        "/api/v1/households/import",
                        content=_file_chunks(data),
                        headers=headers | {"content-type": "application/x-ndjson", "Idempotency-Key": "bench"},
                        timeout=None,
                    )
                    import_s = time.perf_counter() - t0
                    job = r.json()
                    assert job["rows_done"] == n, job
                    rss_import = _rss_mb()
                t0 = time.perf_counter()
                cpu0 = _cpu_s()
                r = await client.post(
                    "/api/v1/screenings", json={"region": county, "as_of": "2024-06-30"}, headers=headers
                )
                job_id = r.json()["id"]
                while True:
                    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
                    if job["status"] != "running":
                        break
                    await asyncio.sleep(0.1)
                screen_s = time.perf_counter() - t0
                screen_cpu = _cpu_s() - cpu0
                assert job["status"] == "completed", job
                while await _outbox_left(client):
                    await asyncio.sleep(0.1)
                drained_s = time.perf_counter() - t0
        finally:
            server.stop()
            if pg_name:
                await drop_pg_database(pg_name)
    return {
        "db": db,
        "households": n,
        "generate_s": round(gen_s, 1),
        "import_s": round(import_s, 1),
        "import_per_s": round(n / import_s) if import_s else "-",
        "screen_s": round(screen_s, 1),
        "screen_per_s": round(n / screen_s),
        "outbox_drained_s": round(drained_s, 1),
        "screen_cpu_s_service": round(screen_cpu, 1),
        "warnings_raised": job["result"]["warnings_raised"],
        "screening_chunks": job["chunks"]["total"],
        "rss_before_mb": round(rss_before),
        "rss_after_import_mb": round(rss_import),
        "peak_rss_mb": round(_rss_mb()),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--households", type=int, default=100_000)
    p.add_argument("--county", default="341221")
    p.add_argument("--file", type=Path, help="NDJSON to import: made here if missing, reused if present")
    p.add_argument(
        "--reuse",
        metavar="DATABASE",
        help="PostgreSQL only: keep the households in this database (created and imported on the first run); "
        "later runs skip the import and screen afresh (outcomes and outbox emptied first)",
    )
    args = p.parse_args()
    result = asyncio.run(bench(args.db, args.households, args.county, args.file, args.reuse))
    for k, v in result.items():
        print(f"{k:>20}: {v}")


if __name__ == "__main__":
    main()
