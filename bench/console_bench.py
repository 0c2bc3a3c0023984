"""The household registry look-up the officer console pages on: latency of `GET /households`
(first and deep pages, each filter), `POST /households/search` and `GET /households/{id}/risk`
with a county of N households, in-process over HTTP (ASGI) against a real database.

    .venv/bin/python bench/console_bench.py --db sqlite --households 100000 --file /tmp/h100k.ndjson
    .venv/bin/python bench/console_bench.py --db sqlite --reuse /tmp/console-bench.db   # skip the import
    .venv/bin/python bench/console_bench.py --overview   # GET /households/{id}/overview, whole system

Imports N synthetic households of county 341221 (`fangfan generate`), screens them (so outcomes
and warnings exist), opens a few cases by application, then times each query `--rounds` times
per role and reports p50/p95 in ms. `registry_timings(client, headers_of)` is the part another
bench (the console's pages) can call with its own running service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from services.identification.main import create_app
from shared.cli.generate import generate_households, write_households
from shared.nats import NatsServer
from tests.helpers import auth, make_settings, running_app

COUNTY = "341221"
CHUNK = 64 * 1024
HeadersOf = Callable[[str, str], dict[str, str]]


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


async def _timed(rounds: int, call: Callable[[], Awaitable[httpx.Response]]) -> dict[str, float]:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = await call()
        samples.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(p95, 1), "n": rounds}


async def registry_timings(
    client: httpx.AsyncClient, headers_of: HeadersOf, *, county: str = COUNTY, rounds: int = 20
) -> dict[str, dict[str, float]]:
    """p50/p95 of the registry queries the console makes, for a county officer and a village
    officer of the county's first village. `headers_of(role, region)` mints the credentials."""
    c = headers_of("county", county)
    first = (await client.get("/api/v1/households", params={"limit": 1}, headers=c)).json()["items"][0]
    village = first["region_code"]
    v = headers_of("village", village)
    # a cursor deep in the county: walk 20 pages of 200
    cursor = None
    for _ in range(20):
        body = (await client.get("/api/v1/households", params={"limit": 200, "cursor": cursor}, headers=c)).json()
        cursor = body["next_cursor"] or cursor
    one = (await client.get("/api/v1/households", params={"state": "open_case"}, headers=c)).json()["items"]
    target = (one or [first])[0]
    out: dict[str, dict[str, float]] = {}

    def page(h: dict[str, str], **params: Any) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: client.get("/api/v1/households", params={"limit": 50, **params}, headers=h)

    cases: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
        ("county: first page", page(c)),
        ("county: page 21 (cursor)", page(c, cursor=cursor)),
        ("county: state=monitored", page(c, state="monitored")),
        ("county: state=open_case", page(c, state="open_case")),
        ("county: warning=red", page(c, warning="red")),
        ("county: warning=orange", page(c, warning="orange")),
        ("county: category=marginal", page(c, category="marginal")),
        ("county: category=sudden_hardship", page(c, category="sudden_hardship")),
        ("county: warning=red&category=unstable_escaped", page(c, warning="red", category="unstable_escaped")),
        ("county: q=household number prefix", page(c, q=target["household_number"][:12])),
        ("county: q=head's exact name", page(c, q="张伟")),
        ("village: first page", page(v)),
        ("village: warning=yellow", page(v, warning="yellow")),
        ("village: state=eliminated (none)", page(v, state="eliminated")),
        ("county: household risk", lambda: client.get(f"/api/v1/households/{target['id']}/risk", headers=c)),
    ]
    for name, call in cases:
        t0 = time.perf_counter()
        await call()  # the first call (the name search: builds the county's name index)
        first_ms = round((time.perf_counter() - t0) * 1000, 1)
        out[name] = {**await _timed(rounds, call), "first_ms": first_ms}
    return out


async def overview_timings(
    client: httpx.AsyncClient, headers: dict[str, str], household_id: str, *, rounds: int = 30
) -> dict[str, float]:
    """p50/p95 of `GET /households/{id}/overview` through the gateway (`client` on the gateway)."""

    async def call() -> httpx.Response:
        return await client.get(f"/api/v1/households/{household_id}/overview", headers=headers)

    await call()
    return await _timed(rounds, call)


