"""Load scenario through the gateway (asyncio + aiohttp, loopback): citizens' self-applications,
assessments, officers' queries and subsidy calculations mixed by weight for a fixed time; per
endpoint p50/p90/p99 and errors, written as a JSON report with the machine's facts; `--compare`
checks a run against a stored baseline (bench/load/baseline.json) and fails beyond a tolerance.

    .venv/bin/python -m bench.load.runner --start --duration 60 --out bench/load/baseline.json
    .venv/bin/python -m bench.load.runner --start --duration 60 --compare bench/load/baseline.json
    .venv/bin/python -m bench.load.runner --url http://127.0.0.1:8000 --data-dir var --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from shared.auth import make_token
from shared.cli.generate import generate_households
from shared.settings import Settings

__all__ = ["ENDPOINTS", "compare", "machine_facts", "main", "percentile", "run_load"]

Headers = Callable[..., dict[str, str]]  # (role, region, *, sub=None) → request headers
COUNTY = "341221"

#: endpoint name → weight in the mix. Names are what reports and baselines key on.
ENDPOINTS: dict[str, int] = {
    "POST /applications (citizen)": 1,
    "POST /assessments": 3,
    "POST /subsidies/calculate": 3,
    "GET /cases?region (township)": 2,
    "GET /applications/{id} (village)": 2,
    "GET /households/{id} (village)": 1,
}
SUCCESS = {"POST /applications (citizen)": 201}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def household_body(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("members", "escaped_poverty", "income", "expenses", "last_year_income", "assets", "dibao_status")
    return {k: row[k] for k in keys if k in row}


def application_body(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "region_code": row["region_code"],
        "household": household_body(row),
        "reason": "收入骤减",
        "risk_types": ["illness"],
        "consent": {"commitment": True, "asset_query_authorized": True},
        "household_number": row["household_number"],
    }


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {e: [] for e in ENDPOINTS})
    statuses: dict[str, dict[str, int]] = field(default_factory=lambda: {e: {} for e in ENDPOINTS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENDPOINTS, 0))
    samples: dict[str, list[str]] = field(default_factory=dict)

    def record(self, name: str, ms: float, status: str, ok: bool, detail: str = "") -> None:
        self.latencies[name].append(ms)
        self.statuses[name][status] = self.statuses[name].get(status, 0) + 1
        if not ok:
            self.errors[name] += 1
            got = self.samples.setdefault(name, [])
            if len(got) < 3:
                got.append(f"{status} {detail[:300]}")


class Scenario:
    """What one request of each endpoint sends; ids for the officers' queries come from a setup
    that files a few applications first."""

    def __init__(self, headers: Headers, *, seed: int, households: Iterator[dict[str, Any]]) -> None:
        self.headers = headers
        self.rng = random.Random(seed)
        self.households = households
        self.apps: list[dict[str, Any]] = []
        self.shapes: list[dict[str, Any]] = []

    def next_household(self) -> dict[str, Any]:
        row = next(self.households)
        row["household_number"] = f"{row['region_code']}-ld{uuid.uuid4().hex[:10]}"
        return row

    async def setup(self, s: aiohttp.ClientSession, base: str, n: int = 12) -> None:
        for _ in range(n):
            row = self.next_household()
            self.shapes.append(row)
            v = row["region_code"]
            async with s.post(
                f"{base}/applications",
                json=application_body(row),
                headers={**self.headers("village", v), "Idempotency-Key": uuid.uuid4().hex},
            ) as r:
                body = await r.json()
                if r.status != 201:
                    raise RuntimeError(f"setup application: {r.status} {body}")
                self.apps.append(body)

    def request(self, name: str) -> tuple[str, str, dict[str, str], Any]:
        """(method, path under /api/v1 with query, headers, JSON body or None)."""
        rng = self.rng
        if name == "POST /applications (citizen)":
            row = self.next_household()
            sub = row["members"][0]["id_number"]
            h = {**self.headers("citizen", row["region_code"], sub=sub), "Idempotency-Key": uuid.uuid4().hex}
            return "POST", "/applications", h, application_body(row)
        if name == "POST /assessments":
            row = rng.choice(self.shapes)
            v = row["region_code"]
            body = {"region_code": v, "as_of": "2024-06-30", "household": household_body(row)}
            return "POST", "/assessments", self.headers("village", v), body
        if name == "POST /subsidies/calculate":
            v = rng.choice(self.shapes)["region_code"]
            wage = rng.choice(("4800", "7200", "9600", "12000"))
            body = {
                "kind": "public_welfare_post",
                "region_code": v,
                "as_of": "2020-06-30",
                "inputs": {"annual_wage": wage, "person_id": f"p-{rng.randrange(10_000)}"},
            }
            return "POST", "/subsidies/calculate", self.headers("township", v[:9]), body
        app = rng.choice(self.apps)
        v = app["region_code"]
        if name == "GET /cases?region (township)":
            return "GET", f"/cases?region={v[:9]}&page_size=20", self.headers("township", v[:9]), None
        if name == "GET /applications/{id} (village)":
            return "GET", f"/applications/{app['id']}", self.headers("village", v), None
        if name == "GET /households/{id} (village)":
            return "GET", f"/households/{app['household_id']}", self.headers("village", v), None
        raise KeyError(name)


async def run_load(
    base_url: str,
    headers: Headers,
    *,
    duration: float = 60.0,
    concurrency: int = 16,
    seed: int = 20261122,
    warmup: float = 2.0,
) -> dict[str, Any]:
    """Drive the mix against `base_url` (the gateway) and return the report."""
    base = base_url.rstrip("/") + "/api/v1"
    # households differ from run to run (a second run against the same system would otherwise
    # file the same households again: 409); the mix itself follows `seed`
    household_seed = random.SystemRandom().randrange(10**9)
    scenario = Scenario(headers, seed=seed, households=generate_households(100_000, COUNTY, seed=household_seed))
    stats = Stats()
    names = list(ENDPOINTS)
    weights = [ENDPOINTS[n] for n in names]
    load_start = os.getloadavg()
    connector = aiohttp.TCPConnector(limit=concurrency * 2, keepalive_timeout=4)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as s:
        await scenario.setup(s, base)
        measuring = False
        stop_at = time.monotonic() + warmup + duration

        async def worker(i: int) -> None:
            rng = random.Random(seed + i)
            while time.monotonic() < stop_at:
                name = rng.choices(names, weights)[0]
                method, path, h, body = scenario.request(name)
                t0 = time.perf_counter()
                status, detail = "exception", ""
                try:
                    async with s.request(method, base + path, json=body, headers=h) as r:
                        payload = await r.read()
                        status = str(r.status)
                        detail = payload[:300].decode(errors="replace")
                except (aiohttp.ClientError, TimeoutError) as exc:
                    detail = f"{type(exc).__name__}: {exc}"
                ms = (time.perf_counter() - t0) * 1000
                if measuring:
                    stats.record(name, ms, status, status == str(SUCCESS.get(name, 200)), detail)

        tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
        await asyncio.sleep(warmup)
        measuring = True
        t_measure = time.monotonic()
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - t_measure
    rep = report(stats, elapsed, concurrency=concurrency, seed=seed, target=base_url, load_start=load_start)
    rep["config"]["household_seed"] = household_seed
    return rep


def machine_facts(load_start: tuple[float, float, float] | None = None) -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in ln
            ),
            "",
        )
    except OSError:
        pass
    commit = ""
    try:
        root = Path(__file__).resolve().parents[2]
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "loadavg_start": [round(x, 2) for x in (load_start or os.getloadavg())],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
    }


def report(
    stats: Stats,
    elapsed: float,
    *,
    concurrency: int,
    seed: int,
    target: str,
    load_start: tuple[float, float, float],
) -> dict[str, Any]:
    endpoints: dict[str, Any] = {}
    total = errors = 0
    for name in ENDPOINTS:
        lat = sorted(stats.latencies[name])
        n, e = len(lat), stats.errors[name]
        total += n
        errors += e
        endpoints[name] = {
            "requests": n,
            "errors": e,
            "error_rate": round(e / n, 5) if n else 0.0,
            "rps": round(n / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(percentile(lat, 50), 1),
            "p90_ms": round(percentile(lat, 90), 1),
            "p99_ms": round(percentile(lat, 99), 1),
            "max_ms": round(lat[-1], 1) if lat else 0.0,
            "statuses": stats.statuses[name],
        }
        if name in stats.samples:
            endpoints[name]["error_samples"] = stats.samples[name]
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_facts(load_start),
        "config": {"duration_s": round(elapsed, 1), "concurrency": concurrency, "seed": seed, "target": target},
        "totals": {
            "requests": total,
            "errors": errors,
            "error_rate": round(errors / total, 5) if total else 0.0,
            "rps": round(total / elapsed, 1) if elapsed else 0.0,
        },
        "endpoints": endpoints,
    }


def compare(
    current: dict[str, Any], baseline: dict[str, Any], *, tolerance: float = 0.5, max_error_rate: float = 0.001
) -> tuple[bool, list[str]]:
    """Per endpoint: p50 and p99 against the baseline's (relative delta); fails when one is worse
    by more than `tolerance` (0.5 = 50 % slower), an endpoint is missing, or errors pass
    `max_error_rate`. Returns (ok, printable lines)."""
    ok = True
    lines = [
        f"baseline {baseline['date']} commit {baseline['machine'].get('commit')} "
        f"load {baseline['machine'].get('loadavg_start')} → now commit {current['machine'].get('commit')} "
        f"load {current['machine'].get('loadavg_start')}; tolerance +{tolerance:.0%}",
        f"{'endpoint':<34} {'p50 base→now':>20} {'Δ':>7} {'p99 base→now':>20} {'Δ':>7} {'err':>7}  verdict",
    ]
    for name, base in baseline["endpoints"].items():
        cur = current["endpoints"].get(name)
        if cur is None or not cur["requests"]:
            ok = False
            lines.append(f"{name:<34} missing from this run  FAIL")
            continue
        verdicts = []
        cells = []
        for q in ("p50_ms", "p99_ms"):
            b, c = base[q], cur[q]
            delta = (c - b) / b if b else 0.0
            cells.append(f"{b:>9.1f}→{c:<9.1f} {delta:>+7.0%}")
            if delta > tolerance:
                verdicts.append(f"{q[:3]} +{delta:.0%}")
        if cur["error_rate"] > max_error_rate:
            verdicts.append(f"errors {cur['error_rate']:.2%}")
        ok = ok and not verdicts
        lines.append(
            f"{name:<34} {cells[0]} {cells[1]} {cur['error_rate']:>7.2%}  "
            + ("FAIL " + ", ".join(verdicts) if verdicts else "ok")
        )
    t = current["totals"]
    if t["error_rate"] > max_error_rate:
        ok = False
    lines.append(
        f"total: {t['requests']} requests, {t['rps']} req/s (baseline {baseline['totals']['rps']}), "
        f"errors {t['error_rate']:.3%} (max {max_error_rate:.1%}) → {'ok' if ok else 'FAIL'}"
    )
    return ok, lines


def format_report(rep: dict[str, Any]) -> str:
    m, t = rep["machine"], rep["totals"]
    lines = [
        f"{rep['date']} commit {m['commit']} nproc {m['nproc']} load {m['loadavg_start']}→{m['loadavg_end']}; "
        f"{rep['config']['duration_s']} s, concurrency {rep['config']['concurrency']}",
        f"{'endpoint':<34} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7}",
    ]
    for name, e in rep["endpoints"].items():
        lines.append(
            f"{name:<34} {e['requests']:>8} {e['rps']:>7} {e['p50_ms']:>8} {e['p90_ms']:>8} "
            f"{e['p99_ms']:>8} {e['errors']:>7}"
        )
    lines.append(f"{'total':<34} {t['requests']:>8} {t['rps']:>7}  error rate {t['error_rate']:.3%}")
    return "\n".join(lines)


def _token_headers(settings: Settings) -> Headers:
    cache: dict[tuple[str, str, str | None], dict[str, str]] = {}

    def headers(role: str, region: str, *, sub: str | None = None) -> dict[str, str]:
        key = (role, region, sub)
        got = cache.get(key)
        if got is None:
            token = make_token(sub=sub or f"load-{role}-{region}", role=role, region=region, settings=settings)
            got = cache[key] = {"Authorization": f"Bearer {token}"}
        return got

    return headers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.load.runner", description=__doc__.split("\n\n")[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="gateway of a running system (tokens signed with its secret: --data-dir or env)")
    where.add_argument("--start", action="store_true", help="start `fangfan up` in a temporary dir, rate limits off")
    ap.add_argument("--data-dir", type=Path, default=None, help="the running system's data dir (its dev secrets)")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    ap.add_argument("--compare", type=Path, default=None, help="baseline JSON to compare against")
    ap.add_argument("--tolerance", type=float, default=0.5, help="allowed p50/p99 slow-down (0.5 = 50 %%)")
    ap.add_argument("--max-error-rate", type=float, default=0.001)
    args = ap.parse_args(argv)

    launcher = None
    tmp = None
    if args.start:
        from shared.cli.launcher import Launcher
        from shared.nats import free_port

        tmp = tempfile.TemporaryDirectory(prefix="fangfan-load-")
        for limit in ("FANGFAN_RATE_IP", "FANGFAN_RATE_PRINCIPAL", "FANGFAN_RATE_SELF_APPLICATION"):
            os.environ[limit] = "off"
        os.environ["FANGFAN_DATA_DIR"] = tmp.name
        settings = Settings(data_dir=Path(tmp.name))
        ports = {s: free_port() for s in ("identification", "assistance", "subsidy", "notification")}
        launcher = Launcher(settings, gateway_port=free_port(), service_ports=ports)
        launcher.start()
        if not launcher.wait_ready():
            launcher.stop()
            print(f"the system did not become ready; logs in {tmp.name}/logs", file=sys.stderr)
            return 2
        url = f"http://127.0.0.1:{launcher.gateway_port}"
    else:
        settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings()
        url = args.url
    try:
        rep = asyncio.run(
            run_load(
                url,
                _token_headers(settings),
                duration=args.duration,
                concurrency=args.concurrency,
                seed=args.seed,
            )
        )
    finally:
        if launcher is not None:
            launcher.stop()
        if tmp is not None:
            tmp.cleanup()
    print(format_report(rep))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rep, indent=1, ensure_ascii=False) + "\n")
    ok = rep["totals"]["error_rate"] <= args.max_error_rate
    if args.compare:
        same, lines = compare(
            rep,
            json.loads(args.compare.read_text()),
            tolerance=args.tolerance,
            max_error_rate=args.max_error_rate,
        )
        print("\n".join(lines))
        ok = ok and same
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
