"""The low-income side over a generated county on a real database and NATS: the roster and the
summary are correct to the count (recounted here from the stored rows with the domain rule);
a joint screening runs once per county and half-year and records both sides' counts; the
monthly comparison tasks go pending → received → compared, or overdue past the due day, with
their events."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.identification.adapters.orm import household_outcomes, households, members
from services.identification.adapters.orm_cases import signals
from services.identification.application.low_income import FinishedRun, ScheduleRun, run_low_income_schedule
from services.identification.domain.low_income_roster import MemberFacts, facts_of, roster_category
from services.identification.main import create_app
from shared.cli.generate import generate_households
from shared.settings import Settings
from tests.helpers import auth, collect_events, running_app

CST = dt.timezone(dt.timedelta(hours=8))
COUNTY = "341221"
N = 400


def _ctx(c: httpx.AsyncClient) -> Any:
    return c.app.state.ctx  # type: ignore[attr-defined]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, list[dt.datetime]]]:
    now = [dt.datetime(2026, 4, 2, 9, 0, tzinfo=CST)]
    async with running_app(create_app, settings) as c:
        _ctx(c).extras.screening_chunk_size, _ctx(c).extras.chunk_poll_s = 150, 0.05
        _ctx(c).clock = lambda: now[0]
        yield c, now


async def _import(c: httpx.AsyncClient, settings: Settings, county: str, n: int) -> None:
    body = "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in generate_households(n, county)).encode()
    r = await c.post(
        "/api/v1/households/import",
        content=body,
        headers={"content-type": "application/x-ndjson"} | auth(settings, "province", county[:2]),
    )
    assert r.json()["rows_done"] == n, r.text


async def _run_until_finished(c: httpx.AsyncClient) -> ScheduleRun:
    for _ in range(300):
        done = await run_low_income_schedule(_ctx(c))
        if done.finished:
            return done
        await asyncio.sleep(0.1)
    raise AssertionError("the joint screening did not finish")


async def _expected(c: httpx.AsyncClient) -> dict[str, Any]:
    """Every household's roster category recounted from the stored rows with the domain rule."""
    async with _ctx(c).sessions() as s:
        hs = (
            await s.execute(
                sa.select(
                    households.c.id, households.c.region_code, household_outcomes.c.low_income_category
                ).select_from(
                    households.outerjoin(household_outcomes, household_outcomes.c.household_id == households.c.id)
                )
            )
        ).all()
        ms: dict[str, list[MemberFacts]] = {}
        for m in (await s.execute(sa.select(members))).all():
            ms.setdefault(m.household_id, []).append(
                MemberFacts(m.disability_grade, bool(m.serious_illness), m.schooling)
            )
        kinds: dict[str, list[str]] = {}
        for hid, kind in (await s.execute(sa.select(signals.c.household_id, signals.c.kind))).all():
            kinds.setdefault(hid, []).append(kind)
    out: dict[str, Any] = {"by": Counter(), "persons": Counter(), "category": {}}
    for hid, region, low in hs:
        cat = roster_category(low, facts_of(ms.get(hid, []), kinds.get(hid, [])))
        out["category"][hid] = cat
        if cat is not None:
            out["by"][(region[:9], cat)] += 1
            out["persons"][(region[:9], cat)] += len(ms.get(hid, []))
    return out


