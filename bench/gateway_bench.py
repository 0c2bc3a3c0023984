"""The gateway's overhead: the same small authenticated POST straight to a service and through the
gateway, in one run, on loopback, one uvicorn worker each (uvloop + httptools, as in production).

    .venv/bin/python bench/gateway_bench.py                       # POST /api/v1/assessments, 32 × 15 s
    .venv/bin/python bench/gateway_bench.py --concurrency 32 --seconds 15 --path /api/v1/assessments

Starts a NATS server from the wheel and the identification service (SQLite in a temporary data
directory) and the gateway as child processes; an aiohttp client with `--concurrency` workers
sends the POST for `--seconds` to each in turn (after a short warm-up) and reports requests/s and
p50/p99 latency. The gateway's rate limits are switched off for the run (one caller and one IP
send thousands of requests a second); everything else — JWT check, permission table, signed
principal, request id, access log, metrics, breaker — runs as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from shared.auth import make_token
from shared.nats import NatsServer, free_port
from shared.settings import SERVICES, Settings

BODY = {
    "region_code": "341221001001",
    "as_of": "2024-06-30",
    "household": {
        "members": [
            {"id_number": "11010519491231002X", "name": "张三", "relation": "head", "labor_capacity": "ordinary"},
            {"id_number": "341221198001010023", "name": "李四", "relation": "spouse", "labor_capacity": "weak"},
        ],
        "income": {"wage": "9000", "transfer": "1200"},
        "expenses": {"compliant_oop_medical": "3000"},
    },
}


def _spawn(factory: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout} s")


async def _load(url: str, token: str, body: bytes, concurrency: int, seconds: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            while (t0 := time.perf_counter()) < stop:
                async with http.post(url, data=body, headers=headers) as r:
                    await r.read()
                latencies.append(time.perf_counter() - t0)
                statuses[r.status] = statuses.get(r.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        took = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "rps": len(latencies) / took,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "statuses": statuses,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--path", default="/api/v1/assessments")
    ap.add_argument("--body", help="JSON body (default: a two-member household assessment)")
    ap.add_argument("--service", default="identification", choices=SERVICES)
    args = ap.parse_args()
    args.seconds = min(args.seconds, 120.0)  # bounded

    body = (args.body or json.dumps(BODY)).encode()
    with tempfile.TemporaryDirectory(prefix="fangfan-gwbench-") as tmp:
        data = Path(tmp)
        secrets_env = {
            "FANGFAN_JWT_SECRET": secrets.token_urlsafe(48),
            "FANGFAN_INTERNAL_SECRET": secrets.token_urlsafe(48),
            "FANGFAN_PII_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "FANGFAN_PII_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        nats = NatsServer(data / "jetstream", free_port(), log_file=data / "nats.log").start()
        svc_port, gw_port = free_port(), free_port()
        env = dict(os.environ, FANGFAN_DATA_DIR=str(data), FANGFAN_NATS_URL=nats.url, **secrets_env)
        env.pop("FANGFAN_DATABASE_URL", None)
        env[f"FANGFAN_{args.service.upper()}_URL"] = f"http://127.0.0.1:{svc_port}"
        env.update(FANGFAN_RATE_IP="off", FANGFAN_RATE_PRINCIPAL="off")
        procs = [
            _spawn(f"services.{args.service}.main:create_app", svc_port, env, data / "service.log"),
            _spawn("gateway.main:create_app", gw_port, env, data / "gateway.log"),
        ]
        try:
            _wait_ready(f"http://127.0.0.1:{svc_port}/readyz")
            _wait_ready(f"http://127.0.0.1:{gw_port}/healthz")
            settings = Settings(env="test", data_dir=data, jwt_secret=secrets_env["FANGFAN_JWT_SECRET"])
            token = make_token(sub="bench-county", role="county", region="341221", settings=settings)
            targets = {
                "direct": f"http://127.0.0.1:{svc_port}{args.path}",
                "gateway": f"http://127.0.0.1:{gw_port}{args.path}",
            }
            results = {}
            for name, url in targets.items():
                asyncio.run(_load(url, token, body, args.concurrency, args.warmup))
                results[name] = asyncio.run(_load(url, token, body, args.concurrency, args.seconds))
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
            nats.stop()

    print(f"POST {args.path} on {args.service}, concurrency {args.concurrency}, {args.seconds:g} s each, loopback")
    print(f"{'':8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for name, r in results.items():
        print(f"{name:8} {r['requests']:>9} {r['rps']:>8.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}  {r['statuses']}")
    d, g = results["direct"], results["gateway"]
    ratio, p99x = g["rps"] / d["rps"], g["p99_ms"] / d["p99_ms"]
    print(f"gateway/direct throughput {ratio:.0%} (target ≥ 60%), p99 {p99x:.2f}× (target ≤ 2×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
