"""The export to the national monitoring system (`/api/v1/national-sync`): a county's first run
sends every household in scope, the next only the changed ones (exactly those), status changes
and removals included; a run stopped mid-way resumes after its last committed chunk with no
duplicate and no gap; files are encrypted at rest; a county cannot export another."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.identification.adapters.national_sync_files import file_path
from services.identification.adapters.orm import households
from services.identification.adapters.orm_national_sync import national_sync_rows
from services.identification.application.national_sync import run_due_syncs
from services.identification.domain.national_format import parse_header
from services.identification.main import create_app
from shared.cli.generate import generate_households
from shared.settings import Settings
from tests.helpers import auth, running_app

COUNTY = "341221"
OTHER = "341222"
RUNS = "/api/v1/national-sync/runs"
NDJSON = {"content-type": "application/x-ndjson"}


def _ctx(c: httpx.AsyncClient) -> Any:
    return c.app.state.ctx  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def _app(settings: Settings, **state: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app, settings) as c:
        _ctx(c).clock = state.pop("clock", None)
        for key, value in {"national_sync_poll_s": 0.05, "national_sync_lease_s": 1.0, **state}.items():
            setattr(_ctx(c).extras, key, value)
        yield c


def _households(n: int, county: str = COUNTY, *, escaped: int | None = None, seed: int = 42) -> list[dict[str, Any]]:
    """`n` synthetic households; the first `escaped` (default: all) are escaped (in scope)."""
    items = list(generate_households(n, county, seed=seed))
    for i, h in enumerate(items):
        h["escaped_poverty"] = escaped is None or i < escaped
    return items


async def _import(c: httpx.AsyncClient, settings: Settings, items: list[dict[str, Any]], county: str = COUNTY) -> None:
    body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in items).encode()
    r = await c.post("/api/v1/households/import", content=body, headers=NDJSON | auth(settings, "county", county))
    assert r.status_code == 202, r.text
    assert r.json()["rows_failed"] == 0, r.json()["errors"]


async def _start(c: httpx.AsyncClient, settings: Settings, region: str = COUNTY, **body: Any) -> list[dict[str, Any]]:
    r = await c.post(RUNS, json={"region": region, **body}, headers=auth(settings, "county", COUNTY))
    assert r.status_code == 202, r.text
    return list(r.json()["items"])


async def _wait(c: httpx.AsyncClient, settings: Settings, run_id: str, county: str = COUNTY) -> dict[str, Any]:
    role = "province" if len(county) == 2 else "county"
    for _ in range(400):
        r = await c.get(f"{RUNS}/{run_id}", headers=auth(settings, role, county))
        assert r.status_code == 200, r.text
        if r.json()["status"] == "completed":
            return dict(r.json())
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not complete: {r.json()}")


async def _file(c: httpx.AsyncClient, settings: Settings, run: dict[str, Any], county: str = COUNTY) -> bytes:
    r = await c.get(run["files"][0]["url"].removeprefix("http://test"), headers=auth(settings, "county", county))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.content


def _rows(data: bytes) -> tuple[dict[str, str], list[list[str]]]:
    header, body = data.split(b"\n", 1)
    h = parse_header(header + b"\n")
    assert h["sha256"] == hashlib.sha256(body).hexdigest()
    rows = [line.split("|") for line in body.decode().splitlines() if line.startswith("F|")]
    assert int(h["count"]) == len(rows)
    return h, rows


async def test_first_run_sends_all_then_only_the_three_changed(settings: Settings) -> None:
    items = _households(24, escaped=20)  # 4 ordinary households: not in the national system
    async with _app(settings, national_sync_chunk_size=7) as c:
        await _import(c, settings, items)
        [started] = await _start(c, settings)
        assert started["created"] is True
        assert started["sequence"] == 1
        assert started["full"] is True
        first = await _wait(c, settings, started["id"])
        h1, rows1 = _rows(await _file(c, settings, first))
        assert (h1["county"], h1["sequence"], h1["mode"], h1["since"], h1["count"]) == (COUNTY, "1", "F", "", "20")
        assert {r[1] for r in rows1} == {"A"}
        assert sorted(r[2] for r in rows1) == sorted(h["household_number"] for h in items[:20])
        assert first["households"] == 20
        assert first["checksum"] == h1["sha256"]
        job = (await c.get(f"/api/v1/jobs/{first['id']}", headers=auth(settings, "county", COUNTY))).json()
        assert (job["kind"], job["status"], job["rows_done"], job["rows_total"]) == (
            "national_sync",
            "completed",
            24,
            24,
        )
        assert (job["result"]["added"], job["result"]["skipped"], job["result"]["file"]) == (
            20,
            4,
            first["files"][0]["name"],
        )

        changed = [dict(items[i], income={**items[i]["income"], "wage": "12345"}) for i in (2, 9, 15)]
        await _import(c, settings, changed)
        [second] = await _start(c, settings)
        second = await _wait(c, settings, second["id"])
        h2, rows2 = _rows(await _file(c, settings, second))
        assert (h2["sequence"], h2["mode"], h2["count"]) == ("2", "I", "3")
        assert h2["since"] == h1["until"]
        assert sorted(r[2] for r in rows2) == sorted(h["household_number"] for h in changed)
        assert {r[1] for r in rows2} == {"U"}

        [third] = await _start(c, settings)  # nothing changed since
        third = await _wait(c, settings, third["id"])
        h3, rows3 = _rows(await _file(c, settings, third))
        assert (h3["sequence"], h3["count"], rows3) == ("3", "0", [])

        r = await c.get(RUNS, headers=auth(settings, "county", COUNTY))
        assert [x["sequence"] for x in r.json()["items"]] == [3, 2, 1]

        [full] = await _start(c, settings, full=True)  # a full snapshot on request
        full = await _wait(c, settings, full["id"])
        h4, rows4 = _rows(await _file(c, settings, full))
        assert (h4["mode"], h4["count"], h4["since"]) == ("F", "20", "")  # every household again
        assert {r[1] for r in rows4} == {"U"}


async def test_status_changes_and_removals(settings: Settings) -> None:
    items = _households(10)
    async with _app(settings) as c:
        await _import(c, settings, items)
        [run] = await _start(c, settings)
        await _wait(c, settings, run["id"])
        by_number = {h["household_number"]: h for h in items}
        numbers = sorted(by_number)
        cleared, moved, gone, out_of_scope = numbers[0], numbers[1], numbers[2], numbers[3]
        async with _ctx(c).sessions() as s, s.begin():
            now = sa.func.now()
            await s.execute(
                sa.update(households)
                .where(households.c.household_number == cleared)
                .values(status="cleared", updated_at=now)
            )
            await s.execute(
                sa.update(households)
                .where(households.c.household_number == moved)
                .values(region_code=OTHER + "001001", updated_at=now)
            )
            await s.execute(sa.delete(households).where(households.c.household_number == gone))
            await s.execute(
                sa.update(households)
                .where(households.c.household_number == out_of_scope)
                .values(escaped_poverty=False, updated_at=now)
            )
        [run2] = await _start(c, settings)
        run2 = await _wait(c, settings, run2["id"])
        _h, rows = _rows(await _file(c, settings, run2))
        by = {r[2]: r for r in rows}
        assert set(by) == {cleared, moved, gone, out_of_scope}
        assert by[cleared][1] == "U"
        assert by[cleared][5] == "3"
        assert [by[n][1] for n in (moved, gone, out_of_scope)] == ["D", "D", "D"]
        assert len(by[gone]) == 5  # a removal names the household only


async def test_stopped_run_resumes_without_duplicates_or_gaps(settings: Settings) -> None:
    items = _households(23)
    reached = asyncio.Event()
    never = asyncio.Event()
    seen: dict[str, Any] = {}

    async def stop_after_two(run_id: str, n: int) -> None:
        if n == 2:
            async with ctx.sessions() as s:
                seen["staged"] = (
                    await s.execute(
                        sa.select(sa.func.count())
                        .select_from(national_sync_rows)
                        .where(national_sync_rows.c.run_id == run_id)
                    )
                ).scalar_one()
            reached.set()
            await never.wait()  # the replica hangs here until the service is stopped mid-run

    async with _app(settings, national_sync_chunk_size=4, national_sync_after_chunk=stop_after_two) as c:
        ctx = _ctx(c)
        await _import(c, settings, items)
        [run] = await _start(c, settings)
        await asyncio.wait_for(reached.wait(), 20)
        job = (await c.get(f"/api/v1/jobs/{run['id']}", headers=auth(settings, "county", COUNTY))).json()
    assert seen["staged"] == 8
    assert job["status"] == "running"
    assert job["rows_done"] == 8

    chunks_after_restart: list[int] = []

    async def count(run_id: str, n: int) -> None:
        chunks_after_restart.append(n)

    # another replica (the first one's lease runs out) continues after the last committed chunk
    async with _app(settings, national_sync_chunk_size=4, national_sync_after_chunk=count) as c:
        done = await _wait(c, settings, run["id"])
        _h, rows = _rows(await _file(c, settings, done))
        numbers = [r[2] for r in rows]
        assert len(numbers) == len(set(numbers)) == 23
        assert set(numbers) == {h["household_number"] for h in items}
        job = (await c.get(f"/api/v1/jobs/{run['id']}", headers=auth(settings, "county", COUNTY))).json()
        assert (job["rows_done"], job["result"]["added"]) == (23, 23)
    assert chunks_after_restart == [1, 2, 3, 4]  # 15 households left in chunks of 4: none redone


async def test_files_encrypted_at_rest_and_ids_not_logged(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    items = _households(3)
    id_number = items[0]["members"][0]["id_number"]
    async with _app(settings) as c:
        await _import(c, settings, items)
        [run] = await _start(c, settings)
        run = await _wait(c, settings, run["id"])
        plain = await _file(c, settings, run)
        assert id_number.encode() in plain  # the national system needs it
        stored = file_path(settings.data_dir, COUNTY, run["files"][0]["name"]).read_bytes()
        assert id_number.encode() not in stored
        assert stored.startswith(b"FFNSENC1")
        async with _ctx(c).sessions() as s:
            raw = (await s.execute(sa.text("SELECT * FROM national_sync_exported"))).all()
            audited = (
                await s.execute(sa.text("SELECT household_id, role FROM audit_log WHERE fields = 'national_sync_file'"))
            ).all()
        assert [tuple(a) for a in audited] == [(run["id"], "county")]  # the download is audited
        assert id_number not in repr(raw)
    assert id_number not in caplog.text


async def test_jurisdiction(settings: Settings) -> None:
    async with _app(settings) as c:
        await _import(c, settings, _households(3, COUNTY))
        await _import(c, settings, _households(2, OTHER, seed=7), county=OTHER)
        other_county = auth(settings, "county", OTHER)
        r = await c.post(RUNS, json={"region": COUNTY}, headers=other_county)
        assert r.status_code == 404
        assert r.json()["code"] == "region_not_found"
        r = await c.post(RUNS, json={"region": "34"}, headers=other_county)  # wider than its own
        assert r.status_code == 404
        r = await c.post(RUNS, json={"region": COUNTY}, headers=auth(settings, "township", COUNTY + "001"))
        assert r.status_code == 403
        r = await c.post(RUNS, json={"region": COUNTY, "since": "x"}, headers=auth(settings, "county", COUNTY))
        assert r.status_code == 422

        r = await c.post(RUNS, json={"region": "34"}, headers=auth(settings, "province", "34"))
        assert r.status_code == 202, r.text
        runs = {x["county"]: x for x in r.json()["items"]}
        assert set(runs) == {COUNTY, OTHER}
        mine = await _wait(c, settings, runs[COUNTY]["id"])
        await _wait(c, settings, runs[OTHER]["id"], county=OTHER)

        assert (await c.get(f"{RUNS}/{mine['id']}", headers=other_county)).status_code == 404
        url = mine["files"][0]["url"]
        assert (await c.get(url, headers=other_county)).status_code == 404
        assert (await c.get(url, headers=auth(settings, "province", "34"))).status_code == 200
        listed = (await c.get(RUNS, headers=other_county)).json()["items"]
        assert [x["county"] for x in listed] == [OTHER]
        again = (await c.post(RUNS, json={"region": COUNTY}, headers=auth(settings, "county", COUNTY))).json()
        assert again["items"][0]["sequence"] == 2


async def test_daily_schedule_starts_each_county_once_a_day(settings: Settings) -> None:
    cst = dt.timezone(dt.timedelta(hours=8))
    now = [dt.datetime(2026, 12, 2, 1, 30, tzinfo=cst)]
    async with _app(settings, national_sync_daily_at="02:00", clock=lambda: now[0]) as c:
        await _import(c, settings, _households(3, COUNTY))
        await _import(c, settings, _households(2, OTHER, seed=7), county=OTHER)
        assert await run_due_syncs(_ctx(c)) == []  # before 02:00
        now[0] = dt.datetime(2026, 12, 2, 2, 5, tzinfo=cst)
        started = await run_due_syncs(_ctx(c))
        assert len(started) == 2
        assert await run_due_syncs(_ctx(c)) == []  # once a day
        runs = [await _wait(c, settings, i, county="34") for i in started]
        assert sorted(r["county"] for r in runs) == [COUNTY, OTHER]
        assert {r["created_by"] for r in runs} == {"system:schedule"}
        now[0] = dt.datetime(2026, 12, 3, 2, 0, tzinfo=cst)
        assert len(await run_due_syncs(_ctx(c))) == 2  # the next day
