"""POST /api/v1/screenings: a job that evaluates every household of a region, stores the outcome
and emits one risk.warning_raised per household whose warning is raised (through the outbox);
running it again raises nothing new."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import sqlalchemy as sa

from services.identification.adapters.orm import household_outcomes, households
from shared.cli.generate import generate_households
from shared.settings import Settings
from tests.conftest import TEST_DB
from tests.helpers import auth, collect_events

N = 600


async def _import(client: httpx.AsyncClient, settings: Settings) -> list[dict]:
    items = list(generate_households(N, "341221"))
    body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in items).encode()
    r = await client.post(
        "/api/v1/households/import",
        content=body,
        headers={"content-type": "application/x-ndjson"} | auth(settings, "county", "341221"),
    )
    assert r.json()["rows_done"] == N
    return items


async def _wait(client: httpx.AsyncClient, settings: Settings, job_id: str) -> dict:
    for _ in range(300):
        job = (await client.get(f"/api/v1/jobs/{job_id}", headers=auth(settings, "county", "341221"))).json()
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError("screening did not finish")


@pytest.mark.parametrize("in_workers", [False, True], ids=["in-process", "worker-processes"])
async def test_screening_stores_outcomes_and_emits_warning_events(
    client: httpx.AsyncClient, settings: Settings, in_workers: bool
) -> None:
    items = await _import(client, settings)
    if in_workers:  # every chunk evaluated in the service's worker processes (as large ones are)
        client.app.state.ctx.extras.screening_pool_from = 1  # type: ignore[attr-defined]
    headers = auth(settings, "county", "341221")
    r = await client.post("/api/v1/screenings", json={"region": "341221", "as_of": "2024-06-30"}, headers=headers)
    assert r.status_code == 202, r.text
    assert r.json()["rows_total"] == N
    job = await _wait(client, settings, r.json()["id"])
    assert job["status"] == "completed"
    assert job["rows_done"] == N
    assert (client.app.state.ctx.extras.import_pool is not None) is in_workers  # type: ignore[attr-defined]
    raised = job["result"]["warnings_raised"]

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.sessions() as s:
        warned = (
            await s.execute(
                sa.select(sa.func.count())
                .select_from(household_outcomes)
                .where(household_outcomes.c.warning.is_not(None))
            )
        ).scalar_one()
        assessed = (
            await s.execute(
                sa.select(sa.func.count())
                .select_from(household_outcomes)
                .where(household_outcomes.c.screening_job_id == job["id"])
            )
        ).scalar_one()
        outbox = (await s.execute(sa.select(ctx.tables["outbox"].c.payload))).scalars().all()
        why = (
            await s.execute(
                sa.select(household_outcomes.c.as_of, household_outcomes.c.policy_id, sa.func.count()).group_by(
                    household_outcomes.c.as_of, household_outcomes.c.policy_id
                )
            )
        ).all()
    assert assessed == N
    # every outcome says which policy version and which date it was made under
    assert [(str(d), n) for d, _, n in why] == [("2024-06-30", N)]
    assert all(p for _, p, _ in why)
    assert raised == warned > 0
    assert len(outbox) == raised
    events = await collect_events(settings.nats_url, "fangfan.risk.warning_raised.34.3412.341221.>", count=raised)
    assert len(events) == raised
    ids = {m["id_number"] for h in items for m in h["members"]}
    names = {m["name"] for h in items for m in h["members"]}
    for ev in events:
        data = ev["data"]
        assert {"household_id", "household_number", "warning", "category", "risk_types", "per_capita_income"} <= set(
            data
        )
        assert data["policy"]["id"] == "linquan-2020"
        text = json.dumps(ev, ensure_ascii=False)
        assert not any(i in text for i in ids)
        assert not any(f'"{n}"' in text for n in names)
        assert "." in data["per_capita_income"]

    again = (
        await client.post("/api/v1/screenings", json={"region": "341221", "as_of": "2024-06-30"}, headers=headers)
    ).json()
    again = await _wait(client, settings, again["id"])
    assert again["result"]["warnings_raised"] == 0


async def test_screening_roles_and_jurisdiction(client: httpx.AsyncClient, settings: Settings) -> None:
    body = {"region": "341221", "as_of": "2024-06-30"}
    r = await client.post("/api/v1/screenings", json=body, headers=auth(settings, "county", "341225"))
    assert r.status_code == 404
    r = await client.post("/api/v1/screenings", json=body, headers=auth(settings, "village", "341221001201"))
    assert r.status_code == 403
    r = await client.post("/api/v1/screenings", json=body | {"region": "3412210"}, headers=auth(settings, "admin", ""))
    assert r.status_code == 422


@pytest.mark.parametrize("in_workers", [False, True], ids=["in-process", "worker-processes"])
async def test_households_stored_without_a_profile_get_the_same_outcomes(
    client: httpx.AsyncClient, settings: Settings, in_workers: bool
) -> None:
    """Households written before screening profiles existed (profile NULL) are evaluated from
    their stored rows, beside the others of their chunk, with the outcomes their profile gives."""
    await _import(client, settings)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    if in_workers:
        ctx.extras.screening_pool_from = 1
    headers = auth(settings, "county", "341221")
    o = household_outcomes.c

    async def screen() -> dict[str, tuple]:
        r = await client.post("/api/v1/screenings", json={"region": "341221", "as_of": "2024-06-30"}, headers=headers)
        assert (await _wait(client, settings, r.json()["id"]))["status"] == "completed"
        async with ctx.sessions() as s:
            rows = await s.execute(
                sa.select(o.household_id, o.category, o.low_income_category, o.warning, o.per_capita_income)
            )
            return {r[0]: tuple(r[1:]) for r in rows}

    with_profiles = await screen()
    async with ctx.uow() as uow:
        ids = sorted(with_profiles)[::3]  # every third household loses its profile
        await uow.session.execute(sa.update(households).where(households.c.id.in_(ids)).values(screening_profile=None))
        await uow.session.execute(sa.delete(household_outcomes))
        await uow.commit()
    without = await screen()
    assert len(without) == N
    assert without == with_profiles


@pytest.mark.postgres
async def test_an_outcome_stored_while_a_chunk_is_evaluated_is_replaced_not_duplicated(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New households' outcomes are copied straight in (PostgreSQL); if an application gave one
    of them an outcome after the chunk was read, the chunk's write fails on the key and is done
    again as an upsert: every household ends with exactly one outcome, the screening's. (SQLite
    upserts every outcome: nothing to race.)"""
    from services.identification.adapters.screening_repo import ScreeningRepository

    if TEST_DB != "postgres":
        pytest.skip("PostgreSQL only")
    await _import(client, settings)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    read = ScreeningRepository.chunk_rows
    raced: list[str] = []

    async def read_then_race(self, chunk):  # type: ignore[no-untyped-def]
        rows = await read(self, chunk)
        async with ctx.uow() as uow:  # "an application" stores an outcome for the chunk's first household
            first = sa.select(households.c.id).order_by(households.c.id).limit(1)
            hid = (await uow.session.execute(first)).scalar_one()
            await uow.session.execute(
                sa.insert(household_outcomes).values(household_id=hid, warning="yellow", assessed_at=sa.func.now())
            )
            await uow.commit()
        raced.append(hid)
        return rows

    monkeypatch.setattr(ScreeningRepository, "chunk_rows", read_then_race)
    headers = auth(settings, "county", "341221")
    r = await client.post("/api/v1/screenings", json={"region": "341221", "as_of": "2024-06-30"}, headers=headers)
    job = await _wait(client, settings, r.json()["id"])
    assert job["status"] == "completed", job
    assert job["rows_done"] == N
    async with ctx.sessions() as s:
        n = (await s.execute(sa.select(sa.func.count()).select_from(household_outcomes))).scalar_one()
        mine = (
            await s.execute(
                sa.select(household_outcomes.c.screening_job_id).where(household_outcomes.c.household_id == raced[0])
            )
        ).scalar_one()
    assert n == N
    assert mine == job["id"]  # the screening's outcome replaced the one stored meanwhile
