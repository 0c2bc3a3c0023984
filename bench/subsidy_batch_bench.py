"""Batch subsidy calculation throughput: 100,000 public_welfare_post + 100,000 tiered_wage_subsidy
items, in-process (NDJSON bytes → BatchCalculator → NDJSON bytes) and over HTTP against the
subsidy app served by uvicorn on a loopback port (NDJSON and JSON array, streamed both ways).

    .venv/bin/python bench/subsidy_batch_bench.py                 # both, realistic inputs
    .venv/bin/python bench/subsidy_batch_bench.py --distinct      # every item's inputs different
    .venv/bin/python bench/subsidy_batch_bench.py --items 20000 --mode inprocess

Realistic inputs: public-welfare post wages are a monthly post pay (300–1,000 yuan in steps of
50) times the months worked, so many items repeat and the batch calculator's memo of identical
items pays off; `--distinct` gives every item its own wage and wage bill (the worst case).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.subsidy.application.calculation import BatchCalculator, iter_ndjson
from services.subsidy.domain import load_shipped_policies

REGION = "341221"
AS_OF = "2020-06-01"
CHUNK = 64 * 1024


def items(n: int, *, distinct: bool) -> list[list[dict[str, object]]]:
    """Two batches (a batch holds at most 100,000 items): n public-welfare posts, then n tiered
    wage subsidies (Linquan, 2020)."""
    posts: list[dict[str, object]] = []
    for i in range(n):
        monthly = 300 + 50 * (i % 15)
        wage = f"{3000 + i % 5000}.{i // 5000 % 100:02d}" if distinct else str(monthly * (1 + i % 12))
        inputs = {"annual_wage": wage, "person_id": f"p{i}"} if distinct else {"annual_wage": wage}
        posts.append({"kind": "public_welfare_post", "region_code": REGION, "as_of": AS_OF, "inputs": inputs})
    tiered: list[dict[str, object]] = []
    for i in range(n):
        wages = f"{20000 + i}.{i % 100:02d}" if distinct else str(12000 * (1 + i % 30))
        inputs = {"poor_laborers": 1 + i % 30, "total_wages": wages}
        tiered.append({"kind": "tiered_wage_subsidy", "region_code": REGION, "as_of": AS_OF, "inputs": inputs})
    return [posts, tiered]


def ndjson(data: list[dict[str, object]]) -> bytes:
    return ("\n".join(json.dumps(x, ensure_ascii=False) for x in data) + "\n").encode()


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(body), CHUNK):
        yield body[i : i + CHUNK]


async def in_process(batches: list[bytes], expected: int) -> float:
    elapsed = 0.0
    for body in batches:
        calc = BatchCalculator(load_shipped_policies(), lambda region: True)
        start = time.perf_counter()
        lines = 0
        async for out in calc.stream(iter_ndjson(_chunks(body)), ndjson=True):
            lines += out.count(b"\n")
        elapsed += time.perf_counter() - start
        assert lines == expected, (lines, expected)
        assert calc.failed == 0, calc.failed
    return elapsed


# --- over HTTP --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, data_dir: str, nats_url: str) -> None:
    """Child process: the subsidy app under uvicorn on 127.0.0.1:port."""
    import uvicorn

    from services.subsidy.main import create_app
    from tests.helpers import make_settings

    url = f"sqlite+aiosqlite:///{data_dir}/subsidy.db"
    settings = make_settings(Path(data_dir), nats_url=nats_url, database_url=url, log_level="warning")
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def over_http(runs: dict[str, list[bytes]], expected: int) -> dict[str, float]:
    """Seconds per content type for all its batches, against one served app."""
    import httpx

    from shared.nats import NatsServer
    from tests.helpers import make_settings, token

    tmp = Path(tempfile.mkdtemp(prefix="fangfan-subsidy-bench-"))
    server = NatsServer(tmp / "js", log_file=tmp / "nats.log").start()
    port = _free_port()
    child = subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock runs
        [sys.executable, __file__, "--serve", str(port), str(tmp), server.url],
        env={**os.environ, "FANGFAN_LOG_LEVEL": "WARNING"},
    )
    results: dict[str, float] = {}
    try:
        settings = make_settings(tmp, nats_url=server.url, database_url="sqlite+aiosqlite:///unused")
        bearer = f"Bearer {token(settings, 'county', REGION)}"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the subsidy app did not start")
                await asyncio.sleep(0.2)
            for content_type, batches in runs.items():
                headers = {"Authorization": bearer, "Content-Type": content_type}
                elapsed = 0.0
                for body in batches:
                    start = time.perf_counter()
                    received = bytearray()
                    async with client.stream(
                        "POST", "/api/v1/subsidies/calculate:batch", content=_chunks(body), headers=headers
                    ) as r:
                        assert r.status_code == 200, r.status_code
                        async for part in r.aiter_bytes():
                            received += part
                    elapsed += time.perf_counter() - start
                    ndjson = content_type == "application/x-ndjson"
                    count = received.count(b"\n") if ndjson else len(json.loads(received))
                    assert count == expected, (count, expected)
                    assert b'"error"' not in received
                results[content_type] = elapsed
        return results
    finally:
        child.terminate()
        child.wait(timeout=15)
        server.stop()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000, help="items of each kind")
    ap.add_argument("--mode", choices=["all", "inprocess", "http"], default="all")
    ap.add_argument("--distinct", action="store_true", help="every item's inputs different (no memo hits)")
    args = ap.parse_args()
    data = items(args.items, distinct=args.distinct)
    total = 2 * args.items
    label = "distinct" if args.distinct else "realistic"
    print(f"{total:,} items ({args.items:,} public_welfare_post + {args.items:,} tiered_wage_subsidy), {label} inputs")
    if args.mode in ("all", "inprocess"):
        s = await in_process([ndjson(batch) for batch in data], args.items)
        print(f"in-process  NDJSON → NDJSON     {s:7.2f} s  {total / s:10,.0f} items/s")
    if args.mode in ("all", "http"):
        runs = {
            "application/x-ndjson": [ndjson(batch) for batch in data],
            "application/json": [json.dumps(batch, ensure_ascii=False).encode() for batch in data],
        }
        seconds = await over_http(runs, args.items)
        names = {"application/x-ndjson": "NDJSON → NDJSON", "application/json": "JSON array → array"}
        for content_type, name in names.items():
            s = seconds[content_type]
            print(f"HTTP        {name:<19} {s:7.2f} s  {total / s:10,.0f} items/s")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        asyncio.run(main())