async def test_roster_summary_and_joint_screening(
    app: tuple[httpx.AsyncClient, list[dt.datetime]], settings: Settings, nats_server: Any
) -> None:
    c, _now = app
    await _import(c, settings, COUNTY, N)
    county = auth(settings, "county", COUNTY)

    # the joint screening of 2026-H1, started by the county officer; again: the same run
    r = await c.post("/api/v1/low-income/joint-screenings", json={"county": COUNTY}, headers=county)
    assert r.status_code == 201, r.text
    run = r.json()
    assert (run["county"], run["period"], run["status"], run["kind"]) == (
        COUNTY,
        "2026-H1",
        "running",
        "joint_screening",
    )
    assert run["schedule"]["month"] == 4  # Anhui ships the fangfan default (April, October)
    assert run["schedule"]["source"].startswith("fangfan default")
    again = await c.post("/api/v1/low-income/joint-screenings", json={"county": COUNTY}, headers=county)
    assert (again.status_code, again.json()["id"]) == (200, run["id"])
    # the schedule, due in April too, finds the run and starts nothing more
    done = await _run_until_finished(c)
    assert done.started == []
    assert done.finished == [FinishedRun(id=run["id"], county=COUNTY, period="2026-H1", status="completed")]
    [listed] = (await c.get("/api/v1/low-income/joint-screenings", headers=county)).json()["items"]
    result = listed["result"]
    assert listed["status"] == "completed"
    assert result["households"] == result["rows_done"] == N
    # both sides' counts are the statistics' counts of the same outcomes
    stats = (await c.get("/api/v1/statistics", params={"group_by": "low_income_category"}, headers=county)).json()
    low = Counter()
    for row in stats["rows"]:
        if row["low_income_category"]:
            low[row["low_income_category"]] += row["households"]
    assert result["low_income"] == dict(sorted(low.items()))
    assert sum(result["low_income"].values()) > 0
    cats = (await c.get("/api/v1/statistics", params={"group_by": "category"}, headers=county)).json()["rows"]
    rtp = Counter()
    for row in cats:
        if row["category"]:
            rtp[row["category"]] += row["households"]
    assert result["return_to_poverty"] == dict(sorted(rtp.items()))

    # a 人社 unemployment signal makes a household without an assessed category `other`
    expected = await _expected(c)
    plain = next(h for h, cat in expected["category"].items() if cat is None)
    dept = auth(settings, "department", COUNTY, dept="renshe")
    async with _ctx(c).sessions() as s:
        village = (await s.execute(sa.select(households.c.region_code).where(households.c.id == plain))).scalar_one()
    sig = {
        "source_dept": "renshe",
        "signal_id": "u-1",
        "kind": "unemployment",
        "household_id": plain,
        "region_code": village,
        "observed_at": "2026-04-02T08:00:00+08:00",
        "payload": {},
    }
    assert (await c.post("/api/v1/signals", json=[sig], headers=dept)).status_code == 200
    expected = await _expected(c)
    assert expected["category"][plain] == "other"

    # the summary per township: correct to the count, with persons and totals
    r = await c.get("/api/v1/low-income/summary", params={"level": "township"}, headers=county)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["level"] == "township"
    got = Counter()
    persons = Counter()
    for row in summary["rows"]:
        assert len(row["region"]) == 9
        for cat, v in row["categories"].items():
            if v["households"]:
                got[(row["region"], cat)] = v["households"]
            if v["persons"]:
                persons[(row["region"], cat)] = v["persons"]
        assert row["low_income_households"] == sum(v["households"] for v in row["categories"].values())
    assert got == expected["by"]
    assert persons == expected["persons"]
    assert summary["totals"]["low_income_households"] == sum(expected["by"].values())
    assert summary["totals"]["categories"]["other"]["households"] == sum(
        n for (_, cat), n in expected["by"].items() if cat == "other"
    )
    # the township officer: its own township only; a level above its region is refused
    township = next(iter(sorted({k[0] for k in expected["by"]})))
    mine = (await c.get("/api/v1/low-income/summary", headers=auth(settings, "township", township))).json()
    assert [row["region"] for row in mine["rows"]] == [township]
    bad = await c.get(
        "/api/v1/low-income/summary", params={"level": "county"}, headers=auth(settings, "township", township)
    )
    assert (bad.status_code, bad.json()["errors"][0]["path"]) == (422, "level")

    # the roster: every low-income household once, paged; a category and a colour filter
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 70} | ({"cursor": cursor} if cursor else {})
        page = (await c.get("/api/v1/low-income/roster", params=params, headers=county)).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len({i["id"] for i in seen}) == sum(expected["by"].values())
    assert all(i["roster_category"] == expected["category"][i["id"]] for i in seen)
    item = next(i for i in seen if i["id"] == plain)
    assert item["other_reasons"][0] == "registered_unemployed"
    assert item["head"]["id_number"].count("*") >= 8
    assert item["head"]["name"] is None
    dibao = (
        await c.get("/api/v1/low-income/roster", params={"category": "dibao", "limit": 1000}, headers=county)
    ).json()
    assert len(dibao["items"]) == sum(n for (_, cat), n in expected["by"].items() if cat == "dibao")
    red = (await c.get("/api/v1/low-income/roster", params={"warning": "red", "limit": 1000}, headers=county)).json()
    assert all(i["warning"] == "red" for i in red["items"])
    exported = await c.get("/api/v1/low-income/roster", params={"format": "csv"}, headers=county)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == len(seen)
    assert all("*" in row["head_id_number_masked"] for row in rows)
    # outside the caller's region: 404; a bad category: 422 at its field
    other_county = await c.get("/api/v1/low-income/roster", params={"region": "341222"}, headers=county)
    assert other_county.status_code == 404
    wrong = await c.get("/api/v1/low-income/roster", params={"category": "poor"}, headers=county)
    assert wrong.status_code == 422

    events = await collect_events(nats_server.url, "fangfan.low_income.>", count=2)
    assert [e["type"] for e in events] == [
        "cn.fangfan.low_income.joint_screening_started.v1",
        "cn.fangfan.low_income.joint_screening_completed.v1",
    ]
    assert events[1]["data"]["result"]["households"] == N


