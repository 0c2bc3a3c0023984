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
