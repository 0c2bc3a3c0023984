"""The overdue sweep (each alert published once) and the statistics (JSON and CSV)."""

from __future__ import annotations

import csv
import io

from services.assistance.adapters.background import run_sweep
from services.assistance.application.views import SweepResult
from tests.assistance.integration.conftest import COUNTY, VILLAGE, Service
from tests.helpers import collect_events


async def test_sweep_publishes_each_overdue_once(service: Service) -> None:
    await service.add_contact()
    late = await service.identified_plan()
    drawn = await service.identified_plan()
    r = await service.act(drawn["measures"][0]["id"], action="accept")
    assert r.status_code == 200
    assert await run_sweep(service.ctx) == SweepResult(plan_overdue=0, measure_stalled=0, visit_overdue=0)

    service.advance_days(11)  # 2024-03-15: the plan due on 03-14 was not drawn up
    assert await run_sweep(service.ctx) == SweepResult(plan_overdue=1, measure_stalled=0, visit_overdue=0)
    assert await run_sweep(service.ctx) == SweepResult(plan_overdue=0, measure_stalled=0, visit_overdue=0)
    r = await service.client.get("/api/v1/plans", params={"overdue": "true"}, headers=service.headers())
    assert [p["id"] for p in r.json()["items"]] == [late["id"]]

    service.advance_days(25)  # 2024-04-09: 36 days without progress, April 4 visits missed
    counts = await run_sweep(service.ctx)
    assert counts == SweepResult(plan_overdue=0, measure_stalled=2, visit_overdue=2)
    assert await run_sweep(service.ctx) == SweepResult(plan_overdue=0, measure_stalled=0, visit_overdue=0)
    r = await service.client.get("/api/v1/measures", params={"stalled": "true"}, headers=service.headers())
    assert len(r.json()["items"]) == 2

    [overdue] = await collect_events(service.nats_url, "fangfan.assistance.plan_overdue.>", count=1)
    assert overdue["data"]["plan_id"] == late["id"]
    assert overdue["data"]["days_overdue"] == 1
    stalled = await collect_events(service.nats_url, "fangfan.assistance.measure_stalled.>", count=3, timeout=3)
    assert len(stalled) == 2
    visits = await collect_events(service.nats_url, "fangfan.assistance.visit_overdue.>", count=3, timeout=3)
    assert {v["data"]["due_date"] for v in visits} == {"2024-04-04"}
    assert len(visits) == 2


async def test_statistics_json_and_csv(service: Service) -> None:
    contact = await service.add_contact()
    first = await service.identified_plan(risk_types=["illness", "housing"])
    await service.identified_plan()
    assert (await service.act(first["measures"][0]["id"], action="accept")).status_code == 200
    r = await service.client.post(
        "/api/v1/visits",
        json={"household_id": first["household_id"], "visited_on": "2024-03-04", "findings": "首次走访"},
        headers=service.headers(),
    )
    assert r.status_code == 201
    service.advance_days(20)
    h = service.headers("county", COUNTY)
    r = await service.client.get("/api/v1/plans/statistics", params={"region": COUNTY}, headers=h)
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["households_without_plan"] == {"total": 1, "by_village": [{"region_code": VILLAGE, "count": 1}]}
    assert s["plans_overdue"] == [{"region_code": VILLAGE, "count": 1}]
    by = {(m["type"], m["status"]): m["count"] for m in s["measures"]}
    assert by[("employment", "accepted")] == 1
    assert by[("medical", "proposed")] == 2
    assert s["visits_by_village"] == [{"region_code": VILLAGE, "due": 2, "done": 1, "overdue": 0}]
    assert s["visits_by_contact"] == [{"contact_id": contact, "due": 2, "done": 1, "overdue": 0}]
    r = await service.client.get("/api/v1/plans/statistics", params={"region": COUNTY, "format": "csv"}, headers=h)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {"section": "households_without_plan", "key": VILLAGE, "count": "1"}.items() <= rows[0].items()
    r = await service.client.get("/api/v1/plans/statistics", params={"region": "341222"}, headers=h)
    assert r.status_code == 404