async def test_scheduled_joint_screening_follows_the_policy_months(
    app: tuple[httpx.AsyncClient, list[dt.datetime]], settings: Settings
) -> None:
    c, now = app
    await _import(c, settings, COUNTY, 30)
    r = await c.post(
        "/api/v1/admin/policies",
        json={
            "service": "identification",
            "region_prefix": COUNTY,
            "effective_from": "2026-01-01",
            "parameters": {"joint_screening_first_month": 5, "joint_screening_second_month": 11},
            "source": "临泉县 2026 集中排查工作方案 (test)",
        },
        headers=auth(settings, "admin", ""),
    )
    assert r.status_code == 201, r.text
    assert (await run_low_income_schedule(_ctx(c))).started == []  # 2 April: May is the month
    now[0] = dt.datetime(2026, 5, 1, 8, 0, tzinfo=CST)
    started = (await run_low_income_schedule(_ctx(c))).started
    assert [(s.county, s.period) for s in started] == [(COUNTY, "2026-H1")]
    now[0] = dt.datetime(2026, 6, 30, 8, 0, tzinfo=CST)
    assert (await run_low_income_schedule(_ctx(c))).started == []  # once per half-year
    now[0] = dt.datetime(2026, 11, 3, 8, 0, tzinfo=CST)
    started = (await run_low_income_schedule(_ctx(c))).started
    assert [(s.county, s.period) for s in started] == [(COUNTY, "2026-H2")]
    [h2, h1] = (await c.get("/api/v1/low-income/joint-screenings", headers=auth(settings, "county", COUNTY))).json()[
        "items"
    ]
    assert (h2["period"], h2["schedule"]["month"], h1["period"], h1["schedule"]["month"]) == (
        "2026-H2",
        11,
        "2026-H1",
        5,
    )
    assert h1["schedule"]["source"] == "临泉县 2026 集中排查工作方案 (test)"