async def bench_overview(rounds: int) -> dict[str, Any]:
    """The whole system in one process (`fangfan demo`'s walk: a county of 200 households, one
    household taken to monitored with a plan), then its overview through the gateway."""
    from shared.cli.demo import demo_system, walk

    with tempfile.TemporaryDirectory() as tmp:
        async with demo_system(Path(tmp)) as system:
            seen = await walk(system, households=200)
            hid = seen["application"]["household_id"]
            async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as c:
                village = (await c.get(f"/api/v1/households/{hid}", headers=system.token("county", COUNTY))).json()[
                    "region_code"
                ]
                return {"overview": await overview_timings(c, system.token("village", village), hid, rounds=rounds)}


async def _seed_cases(client: httpx.AsyncClient, headers_of: HeadersOf, n: int) -> None:
    """`n` self-applications spread over the county (open cases in `submitted`)."""
    for i, row in enumerate(generate_households(n, COUNTY, seed=99)):
        body = {
            "region_code": row["region_code"],
            "household": {k: row[k] for k in ("members", "income", "expenses", "assets") if k in row},
            "reason": "bench",
            "risk_types": ["illness"],
            "consent": {"commitment": True, "asset_query_authorized": True},
        }
        r = await client.post(
            "/api/v1/applications",
            json=body,
            headers={**headers_of("village", row["region_code"]), "Idempotency-Key": f"bench-{i}-{uuid.uuid4().hex}"},
        )
        assert r.status_code == 201, r.text


async def bench(n: int, file: Path | None, reuse: Path | None, rounds: int, *, fresh: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        db = tmp_path / "identification.db"
        if reuse is not None and not fresh:
            shutil.copy(reuse, db)
        server = NatsServer(tmp_path / "js", log_file=tmp_path / "nats.log").start()
        try:
            settings = make_settings(tmp_path, nats_url=server.url, database_url=f"sqlite+aiosqlite:///{db}")

            def headers_of(role: str, region: str) -> dict[str, str]:
                return auth(settings, role, region)

            timings: dict[str, Any] = {}
            async with running_app(create_app, settings) as client:
                if fresh:
                    data = file or tmp_path / "households.ndjson"
                    if not await asyncio.to_thread(data.exists):
                        write_households(data, n, COUNTY, workers=2)
                    t0 = time.perf_counter()
                    r = await client.post(
                        "/api/v1/households/import",
                        content=_file_chunks(data),
                        headers=headers_of("province", "34")
                        | {"content-type": "application/x-ndjson", "Idempotency-Key": "bench"},
                        timeout=None,
                    )
                    assert r.json()["rows_done"] == n, r.text
                    timings["import_s"] = round(time.perf_counter() - t0, 1)
                    r = await client.post(
                        "/api/v1/screenings",
                        json={"region": COUNTY, "as_of": "2024-06-30"},
                        headers=headers_of("county", COUNTY),
                    )
                    job_id = r.json()["id"]
                    while (await client.get(f"/api/v1/jobs/{job_id}", headers=headers_of("county", COUNTY))).json()[
                        "status"
                    ] == "running":
                        await asyncio.sleep(0.2)
                    await _seed_cases(client, headers_of, 200)
                    if reuse is not None:
                        ctx = client.app.state.ctx  # type: ignore[attr-defined]
                        await ctx.engine.dispose()
                        shutil.copy(db, reuse)
                timings["queries"] = await registry_timings(client, headers_of, rounds=rounds)
        finally:
            server.stop()
    return timings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite"], default="sqlite")
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--file", type=Path, default=None, help="NDJSON to import (made if missing)")
    ap.add_argument("--reuse", type=Path, default=None, help="SQLite file: made by the first run, reused after")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--overview", action="store_true", help="time the gateway's household overview instead")
    args = ap.parse_args()
    if args.overview:
        print(json.dumps(asyncio.run(bench_overview(args.rounds)), indent=2))
        return
    fresh = args.reuse is None or not args.reuse.exists()
    result = asyncio.run(bench(args.households, args.file, args.reuse, args.rounds, fresh=fresh))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    q = result["queries"]
    print(f"\n{'query':52} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for name, t in q.items():
        print(f"{name:52} {t['first_ms']:>9} {t['p50_ms']:>8} {t['p95_ms']:>8}")


if __name__ == "__main__":
    main()
