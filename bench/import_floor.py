"""The body of `bench/import_floor_bench.py` (see its docstring): kept out of the script so the
import's spawned worker processes, which import the parent's `__main__`, import only the thin
script and not this module, the service and its dependencies (≈ 80 MB each)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import concurrent.futures
import ctypes
import datetime as dt
import gc
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from services.identification.adapters.household_rows import HOUSEHOLD_WRITE, MEMBER_COLUMNS
from services.identification.adapters.import_worker import init_worker, prepare_ndjson
from services.identification.main import create_app
from shared.auth import Principal
from shared.cli.generate import write_households
from shared.nats import NatsServer
from tests.conftest import create_pg_database, drop_pg_database
from tests.helpers import TEST_SECRETS, auth, make_settings, running_app

DESCRIPTION = Path(__file__).with_name("import_floor_bench.py").read_text(encoding="utf-8").split('"""')[1]
CHUNK = 64 * 1024
PIECE = 2000
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) of a process from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Sampler:
    """Peak RSS of this process and of it with its children; the children's CPU seconds."""

    def __init__(self) -> None:
        self.me = os.getpid()
        self.peak_self = self.peak_all = 0
        self.child_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(0.2)

    def sample(self) -> None:
        _, rss = _stat(self.me)
        total = rss
        for c in _children(self.me):
            cpu, crss = _stat(c)
            total += crss
            if cpu:
                self.child_cpu[c] = cpu
        self.peak_self, self.peak_all = max(self.peak_self, rss), max(self.peak_all, total)

    def __enter__(self) -> Sampler:
        self.cpu0 = _stat(self.me)[0]
        self.children0 = {c: _stat(c)[0] for c in _children(self.me)}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample()
        self._stop.set()
        self._thread.join()
        self.cpu_self = _stat(self.me)[0] - self.cpu0
        self.cpu_children = sum(v - self.children0.get(c, 0.0) for c, v in self.child_cpu.items())


async def _pg_cpu(dsn: str, name: str) -> float:
    """CPU seconds so far of the PostgreSQL backends connected to database `name`."""
    conn = await asyncpg.connect(dsn)
    try:
        pids = [r[0] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)]
    finally:
        await conn.close()
    return sum(_stat(p)[0] for p in pids)


def _pieces(path: Path) -> Iterator[tuple[int, bytes]]:
    """The NDJSON file in pieces of PIECE lines: (first line, bytes), read as they are needed."""
    with path.open("rb") as f:
        line = 1
        while True:
            lines = [x for x in (f.readline() for _ in range(PIECE)) if x]
            if not lines:
                return
            yield line, b"".join(lines)
            line += len(lines)


def _prepare(first: int, data: bytes, now: dt.datetime) -> tuple[bytes, bytes, int]:
    r = prepare_ndjson(data, first, 0, Principal(sub="bench", role="province", region="34"), True, now)
    assert r.batch is not None
    assert not r.errors, r.errors[:3]
    return "".join(r.batch.households).encode(), "".join(r.batch.members).encode(), len(r.batch)


def prepare_floor(path: Path, out: Path, keys: tuple[bytes, bytes]) -> list[tuple[int, int, int, int]]:
    """COPY text of every household of the file (2 worker processes), written to two files;
    returns per piece (households offset, length, members offset, length)."""
    now = dt.datetime.now(dt.UTC)
    index = []
    with (
        concurrent.futures.ProcessPoolExecutor(os.cpu_count() or 2, initializer=init_worker, initargs=keys) as pool,
        (out / "households.copy").open("wb") as hf,
        (out / "members.copy").open("wb") as mf,
    ):
        pending: collections.deque[concurrent.futures.Future[tuple[bytes, bytes, int]]] = collections.deque()

        def write(fut: concurrent.futures.Future[tuple[bytes, bytes, int]]) -> None:
            h, m, _ = fut.result()
            index.append((hf.tell(), len(h), mf.tell(), len(m)))
            hf.write(h)
            mf.write(m)

        for first, data in _pieces(path):  # a few pieces in flight: memory stays flat
            pending.append(pool.submit(_prepare, first, data, now))
            if len(pending) > 6:
                write(pending.popleft())
        while pending:
            write(pending.popleft())
    return index


