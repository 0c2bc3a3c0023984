"""The scheduled screening with two replicas on one database (and one NATS): each county is
screened once per period of its policy — Anhui (341221) every month at the month end — whichever
replica gets there first; the job's chunks are shared by both; Liaoning (21…) twice a year."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.identification.adapters.orm import jobs
from services.identification.adapters.orm_loops import scheduled_screenings
from services.identification.application.scheduled import SCHEDULER, run_due_screenings
from services.identification.main import create_app
from shared.cli.generate import generate_households
from shared.settings import Settings
from tests.helpers import auth, running_app

CST = dt.timezone(dt.timedelta(hours=8))
N = 300


def _ctx(c: httpx.AsyncClient) -> Any:
    return c.app.state.ctx  # type: ignore[attr-defined]


@pytest.fixture
async def two_replicas(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, list[Any]]]:
    now = [dt.datetime(2024, 3, 30, 9, 0, tzinfo=CST)]
    async with running_app(create_app, settings) as a, running_app(create_app, settings) as b:
        for c in (a, b):
            _ctx(c).extras.screening_chunk_size, _ctx(c).extras.chunk_poll_s = 50, 0.05
            _ctx(c).clock = lambda: now[0]
        yield a, b, now


async def _import(client: httpx.AsyncClient, settings: Settings, county: str, n: int) -> None:
    body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in generate_households(n, county)).encode()
    r = await client.post(
        "/api/v1/households/import",
        content=body,
        headers={"content-type": "application/x-ndjson"} | auth(settings, "province", county[:2]),
    )
    assert r.json()["rows_done"] == n, r.text


async def _scheduled_jobs(c: httpx.AsyncClient) -> list[Any]:
    async with _ctx(c).sessions() as s:
        return list(
            (await s.execute(sa.select(jobs).where(jobs.c.created_by == SCHEDULER).order_by(jobs.c.region))).all()
        )


async def _leases(c: httpx.AsyncClient) -> list[tuple[str, str]]:
    async with _ctx(c).sessions() as s:
        rows = await s.execute(sa.select(scheduled_screenings.c.county, scheduled_screenings.c.period))
        return sorted((r[0], r[1]) for r in rows)


async def _until_done(c: httpx.AsyncClient, job_id: str) -> Any:
    for _ in range(600):
        async with _ctx(c).sessions() as s:
            job = (await s.execute(sa.select(jobs).where(jobs.c.id == job_id))).one()
        if job.status != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"scheduled screening {job_id} did not finish")


async def test_one_run_per_county_and_period_across_two_replicas(
    two_replicas: tuple[httpx.AsyncClient, httpx.AsyncClient, list[Any]], settings: Settings
) -> None:
    a, b, now = two_replicas
    await _import(a, settings, "341221", N)
    await _import(a, settings, "210281", 20)  # Liaoning: twice a year, from the 1st (fangfan default)

    # the day before the month end: Anhui's month-end run is not due; Liaoning's half-year one is
    results = await asyncio.gather(run_due_screenings(_ctx(a)), run_due_screenings(_ctx(b)))
    assert [(s.county, s.period, s.households) for r in results for s in r] == [("210281", "2024-01", 20)]
    [liaoning] = await _scheduled_jobs(a)
    assert (await _until_done(b, liaoning.id)).rows_done == 20

    # the month end: both replicas check at once, several times — one job
    now[0] = dt.datetime(2024, 3, 31, 23, 0, tzinfo=CST)
    results = await asyncio.gather(*(run_due_screenings(_ctx(c)) for c in (a, b, a, b)))
    started = [s for r in results for s in r]
    assert [(s.county, s.period, s.households) for s in started] == [("341221", "2024-03", N)]
    assert await _leases(a) == [("210281", "2024-01"), ("341221", "2024-03")]
    [_, job] = await _scheduled_jobs(b)
    assert job.id == started[0].job_id
    assert job.region == "341221"
    assert json.loads(job.params)["as_of"] == "2024-03-31"
    done = await _until_done(a, job.id)
    assert done.status == "completed"
    assert done.rows_done == N

    # the background tasks of both replicas, woken many times in the same period: nothing more
    for _ in range(5):
        for c in (a, b):
            _ctx(c).wake("schedule_wake").set()
        await asyncio.sleep(0.05)
    assert len(await _scheduled_jobs(a)) == 2

    # next month's end, through the background tasks: one more run, for April
    now[0] = dt.datetime(2024, 4, 30, 18, 0, tzinfo=CST)
    for _ in range(5):
        for c in (a, b):
            _ctx(c).wake("schedule_wake").set()
        await asyncio.sleep(0.05)
    for _ in range(100):
        if len(await _leases(a)) == 3:
            break
        await asyncio.sleep(0.1)
    assert await _leases(b) == [("210281", "2024-01"), ("341221", "2024-03"), ("341221", "2024-04")]
    april = [j for j in await _scheduled_jobs(a) if json.loads(j.params)["as_of"] == "2024-04-30"]
    assert len(april) == 1
    assert (await _until_done(b, april[0].id)).status == "completed"
