"""Latency of the officer console's pages (/console) with a county of N households on SQLite: the
whole system in one process (`fangfan demo`'s: NATS from the wheel, every service and the
gateway on loopback, SQLite files), loaded by the demo's walk (N generated households imported
and screened, cases left at every step), then each page fetched `--rounds` times in a row by a
signed-in officer over HTTP — the page's own API calls (in process, through the gateway's
authentication and routing to the services) included.

    .venv/bin/python bench/console_pages_bench.py --households 100000 --rounds 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from shared.cli.demo import demo_system, walk

_OPEN = "submitted,verification,village_review,public_notice,township_review,county_review"


async def _signed_in(base: str, role: str, region: str) -> httpx.AsyncClient:
    c = httpx.AsyncClient(base_url=base, timeout=120)
    page = await c.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text[:300]
    r = await c.post("/console/login/dev", data={"csrf": csrf.group(1), "role": role, "region": region})
    assert r.status_code == 303, r.text
    return c


async def _timed(c: httpx.AsyncClient, rounds: int, method: str, url: str, **kw: Any) -> dict[str, float]:
    samples = []
    for i in range(rounds + 2):
        t0 = time.perf_counter()
        r = await c.request(method, url, **kw)
        took = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        if i >= 2:  # two warm-up requests
            samples.append(took)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(p95, 1), "max_ms": round(samples[-1], 1)}


async def bench(households: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="console-pages-") as tmp:
        async with demo_system(Path(tmp)) as system:
            t0 = time.perf_counter()
            seen = await walk(system, households=households, timeout=1800)
            loaded = time.perf_counter() - t0
            case = seen["case"]
            village = case["region_code"]
            base = system.gateway_url
            out: dict[str, Any] = {"households": households, "load_s": round(loaded, 1), "pages": {}}
            pages: list[tuple[str, str, str, str, dict[str, Any]]] = [
                ("village", village, "GET", "/console/worklist", {}),
                ("village", village, "GET", f"/console/cases/{case['id']}", {}),
                ("village", village, "GET", f"/console/households/{case['household_id']}", {}),
                ("village", village, "GET", "/console/notices", {}),
                ("township", village[:9], "GET", "/console/worklist", {}),
                ("township", village[:9], "GET", "/console/dashboard", {}),
                ("county", village[:6], "GET", "/console/worklist", {}),
                ("county", village[:6], "GET", "/console/dashboard", {}),
                ("county", village[:6], "GET", f"/console/cases/{case['id']}", {}),
            ]
            clients: dict[tuple[str, str], httpx.AsyncClient] = {}
            try:
                for role, region, method, url, kw in pages:
                    if (role, region) not in clients:
                        clients[(role, region)] = await _signed_in(base, role, region)
                    name = f"{role} {url.split('/')[2]}"
                    out["pages"][name] = await _timed(clients[(role, region)], rounds, method, url, **kw)
                    print(name, out["pages"][name], flush=True)
                # what the slowest pages wait for: the API calls they make, timed on their own
                county = system.token("county", village[:6])
                api = httpx.AsyncClient(base_url=base + "/api/v1", headers=county, timeout=120)
                clients[("api", "")] = api
                out["api"] = {}
                for url, params in [
                    *[
                        ("/statistics", {"group_by": g})
                        for g in ("region", "category", "low_income_category", "state", "warning")
                    ],
                    ("/statistics/summary", {}),
                    ("/statistics/scale-risk", {}),
                    ("/statistics/scale-risk", {"all": "true"}),  # every village joined to its members
                    ("/cases", {"state": "county_review", "page_size": 100}),
                ]:
                    query = "&".join(f"{k}={v}" for k, v in params.items() if k != "page_size")
                    name = f"county GET {url}" + (f"?{query}" if query else "")
                    out["api"][name] = await _timed(api, rounds, "GET", url, params=params)
                    print(name, out["api"][name], flush=True)
                # the console's own share: each page and the API calls it makes, alternately (so
                # both see the same load on a shared machine)

                async def dashboard_calls() -> None:  # the five tables in one call, as the page asks
                    await api.get("/statistics/summary", params={"region": village[:6]})

                async def worklist_calls() -> None:
                    await asyncio.gather(
                        api.get("/visits/due", params={"until": "1970-01-01"}),
                        api.get("/cases", params={"state": "county_review", "page_size": 100}),
                        api.get("/cases", params={"procedure": "elimination", "state": _OPEN, "page_size": 100}),
                        api.get("/statistics/scale-risk"),
                    )

                county_page = clients[("county", village[:6])]
                for name, url, calls in (
                    ("county dashboard", "/console/dashboard", dashboard_calls),
                    ("county worklist", "/console/worklist", worklist_calls),
                ):
                    page_ms, api_ms = [], []
                    for _ in range(rounds):
                        t0 = time.perf_counter()
                        await county_page.get(url)
                        page_ms.append((time.perf_counter() - t0) * 1000)
                        t0 = time.perf_counter()
                        await calls()
                        api_ms.append((time.perf_counter() - t0) * 1000)
                    pair = {
                        "page_p50_ms": round(statistics.median(page_ms), 1),
                        "api_p50_ms": round(statistics.median(api_ms), 1),
                        "page_minus_api_p50_ms": round(
                            statistics.median([p - a for p, a in zip(page_ms, api_ms, strict=True)]), 1
                        ),
                    }
                    out["api"][f"{name}: page vs its API calls"] = pair
                    print(name, "page vs its API calls", pair, flush=True)
            finally:
                for c in clients.values():
                    await c.aclose()
            return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(bench(args.households, args.rounds)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