async def floor(url: str, out: Path, index: list[tuple[int, int, int, int]]) -> float:
    """COPY the prepared pieces; returns the CPU seconds of the PostgreSQL backend that did it."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
    cpu0 = _stat(backend)[0]
    try:
        with (out / "households.copy").open("rb") as hf, (out / "members.copy").open("rb") as mf:
            for h_at, h_len, m_at, m_len in index:
                hf.seek(h_at)
                mf.seek(m_at)
                h, m = hf.read(h_len), mf.read(m_len)
                async with conn.transaction():
                    await conn.copy_to_table(
                        "households", source=io.BytesIO(h), columns=list(HOUSEHOLD_WRITE), format="text"
                    )
                    await conn.copy_to_table(
                        "members", source=io.BytesIO(m), columns=list(MEMBER_COLUMNS), format="text"
                    )
        return _stat(backend)[0] - cpu0
    finally:
        await conn.close()


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


async def phase(name: str, n: int, data: Path, tmp: Path, nats_url: str, floor_rows: Any) -> dict[str, Any]:
    db, url = await create_pg_database(f"fangfan_floor_{name}")
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    settings = make_settings(tmp, nats_url=nats_url, database_url=url)
    headers = auth(settings, "province", "34")
    os.environ["FANGFAN_IMPORT_ENCODER"] = "fast" if name == "floor" else name
    # start each phase from what this process needs, not what the phase before left allocated
    # (the process is also the service: the import runs in-process over ASGI)
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    rss_start = _rss_mb()
    try:
        async with running_app(create_app, settings) as client:  # migrated by the lifespan
            load0 = os.getloadavg()[0]
            pg0 = await _pg_cpu(dsn, db)
            with Sampler() as s:
                t0 = time.perf_counter()
                floor_pg = 0.0
                if name == "floor":
                    floor_pg = await floor(url, *floor_rows)
                else:
                    r = await client.post(
                        "/api/v1/households/import",
                        content=_file_chunks(data),
                        headers=headers | {"content-type": "application/x-ndjson", "Idempotency-Key": name},
                        timeout=None,
                    )
                    job = r.json()
                    assert job["status"] == "completed", job
                    assert job["rows_done"] == n, job
                seconds = time.perf_counter() - t0
                pg_cpu = await _pg_cpu(dsn, db) - pg0 + floor_pg
            count = await _count(dsn)
            assert count == n, count
            load1 = os.getloadavg()[0]
    finally:
        await drop_pg_database(db)
    return {
        "phase": name,
        "seconds": round(seconds, 1),
        "per_s": round(n / seconds),
        "rss_service_at_start_mb": rss_start,
        "peak_rss_service_mb": round(s.peak_self / 2**20),
        "peak_rss_with_workers_mb": round(s.peak_all / 2**20),
        "cpu_service_s": round(s.cpu_self, 1),
        "cpu_workers_s": round(s.cpu_children, 1),
        "cpu_postgres_s": round(pg_cpu, 1),
        "load_1min": f"{load0:.1f} → {load1:.1f}",
    }


def _rss_mb() -> int:
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * _PAGE / 2**20)


async def _count(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM households"))
    finally:
        await conn.close()


def _phase_in_a_process(name: str, n: int, data: Path, tmp: Path, nats_url: str) -> dict[str, Any]:
    """One phase in a process of its own (`--fresh`): a service that starts from nothing, as a
    replica does, instead of from what the phase before left allocated in this one."""
    script = Path(__file__).with_name("import_floor_bench.py")
    args = [sys.executable, str(script), "--households", str(n), "--file", str(data)]
    args += ["--one-phase", name, "--tmp", str(tmp), "--nats", nats_url]
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def bench(n: int, county: str, file: Path | None, phases: list[str], *, fresh: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="fangfan-floor-") as tmp_dir:
        tmp = Path(tmp_dir)
        data = file or tmp / "households.ndjson"
        if not data.exists():
            write_households(data, n, county, workers=2)
        keys = (base64.b64decode(TEST_SECRETS["pii_key"]), base64.b64decode(TEST_SECRETS["pii_index_key"]))
        floor_rows = None
        if "floor" in phases:
            t0 = time.perf_counter()
            floor_rows = (tmp, prepare_floor(data, tmp, keys))
            (tmp / "index.json").write_text(json.dumps(floor_rows[1]))
            print(f"floor rows prepared in {time.perf_counter() - t0:.1f} s (not timed)", flush=True)
        server = NatsServer(tmp / "js", log_file=tmp / "nats.log").start()
        results = []
        try:
            for name in phases:
                if fresh:
                    results.append(_phase_in_a_process(name, n, data, tmp, server.url))
                else:
                    results.append(await phase(name, n, data, tmp, server.url, floor_rows))
                print(json.dumps(results[-1], ensure_ascii=False), flush=True)
        finally:
            server.stop()
    base = next((r["seconds"] for r in results if r["phase"] == "floor"), None)
    for r in results:
        r["ratio_to_floor"] = round(r["seconds"] / base, 2) if base else "-"
    return results


async def _one_phase(name: str, n: int, data: Path, tmp: Path, nats_url: str) -> dict[str, Any]:
    """`--one-phase` (run by `--fresh`): the floor reads the rows its parent prepared in `tmp`."""
    floor_rows = None
    if name == "floor":
        floor_rows = (tmp, [tuple(x) for x in json.loads((tmp / "index.json").read_text())])
    return await phase(name, n, data, tmp, nats_url, floor_rows)


def main() -> None:
    p = argparse.ArgumentParser(description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--households", type=int, default=100_000)
    p.add_argument("--county", default="341221")
    p.add_argument("--file", type=Path, help="NDJSON to import: made here if missing, reused if present")
    # fast before reference: with --no-fresh the phases share this process, and what an import
    # phase leaves allocated (≈ 35–40 MB after gc and malloc_trim) counts against the next
    p.add_argument("--phases", default="floor,fast,reference", help="comma-separated: floor, fast, reference")
    p.add_argument(
        "--fresh",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="each phase in a process of its own (default); --no-fresh: all in this one, in order",
    )
    p.add_argument("--one-phase", help=argparse.SUPPRESS)  # a --fresh phase's own process
    p.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--nats", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one_phase:
        result = asyncio.run(_one_phase(args.one_phase, args.households, args.file, args.tmp, args.nats))
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return
    phases = args.phases.split(",")
    results = asyncio.run(bench(args.households, args.county, args.file, phases, fresh=args.fresh))
    cols = list(results[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in results:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
