"""Faults of the message broker (issue 10, scenarios 1 and 4): the real JetStream server under
the running services is killed with SIGKILL, paused with SIGSTOP, or down for minutes while
work goes on. Checked afterwards: every event committed to an outbox is in every consumer's
inbox exactly once, no warning is lost or doubled, the outbox backlog drains, no service was
restarted. Figures are printed (`-s`) and described in docs/reliability.md."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from shared.cli.generate import generate_households
from tests.reliability import checker
from tests.reliability.system import (
    ON_POSTGRES_ONLY,
    System,
    WebhookReceiver,
    bearer,
    query,
    scalar,
    until,
)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(**ON_POSTGRES_ONLY)]

#: Households imported and screened in scenario 1 (half in each of two counties). CI: 8,000;
#: the issue's 100,000 by hand: FANGFAN_REL_HOUSEHOLDS=100000.
HOUSEHOLDS = int(os.environ.get("FANGFAN_REL_HOUSEHOLDS", "8000"))
PAUSE_S = 10.0
COUNTIES = ("341222", "341223")
PROVINCE = "34"

#: notification reads every event: both its consumers must hold every committed event once.
NOTIFICATION_CONSUMERS = ("notification-webhooks", "notification-people")


def _ndjson(n: int, county: str) -> bytes:
    rows = generate_households(n, county, seed=10)
    return "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in rows).encode()


async def _import(c: httpx.AsyncClient, county: str, body: bytes) -> dict[str, Any]:
    r = await c.post(
        "/api/v1/households/import",
        content=body,
        headers={**bearer("county", county), "Content-Type": "application/x-ndjson", "Idempotency-Key": county},
        timeout=900,
    )
    assert r.status_code == 202, r.text
    job = dict(r.json())
    assert job["status"] == "completed", job
    return job


async def _screen(c: httpx.AsyncClient, county: str) -> dict[str, Any]:
    headers = bearer("county", county)
    r = await c.post("/api/v1/screenings", json={"region": county, "as_of": "2026-11-01"}, headers=headers)
    assert r.status_code == 202, r.text
    job = dict(r.json())
    while job["status"] == "running":
        await asyncio.sleep(0.3)
        job = dict((await c.get(f"/api/v1/jobs/{job['id']}", headers=headers)).json())
    assert job["status"] == "completed", job
    return job


async def test_nats_killed_three_times_and_paused_during_import_and_screening(tmp_path: Path) -> None:
    """Scenario 1. Two counties, each imported then screened. County A: NATS SIGKILLed during
    the import and again once the screening's first chunk is done (its warnings are being
    relayed). County B: imported and screened while NATS is frozen with SIGSTOP for 10 s;
    SIGKILLed a third time 0.3 s after it wakes, while the relay and consumers catch up."""
    system = await System(
        tmp_path,
        ["identification", "notification"],
        env={"FANGFAN_SCREENING_CHUNK": "2000", "FANGFAN_CONSUMER_ACK_WAIT_S": "10"},
    ).start()
    ident, notif = system.urls["identification"], system.urls["notification"]
    per_county = HOUSEHOLDS // 2
    report: dict[str, Any] = {"households": per_county * 2}
    bodies = {county: _ndjson(per_county, county) for county in COUNTIES}
    pids = {s: system.pid(s) for s in system.services}
    t0 = time.monotonic()
    try:
        async with (
            WebhookReceiver() as receiver,
            httpx.AsyncClient(base_url=system.url("identification"), timeout=60) as c,
            httpx.AsyncClient(base_url=system.url("notification"), timeout=60) as n,
        ):
            r = await n.post(
                "/api/v1/subscriptions",
                json={"url": receiver.url, "event_types": ["risk.*"], "region": PROVINCE},
                headers=bearer("province", PROVINCE),
            )
            assert r.status_code == 201, r.text

            async def rows_done(county: str) -> int:
                sql = "SELECT coalesce(max(rows_done), 0) FROM jobs WHERE kind = 'import' AND idempotency_key = $1"
                return int(await scalar(ident, sql, county))

            async def screened_chunks() -> int:
                sql = "SELECT count(*) FROM job_chunks WHERE status = 'done'"
                return int(await scalar(ident, sql))

            async def kill_and_restart(when: str, down_s: float = 1.0) -> None:
                system.nats_kill()
                report.setdefault("faults", []).append({"fault": "SIGKILL", "when": when})
                await asyncio.sleep(down_s)
                system.nats_restart()

            # County A: import (NATS killed midway), screening (killed after the first chunk).
            a, b = COUNTIES
            importing = asyncio.create_task(_import(c, a, bodies[a]))
            await until(lambda: _gt(rows_done(a), per_county // 3), 120, 0.1)
            await kill_and_restart(f"import {a}: {await rows_done(a)} of {per_county} rows stored")
            report["import_a"] = _brief(await importing)
            screening = asyncio.create_task(_screen(c, a))
            await until(lambda: _gt(screened_chunks(), 0), 120, 0.05)
            await kill_and_restart(f"screening {a}: {await screened_chunks()} chunks done")
            report["screening_a"] = (await screening)["result"]

            # County B: imported and screened while NATS is frozen; killed again just after.
            system.nats_pause()
            paused_at = time.monotonic()
            report.setdefault("faults", []).append({"fault": f"SIGSTOP {PAUSE_S:g} s", "when": f"import {b} starts"})
            work_b = asyncio.create_task(_import_and_screen(c, b, bodies[b]))
            await asyncio.sleep(PAUSE_S)
            system.nats_resume()
            report["pause_s"] = round(time.monotonic() - paused_at, 1)
            report["b_done_during_pause"] = work_b.done()
            await asyncio.sleep(0.3)  # the relay and the consumers are catching up
            backlog = await checker.unpublished(ident)
            await kill_and_restart(f"0.3 s after SIGCONT: identification outbox backlog {backlog}")
            job_b, report["screening_b"] = await work_b
            report["import_b"] = _brief(job_b)
            report["work_s"] = round(time.monotonic() - t0, 1)

            # The checker: wait for the system to settle, then compare.
            t1 = time.monotonic()
            warnings = int(await scalar(ident, "SELECT count(*) FROM household_outcomes WHERE warning IS NOT NULL"))
            consumers = {name: (notif, ["fangfan.>"]) for name in NOTIFICATION_CONSUMERS}

            async def settled() -> bool:
                if await checker.unpublished(ident) or await checker.unpublished(notif):
                    return False
                verdicts = await checker.check_inboxes([ident, notif], consumers)
                return all(v.ok for v in verdicts.values()) and len(set(receiver.seen)) >= warnings

            await until(settled, 600, 0.5)
            report["drain_after_last_fault_s"] = round(time.monotonic() - t1, 1)
            await asyncio.sleep(1.0)  # give a late double the chance to show

            verdicts = await checker.check_inboxes([ident, notif], consumers)
            report["consumers"] = checker.summary(verdicts)
            assert all(v.ok for v in verdicts.values()), report["consumers"]
            assert await checker.unpublished(ident) == 0
            assert await checker.unpublished(notif) == 0

            # Every household imported once and screened once; every warning one event.
            assert int(await scalar(ident, "SELECT count(*) FROM households")) == per_county * 2
            screened = "SELECT count(*) FROM household_outcomes WHERE screening_job_id IS NOT NULL"
            assert int(await scalar(ident, screened)) == per_county * 2
            raised = await query(
                ident, "SELECT event_id, payload FROM outbox WHERE subject LIKE 'fangfan.risk.warning_raised.%'"
            )
            warned = [json.loads(bytes(r["payload"]))["subject"] for r in raised]
            report["warnings"] = warnings
            assert len(warned) == warnings > 0
            assert len(set(warned)) == warnings  # no household warned twice
            warning_ids = {r["event_id"] for r in raised}
            # The department got each warning, none missing; one delivery row per warning.
            assert set(receiver.seen) == warning_ids
            report["webhook_posts"] = len(receiver.seen)
            report["webhook_repeated"] = sum(1 for k in Counter(receiver.seen).values() if k > 1)
            delivered = await query(notif, "SELECT event_id, status FROM deliveries")
            assert sorted(r["event_id"] for r in delivered) == sorted(warning_ids)
            assert {r["status"] for r in delivered} == {"delivered"}
            # JetStream holds each committed event once (the relay's re-sends were de-duplicated).
            committed = len(await checker.outbox(ident)) + len(await checker.outbox(notif))
            report["events_committed"] = committed
            assert await _stream_messages(system.nats.url) == committed
            # Nothing was restarted: the services rode out every fault.
            assert {s: system.pid(s) for s in system.services} == pids
            assert all(system.procs[s].poll() is None for s in system.services)
    finally:
        report["total_s"] = round(time.monotonic() - t0, 1)
        print("\nscenario 1:", json.dumps(report, indent=1, default=str))
        await system.stop()


async def _gt(value: Any, threshold: int) -> bool:
    return int(await value) > threshold


async def _import_and_screen(c: httpx.AsyncClient, county: str, body: bytes) -> tuple[Any, Any]:
    job = await _import(c, county, body)
    return job, (await _screen(c, county))["result"]


async def _stream_messages(url: str) -> int:
    nc = await nats.connect(url)
    try:
        return int((await nc.jetstream().stream_info("FANGFAN")).state.messages)
    finally:
        await nc.close()


#: Scenario 4's outage. NatsLink reconnects without limit (max_reconnect_attempts=-1, one try a
#: second), so no outage exceeds its budget; 12 s in CI is ~12 failed reconnects and longer than
#: the relay's 10 s ack timeout and the JetStream API's 5 s. By hand: 300 (5 minutes, well
#: beyond nats-py's default budget of 60 attempts × 2 s = 120 s).
OUTAGE_S = float(os.environ.get("FANGFAN_REL_OUTAGE_S", "12"))
LOAD_COUNTY = "341221"


def _application(i: int, h: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    body = {
        "region_code": h["region_code"],
        "household": {k: h[k] for k in ("members", "escaped_poverty", "income", "expenses", "assets")},
        "household_number": h["household_number"],
        "reason": "突发重病 (sudden serious illness)",
        "risk_types": ["illness"],
        "urgent": True,
        "consent": {"commitment": True, "asset_query_authorized": True},
    }
    citizen = bearer("citizen", h["region_code"], sub=h["members"][0]["id_number"])
    return body, {**citizen, "Idempotency-Key": f"rel-app-{i}"}


def _decision(i: int) -> tuple[dict[str, Any], dict[str, str]]:
    body = {
        "kind": "transport_allowance",
        "region_code": "341221001201",
        "as_of": "2020-06-30",
        "inputs": {
            "person_id": f"rel-person-{i}",
            "work_location": "out_of_province",
            "contract_months": 12,
            "social_insurance": True,
            "age": 35,
        },
    }
    return body, {**bearer("county", LOAD_COUNTY), "Idempotency-Key": f"rel-dec-{i}"}


async def test_nats_down_under_load_services_recover_without_restart(tmp_path: Path) -> None:
    """Scenario 4. Citizens apply (identification → assistance plans, notification) and officers
    record subsidy decisions (subsidy → notification), 10 requests a second, while NATS is
    SIGKILLed and kept down for OUTAGE_S (load 2 s before and after). Every request is answered during the outage (the
    outbox decouples the API from the broker); when NATS is back, the same processes reconnect,
    the backlog drains, and every consumer's inbox equals the outboxes it reads."""
    services = ["identification", "assistance", "subsidy", "notification"]
    system = await System(tmp_path, services).start()
    pids = {s: system.pid(s) for s in services}
    households = iter(generate_households(100_000, LOAD_COUNTY, seed=44))
    report: dict[str, Any] = {"outage_s": OUTAGE_S}
    statuses: Counter[str] = Counter()
    latencies: dict[str, list[float]] = {"before": [], "outage": [], "after": []}
    phase = "before"
    stop = asyncio.Event()
    t0 = time.monotonic()

    async def load() -> None:
        i = 0
        async with (
            httpx.AsyncClient(base_url=system.url("identification"), timeout=30) as ident,
            httpx.AsyncClient(base_url=system.url("subsidy"), timeout=30) as subsidy,
        ):

            async def one(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> None:
                t = time.monotonic()
                r = await client.post(path, json=body, headers=headers)
                latencies[phase].append(time.monotonic() - t)
                statuses[f"{path} {r.status_code}"] += 1

            while not stop.is_set():
                app = _application(i, next(households))
                tasks = [
                    one(ident, "/api/v1/applications", *app),
                    one(subsidy, "/api/v1/subsidies/decisions", *_decision(i)),
                ]
                await asyncio.gather(*tasks, asyncio.sleep(0.2))
                i += 1

    try:
        loader = asyncio.create_task(load())
        await asyncio.sleep(2)
        system.nats_kill()
        phase = "outage"
        down_at = time.monotonic()
        await asyncio.sleep(min(OUTAGE_S, 2.0))
        ready_during = {s: await asyncio.to_thread(system.is_ready, s) for s in services}
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        backlog = {s: await checker.unpublished(system.urls[s]) for s in services}
        system.nats_restart()
        phase = "after"
        up_at, up_wall = time.monotonic(), time.time()
        report["down_s"] = round(up_at - down_at, 1)
        report["backlog_at_restart"] = backlog
        report["ready_again_after_s"] = await _ready_again(system, services, up_at)
        await asyncio.sleep(max(0.0, 2 - (time.monotonic() - up_at)))
        stop.set()
        await loader

        consumers = checker.consumers_of(system.urls)
        outboxes = list(system.urls.values())

        async def settled() -> bool:
            for url in outboxes:
                if await checker.unpublished(url):
                    return False
            verdicts = await checker.check_inboxes(outboxes, consumers)
            return all(v.ok for v in verdicts.values())

        async def drained() -> bool:
            return not any([await checker.unpublished(url) for url in outboxes])

        await until(drained, 120)
        await until(settled, 120, 0.5)
        report["all_settled_after_restart_s"] = round(time.monotonic() - up_at, 1)
        await asyncio.sleep(1.0)
        # When was the backlog left by the outage (rows committed before the restart) published,
        # and handled by the last consumer?
        published, handled = 0.0, 0.0
        for url in outboxes:
            sql = "SELECT extract(epoch FROM max(published_at)) FROM outbox WHERE created_at < to_timestamp($1)"
            published = max(published, float(await scalar(url, sql, up_wall) or 0))
        for url in {u for u, _ in consumers.values()}:
            last = await scalar(
                url,
                "SELECT extract(epoch FROM max(processed_at)) FROM inbox WHERE event_id = ANY($1::varchar[])",
                [eid for o in outboxes for eid in await _before(o, up_wall)],
            )
            handled = max(handled, float(last or 0))
        report["backlog_published_after_restart_s"] = round(published - up_wall, 1)
        report["backlog_handled_after_restart_s"] = round(handled - up_wall, 1)

        report["requests"] = dict(statuses)
        report["latency_ms_p50_max"] = {
            k: [round(1000 * sorted(v)[len(v) // 2]), round(1000 * max(v))] for k, v in latencies.items() if v
        }
        report["ready_during_outage"] = ready_during
        verdicts = await checker.check_inboxes(outboxes, consumers)
        report["consumers"] = {k: v for k, v in checker.summary(verdicts).items() if v["expected"]}
        assert all(v.ok for v in verdicts.values()), report["consumers"]
        # Every request answered, none refused, during the outage too.
        applied = statuses["/api/v1/applications 201"]
        decided = statuses["/api/v1/subsidies/decisions 201"]
        assert sum(statuses.values()) == applied + decided
        assert len(latencies["outage"]) >= 2 * int(OUTAGE_S / 0.2) * 0.5
        # Effects downstream, once each: a green-channel plan per application.
        assert int(await scalar(system.urls["assistance"], "SELECT count(*) FROM plans")) == applied
        assert int(await scalar(system.urls["subsidy"], "SELECT count(*) FROM decisions")) == decided
        assert sum(backlog.values()) > 0  # events did pile up while NATS was down
        # Nothing restarted; every service is ready again on its own.
        assert {s: system.pid(s) for s in services} == pids
        assert not any(ready_during.values())  # /readyz told the truth during the outage
        assert all([await asyncio.to_thread(system.is_ready, s) for s in services])
    finally:
        stop.set()
        report["total_s"] = round(time.monotonic() - t0, 1)
        print("\nscenario 4:", json.dumps(report, indent=1, default=str))
        await system.stop()


async def _ready_again(system: System, services: list[str], since: float) -> dict[str, float]:
    """Seconds after `since` at which each service's /readyz said 200 again (NATS re-linked)."""
    out: dict[str, float] = {}
    while len(out) < len(services) and time.monotonic() - since < 120:
        for s in services:
            if s not in out and await asyncio.to_thread(system.is_ready, s):
                out[s] = round(time.monotonic() - since, 1)
        await asyncio.sleep(0.1)
    return out


async def _before(url: str, wall: float) -> list[str]:
    rows = await query(url, "SELECT event_id FROM outbox WHERE created_at < to_timestamp($1)", wall)
    return [r["event_id"] for r in rows]


def _brief(job: dict[str, Any]) -> dict[str, Any]:
    return {k: job[k] for k in ("status", "rows_done", "rows_failed", "rate_per_s")}
