"""`GET /statistics?group_by=low_income_category` and `GET /statistics/summary` (the dashboard's
five tables from one scan) over real data written through the API: the summary's tables are row
for row what `/statistics` answers for each `group_by`, at every region level."""

from __future__ import annotations

import csv
import io

from tests.identification.integration.test_cases_support import (
    COUNTY,
    OTHER_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    Service,
    application,
    household,
    id_number,
    service,
)

__all__ = ["service"]

_GROUPS = ("region", "category", "low_income_category", "state", "warning")


async def _data(service: Service) -> None:
    v = service.headers("village", VILLAGE)
    first = (await service.apply(application(VILLAGE), v)).json()
    await service.apply(application(VILLAGE, household=household(income={"wage": "1000"})), v)
    await service.apply(
        application(OTHER_VILLAGE, household=household(income={"wage": "30000"})),
        service.headers("village", OTHER_VILLAGE),
    )
    await service.to_monitored(first["case_id"])


async def test_low_income_category_counts_and_exports(service: Service) -> None:
    await _data(service)
    county = service.headers("county", COUNTY)
    r = await service.client.get("/api/v1/statistics", params={"group_by": "low_income_category"}, headers=county)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["group_by"] == "low_income_category"
    rows = body["rows"]
    assert all(set(row) == {"low_income_category", "status", "households"} for row in rows)
    assert sum(row["households"] for row in rows) == 3
    codes = {None, "dibao", "tekun", "dibao_edge", "expenditure_hardship"}
    assert {row["low_income_category"] for row in rows} <= codes
    # the 1,000-yuan household of two is under Anhui's dibao line: counted as dibao
    assert any(row["low_income_category"] == "dibao" for row in rows), rows
    monitored = [row for row in rows if row["status"] == "monitored"]
    assert sum(row["households"] for row in monitored) == 1
    r = await service.client.get(
        "/api/v1/statistics", params={"group_by": "low_income_category", "format": "csv"}, headers=county
    )
    assert r.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(r.text)))
    assert sum(int(row["households"]) for row in parsed) == 3
    r = await service.client.get(
        "/api/v1/statistics", params={"group_by": "low_income_category", "format": "xlsx"}, headers=county
    )
    assert r.status_code == 200
    assert r.content[:2] == b"PK"


async def test_summary_equals_statistics_per_group_at_every_level(service: Service) -> None:
    await _data(service)
    for role, region in (("county", COUNTY), ("township", TOWNSHIP), ("village", VILLAGE)):
        h = service.headers(role, region)
        r = await service.client.get("/api/v1/statistics/summary", headers=h)
        assert r.status_code == 200, r.text
        summary = r.json()
        assert summary["region"] == region
        assert list(summary["groups"]) == list(_GROUPS)
        for group in _GROUPS:
            alone = await service.client.get("/api/v1/statistics", params={"group_by": group}, headers=h)
            assert summary["groups"][group] == alone.json()["rows"], (region, group)
        assert sum(row["households"] for row in summary["groups"]["region"]) == (3 if role != "village" else 2)
    # a county officer asking for a township: the township's villages
    county = service.headers("county", COUNTY)
    r = await service.client.get("/api/v1/statistics/summary", params={"region": TOWNSHIP}, headers=county)
    assert [row["region"] for row in r.json()["groups"]["region"]] == [VILLAGE, OTHER_VILLAGE]
    # outside the caller's region: empty tables, not an error that leaks
    r = await service.client.get(
        "/api/v1/statistics/summary", params={"region": "341222"}, headers=service.headers("village", VILLAGE)
    )
    assert r.status_code == 200
    assert r.json()["groups"] == {g: [] for g in _GROUPS}
    r = await service.client.get("/api/v1/statistics/summary", params={"region": "34x"}, headers=county)
    assert r.status_code == 422
    citizen = service.citizen(id_number())
    assert (await service.client.get("/api/v1/statistics/summary", headers=citizen)).status_code == 403
