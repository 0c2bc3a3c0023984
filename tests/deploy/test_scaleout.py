"""Scale-out proof (issue 9), on this machine with processes instead of containers: two replicas
of every service against PostgreSQL and a 3-node JetStream cluster, behind the gateway. Work is
shared by the replicas (we read each surviving replica's own metrics and the screening chunks'
`claimed_by`), one replica of each service is killed with SIGKILL in the middle, and the other
finishes: nothing lost, nothing done twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest
from aiohttp import web

from shared.auth import make_token
from shared.cli.generate import generate_households
from shared.nats import free_port
from shared.settings import Settings
from tests.conftest import PG_ADMIN_DSN
from tests.deploy.scaleout import ScaleOut
from tests.helpers import TEST_SECRETS

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # runs once; brings its own PostgreSQL databases

APPLICATIONS = int(os.environ.get("FANGFAN_SCALEOUT_APPLICATIONS", "240"))
HOUSEHOLDS = int(os.environ.get("FANGFAN_SCALEOUT_HOUSEHOLDS", "24000"))
SCREENED_COUNTY = "341222"  # another county, so the screening sees only the imported households
DECISIONS = int(os.environ.get("FANGFAN_SCALEOUT_DECISIONS", "200"))
COUNTY = "341221"
REPORT = Path(__file__).resolve().parents[2] / "bench" / "out" / "scaleout.json"


def _pg_available() -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        except Exception:
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def _token(role: str, region: str, sub: str | None = None) -> dict[str, str]:
    settings = Settings(**TEST_SECRETS)  # type: ignore[arg-type]
    return {
        "Authorization": "Bearer " + make_token(sub=sub or f"so-{role}", role=role, region=region, settings=settings)
    }


async def _handled(port: int, consumer_prefix: str) -> int:
    """Events this replica handled, from its own /metrics."""
    async with httpx.AsyncClient() as c:
        text = (await c.get(f"http://127.0.0.1:{port}/metrics")).text
    total = 0
    for m in re.finditer(r'fangfan_events_consumed_total\{consumer="([^"]+)",outcome="handled"\} ([0-9.e+]+)', text):
        if m.group(1).startswith(consumer_prefix):
            total += int(float(m.group(2)))
    return total


async def _http_requests(port: int) -> int:
    async with httpx.AsyncClient() as c:
        text = (await c.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        int(float(m.group(1)))
        for m in re.finditer(r'fangfan_http_requests_total\{[^}]*route="/api/v1[^"]*"[^}]*\} ([0-9.e+]+)', text)
    )


async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def webhook_receiver() -> Any:
    seen: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        seen.append(request.headers["webhook-id"])
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/hook", seen
    finally:
        await runner.cleanup()


async def _until(predicate: Any, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(interval)
    return False


async def _post_retrying(c: httpx.AsyncClient, url: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    """What a well-behaved client does: retry with the same Idempotency-Key until answered."""
    for _ in range(120):
        try:
            r = await c.post(url, json=body, headers=headers)
        except httpx.HTTPError:
            await asyncio.sleep(0.5)
            continue
        if r.status_code in (409, 502, 503, 504) and r.headers.get("content-type", "").startswith(
            "application/problem"
        ):
            code = r.json().get("code")
            if r.status_code != 409 or code == "idempotency_in_progress":
                await asyncio.sleep(float(r.headers.get("retry-after", "0.5")))
                continue
        return r
    raise AssertionError(f"no answer for {url}")


@pytest.mark.skipif(not _pg_available(), reason="needs PostgreSQL on 127.0.0.1:5432")
async def test_two_replicas_share_the_work_and_one_killed_loses_nothing(tmp_path: Path) -> None:
    so = ScaleOut(tmp_path)
    report: dict[str, Any] = {}
    t0 = time.monotonic()
    await so.start()
    report["ready_s"] = round(time.monotonic() - t0, 1)
    county = _token("county", COUNTY)
    try:
        async with (
            webhook_receiver() as (hook_url, deliveries),
            httpx.AsyncClient(base_url=so.gateway_url, timeout=60) as c,
        ):
            r = await c.post(
                "/api/v1/subscriptions",
                json={"url": hook_url, "event_types": ["application.submitted"], "region": COUNTY},
                headers=county,
            )
            assert r.status_code == 201, r.text

            # Urgent self-applications (green channel): identification opens cases, assistance
            # draws up plans from `application.submitted`, notification fans the events out.
            households = list(generate_households(APPLICATIONS, COUNTY, seed=99))
            sem = asyncio.Semaphore(12)
            done = 0

            async def apply(i: int, h: dict[str, Any]) -> httpx.Response:
                nonlocal done
                citizen = _token("citizen", h["region_code"], sub=h["members"][0]["id_number"])
                body = {
                    "region_code": h["region_code"],
                    "household": {k: h[k] for k in ("members", "escaped_poverty", "income", "expenses", "assets")},
                    "household_number": h["household_number"],
                    "reason": "突发重病 (sudden serious illness)",
                    "risk_types": ["illness"],
                    "urgent": True,
                    "consent": {"commitment": True, "asset_query_authorized": True},
                }
                async with sem:
                    resp = await _post_retrying(
                        c, "/api/v1/applications", body, {**citizen, "Idempotency-Key": f"so-app-{i}"}
                    )
                done += 1
                return resp

            async def decide(i: int) -> httpx.Response:
                body = {
                    "kind": "transport_allowance",
                    "region_code": "341221001201",
                    "as_of": "2020-06-30",
                    "inputs": {
                        "person_id": f"so-person-{i}",
                        "work_location": "out_of_province",
                        "contract_months": 12,
                        "social_insurance": True,
                        "age": 35,
                    },
                }
                async with sem:
                    return await _post_retrying(
                        c, "/api/v1/subsidies/decisions", body, {**county, "Idempotency-Key": f"so-dec-{i}"}
                    )

            async def killer() -> None:
                await _until(lambda: asyncio.sleep(0, done >= APPLICATIONS // 3), 120, 0.05)
                for name in ("assistance-0", "notification-0", "subsidy-0"):
                    so.kill(name)
                report["killed"] = ["assistance-0", "notification-0", "subsidy-0"]
                report["killed_after_applications"] = done
                # and the JetStream node leading the FANGFAN stream (R3: a new leader takes over)
                nc = await nats.connect(so.cluster.url.split(","))
                try:
                    leader = (await nc.jetstream().stream_info("FANGFAN")).cluster.leader
                finally:
                    await nc.close()
                so.cluster.kill_node(leader)
                report["nats_stream_leader_killed"] = leader

            t1 = time.monotonic()
            results = await asyncio.gather(
                killer(), *(apply(i, h) for i, h in enumerate(households)), *(decide(i) for i in range(DECISIONS))
            )
            report["requests_s"] = round(time.monotonic() - t1, 1)
            apps, decisions = results[1 : 1 + APPLICATIONS], results[1 + APPLICATIONS :]
            assert [r.status_code for r in apps] == [201] * APPLICATIONS, [
                r.text for r in apps if r.status_code != 201
            ][:3]
            assert [r.status_code for r in decisions] == [201] * DECISIONS, [
                r.text for r in decisions if r.status_code != 201
            ][:3]

            ident_db, assist_db = so.database_url("identification"), so.database_url("assistance")
            subsidy_db, notif_db = so.database_url("subsidy"), so.database_url("notification")
            # every application recorded once
            assert await _count(ident_db, "SELECT count(*) FROM applications") == APPLICATIONS
            # every green-channel plan drawn up once, by whichever replica lived
            plans_sql = "SELECT count(*) FROM plans"
            assert await _until(lambda: _eq(assist_db, plans_sql, APPLICATIONS), 120), await _count(
                assist_db, plans_sql
            )
            assert await _count(assist_db, "SELECT count(DISTINCT household_id) FROM plans") == APPLICATIONS
            # every decision recorded once, however often the client had to retry
            assert await _count(subsidy_db, "SELECT count(*) FROM decisions") == DECISIONS
            # every event delivered to the department's webhook, none twice
            assert await _until(lambda: asyncio.sleep(0, len(set(deliveries)) >= APPLICATIONS), 120)
            await asyncio.sleep(2)
            report["webhook_deliveries"] = len(deliveries)
            report["webhook_distinct"] = len(set(deliveries))
            assert len(set(deliveries)) == APPLICATIONS
            duplicates = {k: n for k, n in Counter(deliveries).items() if n > 1}
            report["webhook_redelivered"] = len(duplicates)
            doubled = "SELECT event_id FROM deliveries GROUP BY subscription_id, event_id HAVING count(*) > 1"
            dedup_rows = await _count(notif_db, f"SELECT count(*) FROM ({doubled}) d")
            assert dedup_rows == 0

            # Both replicas took part: the survivor handled some, not all (the killed one the rest).
            survivor_assistance = await _handled(so.ports["assistance-1"], "assistance")
            survivor_notification = await _handled(so.ports["notification-1"], "notification")
            report["assistance_survivor_handled"] = survivor_assistance
            report["notification_survivor_handled"] = survivor_notification
            report["http_requests_per_identification_replica"] = [
                await _http_requests(so.ports["identification-0"]),
                await _http_requests(so.ports["identification-1"]),
            ]
            # Each event is in exactly one inbox row, whichever replica handled it.
            assistance_events = await _count(assist_db, "SELECT count(*) FROM inbox")
            notification_events = await _count(notif_db, "SELECT count(*) FROM inbox")
            report["assistance_events_handled"] = assistance_events
            report["notification_events_handled"] = notification_events
            assert 0 < survivor_assistance < assistance_events
            assert 0 < survivor_notification < notification_events

            await _import_and_screen_while_a_replica_dies(so, c, report)
            assert all(n > 0 for n in report["http_requests_per_identification_replica"])
    finally:
        report["total_s"] = round(time.monotonic() - t0, 1)
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(report, indent=2))
        print(json.dumps(report, indent=2))
        await so.stop()


async def _job(c: httpx.AsyncClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(5):
        try:
            r = await c.get(f"/api/v1/jobs/{job_id}", headers=headers)
            if r.status_code == 200:
                return dict(r.json())
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"job {job_id} unreadable")


async def _import_and_screen_while_a_replica_dies(so: ScaleOut, c: httpx.AsyncClient, report: dict[str, Any]) -> None:
    """A county's households imported through the gateway, then screened in chunks that both
    identification replicas claim; one of them is SIGKILLed once chunks are flowing: its chunk's
    lease runs out and the survivor finishes. Every household is screened once and every warning
    is one event."""
    county = _token("county", SCREENED_COUNTY)
    rows = generate_households(HOUSEHOLDS, SCREENED_COUNTY, seed=5)
    body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in rows).encode()
    t = time.monotonic()
    r = await c.post(
        "/api/v1/households/import",
        content=body,
        headers={**county, "Content-Type": "application/x-ndjson", "Idempotency-Key": "so-import"},
        timeout=600,
    )
    assert r.status_code in (200, 201, 202), r.text
    job = r.json()
    while job["status"] not in ("completed", "failed"):
        await asyncio.sleep(0.5)
        job = await _job(c, job["id"], county)
    assert job["status"] == "completed", job
    report["import_households_per_s"] = round(HOUSEHOLDS / (time.monotonic() - t))

    t = time.monotonic()
    r = await c.post("/api/v1/screenings", json={"region": SCREENED_COUNTY, "as_of": "2026-11-01"}, headers=county)
    assert r.status_code in (200, 201, 202), r.text
    job_id = r.json()["id"]
    killed = False
    while True:
        job = await _job(c, job_id, county)
        chunks = job.get("chunks") or {}
        both_working = len(chunks.get("by_replica") or []) == 2 and chunks.get("claimed", 0) >= 1
        if not killed and both_working:
            so.kill("identification-0")  # mid-screening: both replicas have done chunks, some are claimed
            killed = True
            report["identification_killed_at"] = {k: chunks.get(k) for k in ("done", "claimed", "pending")}
        if job["status"] in ("completed", "failed"):
            break
        assert time.monotonic() - t < 300, job
        await asyncio.sleep(0.3)
    assert job["status"] == "completed", job
    assert killed, chunks  # the screening must not have finished before both replicas took part
    report["screening_s"] = round(time.monotonic() - t, 1)
    report["screening_chunks"] = chunks
    replicas = {r["claimed_by"] for r in chunks["by_replica"]}
    assert len(replicas) == 2, chunks  # both replicas screened part of the county
    assert chunks["done"] == chunks["total"]

    ident_db = so.database_url("identification")
    screened = await _count(
        ident_db,
        "SELECT count(*) FROM households h JOIN household_outcomes o ON o.household_id = h.id "
        f"WHERE h.region_code LIKE '{SCREENED_COUNTY}%' AND o.screening_job_id = '{job_id}'",
    )
    warned = await _count(
        ident_db,
        "SELECT count(*) FROM households h JOIN household_outcomes o ON o.household_id = h.id "
        f"WHERE h.region_code LIKE '{SCREENED_COUNTY}%' AND o.warning IS NOT NULL",
    )
    conn = await asyncpg.connect(ident_db.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        payloads = await conn.fetch(
            "SELECT payload FROM outbox WHERE subject LIKE $1", f"fangfan.risk.warning_raised.%.{SCREENED_COUNTY}.%"
        )
    finally:
        await conn.close()
    subjects = [json.loads(bytes(p["payload"]))["subject"] for p in payloads]
    report["screened_households"] = screened
    report["warnings_raised"] = len(subjects)
    assert screened == HOUSEHOLDS
    assert len(subjects) == warned > 0
    assert len(set(subjects)) == len(subjects)  # no household warned twice


async def _eq(url: str, sql: str, n: int) -> bool:
    return await _count(url, sql) >= n
