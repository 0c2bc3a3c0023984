"""Statistics, the scale-risk report and the printable public notice, over real data written
through the API: counts by region level, state and category, CSV, masked ID numbers only."""

from __future__ import annotations

import csv
import io

from tests.helpers import collect_events
from tests.identification.integration.test_cases_support import (
    COUNTY,
    OTHER_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    Service,
    application,
    id_number,
    service,
)

__all__ = ["service"]


async def test_counts_by_region_state_category_and_csv(service: Service) -> None:
    v = service.headers("village", VILLAGE)
    first = (await service.apply(application(VILLAGE), v)).json()
    await service.apply(application(OTHER_VILLAGE), service.headers("village", OTHER_VILLAGE))
    await service.to_monitored(first["case_id"])
    county = service.headers("county", COUNTY)
    r = await service.client.get("/api/v1/statistics", params={"region": COUNTY, "group_by": "region"}, headers=county)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [
        {
            "region": TOWNSHIP,
            "level": "township",
            "households": 2,
            "monitored": 1,
            "eliminated": 0,
            "cleared": 0,
            "open_cases": 1,
        }
    ]
    r = await service.client.get(
        "/api/v1/statistics", params={"region": TOWNSHIP, "group_by": "region"}, headers=county
    )
    assert [row["region"] for row in r.json()["rows"]] == [VILLAGE, OTHER_VILLAGE]
    r = await service.client.get("/api/v1/statistics", params={"group_by": "state"}, headers=county)
    rows = {(x["procedure"], x["state"]): x["cases"] for x in r.json()["rows"]}
    assert rows == {("identification", "monitored"): 1, ("identification", "submitted"): 1}
    r = await service.client.get("/api/v1/statistics", params={"group_by": "category"}, headers=county)
    assert {"category": "marginal", "status": "monitored", "households": 1} in r.json()["rows"]
    r = await service.client.get("/api/v1/statistics", params={"group_by": "state", "format": "csv"}, headers=county)
    assert r.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["state"] for row in parsed} == {"monitored", "submitted"}
    # outside the caller's region: nothing, not an error that leaks
    r = await service.client.get(
        "/api/v1/statistics", params={"region": "341222"}, headers=service.headers("village", VILLAGE)
    )
    assert r.json()["rows"] == []
    assert (
        await service.client.get("/api/v1/statistics", params={"group_by": "colour"}, headers=county)
    ).status_code == 422
    assert (await service.client.get("/api/v1/statistics", headers=service.citizen(id_number()))).status_code == 403


async def test_scale_risk_flags_the_village_and_emits_once(service: Service) -> None:
    first = (await service.apply(application(VILLAGE), service.headers("village", VILLAGE))).json()
    await service.to_monitored(first["case_id"])
    county = service.headers("county", COUNTY)
    r = await service.client.get("/api/v1/statistics/scale-risk", params={"region": COUNTY}, headers=county)
    [village] = r.json()["villages"]
    assert village["village"] == VILLAGE
    assert village["flagged"] is True
    assert village["village_population"] == 2
    assert village["non_eliminated_monitored"] == 1
    assert village["threshold"] == "0.02"
    r = await service.client.get(
        "/api/v1/statistics/scale-risk", params={"region": COUNTY, "format": "csv"}, headers=county
    )
    assert VILLAGE in r.text
    [flag] = await collect_events(service.nats_url, "fangfan.risk.scale_flagged.>", count=1)
    assert flag["subject"] == VILLAGE
    assert flag["data"]["non_eliminated_monitored"] == 1


async def test_public_notice_lists_masked_id_numbers(service: Service) -> None:
    head, spouse = id_number(), id_number("19850505")
    v = service.headers("village", VILLAGE)
    r = await service.apply(application(VILLAGE, ids=[head, spouse]), v)
    case_id = r.json()["case_id"]
    for body in (
        {"action": "advance"},
        {"action": "advance", "investigators": ["甲", "乙"]},
        {"action": "advance", "note": "评议通过"},
    ):
        assert (await service.act(case_id, v, **body)).status_code == 200
    r = await service.client.get("/api/v1/notices/public", params={"village": VILLAGE}, headers=v)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert head[:6] + "********" + head[14:] in r.text
    assert head not in r.text
    assert spouse not in r.text
    assert "2024-03-04 至 2024-03-10" in r.text
    other = await service.client.get(
        "/api/v1/notices/public", params={"village": VILLAGE}, headers=service.headers("village", OTHER_VILLAGE)
    )
    assert other.status_code == 404
    empty = await service.client.get(
        "/api/v1/notices/public", params={"village": OTHER_VILLAGE}, headers=service.headers("village", OTHER_VILLAGE)
    )
    assert "没有公示中的对象" in empty.text


