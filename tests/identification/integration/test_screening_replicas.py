"""Screenings shared by replicas: a job's chunks are claimed by whichever replica asks first
(`FOR UPDATE SKIP LOCKED` on PostgreSQL), each chunk is done exactly once, and a chunk whose
replica died (its lease ran out) is claimed again and finished by another."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from services.identification.adapters.orm import household_outcomes, job_chunks
from services.identification.application import screening
from services.identification.main import create_app
from shared.cli.generate import generate_households
from shared.settings import Settings
from tests.helpers import auth, running_app

N = 600


@pytest.fixture
async def two_replicas(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two instances of the service on one database (and one NATS)."""
    async with running_app(create_app, settings) as a, running_app(create_app, settings) as b:
        for c in (a, b):
            own = c.app.state.ctx.extras  # type: ignore[attr-defined]
            own.screening_chunk_size, own.chunk_poll_s = 50, 0.05
        yield a, b


async def _import(client: httpx.AsyncClient, settings: Settings) -> None:
    body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in generate_households(N, "341221")).encode()
    r = await client.post(
        "/api/v1/households/import",
        content=body,
        headers={"content-type": "application/x-ndjson"} | auth(settings, "county", "341221"),
    )
    assert r.json()["rows_done"] == N


async def _wait(client: httpx.AsyncClient, settings: Settings, job_id: str, seconds: float = 60) -> dict:
    for _ in range(int(seconds * 10)):
        job = (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(settings, "county", "341221"))).json()
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"screening did not finish: {job}")


async def _check_exactly_once(client: httpx.AsyncClient, job: dict) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    outbox = ctx.tables["outbox"]
    async with ctx.sessions() as s:
        assessed = (
            await s.execute(
                sa.select(sa.func.count())
                .select_from(household_outcomes)
                .where(household_outcomes.c.screening_job_id == job["id"])
            )
        ).scalar_one()
        warned = (
            await s.execute(
                sa.select(sa.func.count())
                .select_from(household_outcomes)
                .where(household_outcomes.c.warning.is_not(None))
            )
        ).scalar_one()
        events = (await s.execute(sa.select(outbox.c.subject, outbox.c.payload))).all()
        chunks = (await s.execute(sa.select(job_chunks).where(job_chunks.c.job_id == job["id"]))).all()
    subjects = [json.loads(p)["subject"] for _, p in events]
    assert assessed == N
    assert job["rows_done"] == N
    assert job["result"]["warnings_raised"] == warned == len(events) == len(set(subjects)) > 0
    assert all(c.status == "done" for c in chunks)
    assert sum(json.loads(c.result)["done"] for c in chunks) == N


async def test_two_replicas_share_a_screening(
    two_replicas: tuple[httpx.AsyncClient, httpx.AsyncClient], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two_replicas
    await _import(a, settings)
    original = screening.screen_chunk

    async def slower(*args, **kw):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.05)  # long enough for the other replica to claim the next chunk
        await original(*args, **kw)

    monkeypatch.setattr(screening, "screen_chunk", slower)
    headers = auth(settings, "county", "341221")
    r = await a.post("/api/v1/screenings", json={"region": "341221", "as_of": "2024-06-30"}, headers=headers)
    assert r.status_code == 202, r.text
    job = await _wait(b, settings, r.json()["id"])
    assert job["status"] == "completed", job
    chunks = job["chunks"]
    assert chunks["total"] == chunks["done"] == N // 50
    replicas = {x["claimed_by"]: x for x in chunks["by_replica"]}
    ids = {c.app.state.ctx.extras.replica_id for c in (a, b)}  # type: ignore[attr-defined]
    assert set(replicas) == ids  # both replicas did some of it
    assert sum(x["rows"] for x in replicas.values()) == N
    await _check_exactly_once(a, job)

    again = (
        await b.post("/api/v1/screenings", json={"region": "341221", "as_of": "2024-06-30"}, headers=headers)
    ).json()
    again = await _wait(a, settings, again["id"])
    assert again["status"] == "completed"
    assert again["result"]["warnings_raised"] == 0


async def test_a_dead_replicas_chunk_is_claimed_again_after_its_lease(
    two_replicas: tuple[httpx.AsyncClient, httpx.AsyncClient], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two_replicas
    await _import(a, settings)
    dead = a.app.state.ctx.extras.replica_id = "dead-host-1"  # type: ignore[attr-defined]
    for c in (a, b):
        c.app.state.ctx.extras.chunk_lease_s = 1  # type: ignore[attr-defined]
    a.app.state.ctx.stop_grace_s = 0.5  # type: ignore[attr-defined]  # its "dead" loops never return
    original = screening.screen_chunk
    dead_holds_one = asyncio.Event()

    async def dies_holding_its_claim(ctx, chunk, *, replica):  # type: ignore[no-untyped-def]
        if replica == dead:
            dead_holds_one.set()
            await asyncio.Event().wait()  # never finishes, like a SIGKILLed process
        # the live replica starts once the dead one holds a chunk (on a loaded machine it could
        # otherwise claim every chunk first, and nothing would need reclaiming)
        await asyncio.wait_for(dead_holds_one.wait(), 30)
        await original(ctx, chunk, replica=replica)

    monkeypatch.setattr(screening, "screen_chunk", dies_holding_its_claim)
    headers = auth(settings, "county", "341221")
    r = await a.post("/api/v1/screenings", json={"region": "341221", "as_of": "2024-06-30"}, headers=headers)
    job = await _wait(b, settings, r.json()["id"])
    assert job["status"] == "completed", job
    assert job["chunks"]["reclaimed"] >= 1
    assert {x["claimed_by"] for x in job["chunks"]["by_replica"]} == {b.app.state.ctx.extras.replica_id}  # type: ignore[attr-defined]
    await _check_exactly_once(b, job)


async def test_a_screening_that_cannot_go_on_is_marked_failed(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _import(client, settings)

    async def broken(*args, **kw):  # type: ignore[no-untyped-def]
        raise RuntimeError("database on fire")

    monkeypatch.setattr(screening, "screen_chunk", broken)
    headers = auth(settings, "county", "341221")
    r = await client.post("/api/v1/screenings", json={"region": "341221", "as_of": "2024-06-30"}, headers=headers)
    job = await _wait(client, settings, r.json()["id"], seconds=20)
    assert job["status"] == "failed"
    assert "database on fire" in job["result"]["error"]
    assert job["finished_at"] is not None