async def test_monthly_comparison_tasks(
    app: tuple[httpx.AsyncClient, list[dt.datetime]], settings: Settings, nats_server: Any
) -> None:
    c, now = app
    await _import(c, settings, COUNTY, 30)
    now[0] = dt.datetime(2026, 5, 10, 9, 0, tzinfo=CST)
    r = await c.post(
        "/api/v1/admin/policies",
        json={
            "service": "identification",
            "region_prefix": COUNTY,
            "effective_from": "2026-01-01",
            "parameters": {"monthly_comparison_due_day": 25},
            "source": "临泉县 每月比对 (test)",
        },
        headers=auth(settings, "admin", ""),
    )
    assert r.status_code == 201, r.text
    first = await run_low_income_schedule(_ctx(c))
    assert first.comparisons_opened == 4
    assert (await run_low_income_schedule(_ctx(c))).comparisons_opened == 0  # once per month
    county = auth(settings, "county", COUNTY)
    listed = (await c.get("/api/v1/low-income/comparisons", params={"month": "2026-05"}, headers=county)).json()
    tasks = {t["department"]: t for t in listed["items"]}
    assert listed["counts"] == {"pending": 4}
    assert sorted(tasks) == [
        "disabled_persons_federation",
        "human_resources",
        "medical_insurance",
        "rural_revitalisation",
    ]
    assert {t["due_on"] for t in tasks.values()} == {"2026-05-25"}
    assert tasks["medical_insurance"]["due_rule"] == {"day": 25, "source": "临泉县 每月比对 (test)"}

    # 医保 sends three hospital stays for two households: the receipt links them
    async with _ctx(c).sessions() as s:
        two = (await s.execute(sa.select(households.c.id, households.c.region_code).limit(2))).all()
    dept = auth(settings, "department", COUNTY, dept="yibao")
    batch = [
        {
            "source_dept": "yibao",
            "signal_id": f"m-{i}",
            "kind": "hospital_stay",
            "household_id": two[i % 2].id,
            "region_code": two[i % 2].region_code,
            "observed_at": "2026-05-09T08:00:00+08:00",
            "payload": {"self_paid": "2000"},
        }
        for i in range(3)
    ]
    assert (await c.post("/api/v1/signals", json=batch, headers=dept)).status_code == 200
    med = tasks["medical_insurance"]["id"]
    early = await c.post(f"/api/v1/low-income/comparisons/{med}/complete", json={}, headers=county)
    assert (early.status_code, early.json()["code"]) == (409, "not_received")
    r = await c.post(
        f"/api/v1/low-income/comparisons/{med}/receive", json={"via": "signals", "source_dept": "yibao"}, headers=county
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["receipt"]["signals"]) == ("received", 3)
    given = await c.post(f"/api/v1/low-income/comparisons/{med}/complete", json={"matched": 3}, headers=county)
    assert (given.status_code, given.json()["errors"][0]["path"]) == (422, "matched")
    r = await c.post(f"/api/v1/low-income/comparisons/{med}/complete", json={"note": "已比对"}, headers=county)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "compared"
    assert {k: done["result"][k] for k in ("new_signals", "households_flagged", "matched", "leads", "late")} == {
        "new_signals": 3,
        "households_flagged": 2,
        "matched": 3,
        "leads": 0,
        "late": False,
    }
    assert [h["action"] for h in done["history"]] == ["receive", "complete"]

    # 人社 sends a comparison file: the officer reports its counts
    hr = tasks["human_resources"]["id"]
    sha = "ab" * 32
    r = await c.post(
        f"/api/v1/low-income/comparisons/{hr}/receive",
        json={"via": "file", "file_name": "renshe-2026-05.xlsx", "sha256": sha, "rows": 120},
        headers=county,
    )
    assert r.json()["receipt"] == {"via": "file", "file_name": "renshe-2026-05.xlsx", "sha256": sha, "rows": 120}
    twice = await c.post(
        f"/api/v1/low-income/comparisons/{hr}/receive",
        json={"via": "file", "file_name": "x", "sha256": sha, "rows": 1},
        headers=county,
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "already_received")
    missing = await c.post(f"/api/v1/low-income/comparisons/{hr}/complete", json={"matched": 7}, headers=county)
    assert [e["path"] for e in missing.json()["errors"]] == ["households_flagged"]
    r = await c.post(
        f"/api/v1/low-income/comparisons/{hr}/complete", json={"matched": 7, "households_flagged": 5}, headers=county
    )
    assert r.json()["result"] == {"matched": 7, "households_flagged": 5, "new_signals": 0, "late": False}
    # someone else's county: 404; a township officer reads but may not record
    stranger = auth(settings, "county", "341222")
    assert (await c.post(f"/api/v1/low-income/comparisons/{hr}/complete", json={}, headers=stranger)).status_code == 404
    assert (
        await c.get("/api/v1/low-income/comparisons", params={"region": COUNTY}, headers=stranger)
    ).status_code == 404
    extra = await c.post(
        f"/api/v1/low-income/comparisons/{med}/receive",
        json={"via": "signals", "source_dept": "y", "state": "compared"},
        headers=county,
    )
    assert extra.status_code == 422

    # the day after the due day: the two not compared are overdue; June's tasks open on 1 June
    now[0] = dt.datetime(2026, 5, 26, 0, 30, tzinfo=CST)
    assert (await run_low_income_schedule(_ctx(c))).comparisons_overdue == 2
    assert (await run_low_income_schedule(_ctx(c))).comparisons_overdue == 0
    may = (await c.get("/api/v1/low-income/comparisons", params={"month": "2026-05"}, headers=county)).json()
    assert may["counts"] == {"compared": 2, "overdue": 2}
    dis = next(t for t in may["items"] if t["department"] == "disabled_persons_federation")
    r = await c.post(
        f"/api/v1/low-income/comparisons/{dis['id']}/receive",
        json={"via": "file", "file_name": "canlian.csv", "sha256": sha, "rows": 3},
        headers=county,
    )
    assert r.json()["state"] == "overdue"  # a late receipt: still overdue until compared
    r = await c.post(
        f"/api/v1/low-income/comparisons/{dis['id']}/complete",
        json={"matched": 3, "households_flagged": 1},
        headers=county,
    )
    assert (r.json()["state"], r.json()["result"]["late"]) == ("compared", True)
    now[0] = dt.datetime(2026, 6, 1, 8, 0, tzinfo=CST)
    assert (await run_low_income_schedule(_ctx(c))).comparisons_opened == 4
    township = auth(settings, "township", "341221001")
    june = (await c.get("/api/v1/low-income/comparisons", params={"month": "2026-06"}, headers=township)).json()
    assert june["counts"] == {"pending": 4}

    events = await collect_events(nats_server.url, "fangfan.low_income.comparison_overdue.>", count=3, timeout=5)
    assert len(events) == 2
    assert {e["data"]["department"] for e in events} == {"disabled_persons_federation", "rural_revitalisation"}
    assert all(e["region"] == COUNTY and e["data"]["due_on"] == "2026-05-25" for e in events)
    compared = await collect_events(nats_server.url, "fangfan.low_income.comparison_compared.>", count=3)
    assert [e["data"]["department"] for e in compared] == [
        "medical_insurance",
        "human_resources",
        "disabled_persons_federation",
    ]