async def test_counts_by_risk_type_and_month_and_xlsx(service: Service) -> None:
    from openpyxl import load_workbook

    v = service.headers("village", VILLAGE)
    first = (await service.apply(application(VILLAGE), v)).json()
    await service.apply(
        application(OTHER_VILLAGE, risk_types=["illness", "disability"]), service.headers("village", OTHER_VILLAGE)
    )
    await service.to_monitored(first["case_id"])
    county = service.headers("county", COUNTY)
    r = await service.client.get("/api/v1/statistics", params={"group_by": "risk_type"}, headers=county)
    rows = {(x["risk_type"], x["status"]): x["households"] for x in r.json()["rows"]}
    assert rows[("illness", "monitored")] == 1
    assert rows[("illness", "open")] == 1
    assert rows[("disability", "open")] == 1
    r = await service.client.get("/api/v1/statistics", params={"group_by": "month"}, headers=county)
    [month] = r.json()["rows"]
    assert month["category"] == "marginal"
    assert month["households"] == 1
    assert len(month["month"]) == 7  # YYYY-MM
    r = await service.client.get(
        "/api/v1/statistics", params={"group_by": "risk_type", "format": "xlsx"}, headers=county
    )
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0] == ("risk_type", "status", "households")
    assert ("illness", "monitored", 1) in table


async def test_income_drop_summary_by_cause_with_shares(service: Service) -> None:
    v = service.headers("village", VILLAGE)
    # wage fell from 9,000 to 6,000: a drop of wage income (lost or shorter wage work)
    dropped = application(VILLAGE)
    dropped["household"]["last_year_income"] = {"wage": "9000"}
    await service.apply(dropped, v)
    steady = application(OTHER_VILLAGE)
    steady["household"]["last_year_income"] = {"wage": "5000"}
    await service.apply(steady, service.headers("village", OTHER_VILLAGE))
    no_history = application(VILLAGE, ids=[id_number("19700101"), id_number("19720202")])
    await service.apply(no_history, v)
    county = service.headers("county", COUNTY)
    r = await service.client.get("/api/v1/statistics/income-drop", params={"region": COUNTY}, headers=county)
    body = r.json()
    assert r.status_code == 200, body
    assert body["households_compared"] == 2  # the household without last year's income is not compared
    assert body["with_drop"] == 1
    assert body["share_with_drop"] == "0.5000"
    assert body["causes"] == [{"cause": "wage_work_lost", "households": 1, "share_of_drops": "1.0000"}]
    assert "篇一" in body["source"]
    r = await service.client.get(
        "/api/v1/statistics/income-drop", params={"region": COUNTY, "format": "csv"}, headers=county
    )
    assert next(iter(csv.DictReader(io.StringIO(r.text))))["cause"] == "wage_work_lost"


async def test_public_notice_as_a_spreadsheet(service: Service) -> None:
    from openpyxl import load_workbook

    head = id_number()
    v = service.headers("village", VILLAGE)
    case_id = (await service.apply(application(VILLAGE, ids=[head, id_number("19850505")]), v)).json()["case_id"]
    for body in (
        {"action": "advance"},
        {"action": "advance", "investigators": ["甲", "乙"]},
        {"action": "advance", "note": "评议通过"},
    ):
        assert (await service.act(case_id, v, **body)).status_code == 200
    r = await service.client.get("/api/v1/notices/public", params={"village": VILLAGE, "format": "xlsx"}, headers=v)
    assert r.status_code == 200
    table = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert table[0][:3] == ("公示事项", "序号", "身份证号(脱敏)")
    assert head[:6] + "********" + head[14:] in table[1][2]
    assert all(head not in str(cell) for row in table for cell in row)
