"""The loops on identification's side, over a real database and NATS, with assistance's events
published to JetStream exactly as its relay does (encode_event + Nats-Msg-Id):
- the stored `measures_since` (from `plan_drawn_up`) wins over the hand-typed one for Liaoning's
  half-year rule, and lists `propose_elimination` in `allowed_actions`;
- events that can never be handled are dead-lettered;
- the county's manual red mark: who may, 404 outside the region, history, events."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from typing import Any

import nats
import sqlalchemy as sa

from shared.events import Event, encode_event
from tests.helpers import collect_events
from tests.identification.integration.test_cases_support import (
    COUNTY,
    VILLAGE,
    Service,
    application,
    id_number,
    service,
)

__all__ = ["service"]

LIAONING = "210281001201"
CST = dt.timezone(dt.timedelta(hours=8))


def assistance(name: str, hid: str, region: str, **data: Any) -> Event:
    return Event(
        "assistance", name, hid, region, {"household_id": hid, "region_code": region, **data}, source="assistance"
    )


async def publish(svc: Service, *events: Event) -> None:
    nc = await nats.connect(svc.nats_url)
    try:
        js = nc.jetstream()
        for ev in events:
            subject, payload = encode_event(ev)
            await js.publish(subject, payload, headers={"Nats-Msg-Id": uuid.uuid4().hex})
    finally:
        await nc.close()


async def scalar(svc: Service, sql: str, **params: Any) -> Any:
    ctx = svc.client.app.state.ctx  # type: ignore[attr-defined]
    async with ctx.sessions() as s:
        return (await s.execute(sa.text(sql), params)).scalar()


async def until(svc: Service, sql: str, expected: Any, **params: Any) -> None:
    deadline = time.monotonic() + 15
    while (got := await scalar(svc, sql, **params)) != expected:
        assert time.monotonic() < deadline, f"{sql}: {got!r}, expected {expected!r}"
        await asyncio.sleep(0.1)


async def household(svc: Service, hid: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await svc.client.get(f"/api/v1/households/{hid}", headers=headers or svc.headers("county", COUNTY))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_stored_measures_since_wins_for_the_half_year_rule(service: Service) -> None:
    service.set_time(dt.datetime(2024, 1, 10, 10, tzinfo=CST))
    ids = [id_number(county="210281"), id_number("19820202", county="210281")]
    r = await service.apply(application(LIAONING, ids), service.headers("village", LIAONING))
    assert r.status_code == 201, r.text
    hid, case_id = r.json()["household_id"], r.json()["case_id"]
    await service.to_monitored(case_id, LIAONING)
    # the visit's income lifts the household above any floor; measures drawn up on 2024-01-20
    await publish(
        service,
        assistance("income_updated", hid, LIAONING, visit_id="v-1", visited_on="2024-01-20", income={"wage": "60000"}),
        assistance("plan_drawn_up", hid, LIAONING, plan_id="p-1", drawn_up_on="2024-01-20", due_date="2024-01-30"),
    )
    await until(
        service, "SELECT CAST(measures_since AS TEXT) FROM household_loops WHERE household_id = :h", "2024-01-20", h=hid
    )
    v = service.headers("village", LIAONING)
    service.set_time(dt.datetime(2024, 7, 25, 10, tzinfo=CST))  # 3 months monitored, 6 of measures
    body = (await service.case(case_id, v)).json()
    assert "propose_elimination" in body["allowed_actions"]
    # a hand-typed date that would fail the rule: the stored one is used
    r = await service.act(case_id, v, action="propose_elimination", note="收入稳定", measures_since="2024-06-01")
    assert r.status_code == 200, r.text
    assert (await household(service, hid, service.headers("county", "210281")))["measures"]["since"] == "2024-01-20"


async def test_half_year_rule_counts_from_the_stored_date(service: Service) -> None:
    service.set_time(dt.datetime(2024, 1, 10, 10, tzinfo=CST))
    ids = [id_number(county="210281"), id_number("19820202", county="210281")]
    r = await service.apply(application(LIAONING, ids), service.headers("village", LIAONING))
    hid, case_id = r.json()["household_id"], r.json()["case_id"]
    await service.to_monitored(case_id, LIAONING)
    await publish(
        service,
        assistance("income_updated", hid, LIAONING, visit_id="v-1", visited_on="2024-01-20", income={"wage": "60000"}),
        assistance(
            "measure_status_changed", hid, LIAONING, measure_id="m-1", plan_id="p-1", to="accepted", on="2024-05-01"
        ),
    )
    await until(
        service, "SELECT CAST(measures_since AS TEXT) FROM household_loops WHERE household_id = :h", "2024-05-01", h=hid
    )
    service.set_time(dt.datetime(2024, 7, 25, 10, tzinfo=CST))
    v = service.headers("village", LIAONING)
    # an earlier hand-typed date does not override what assistance told
    r = await service.act(case_id, v, action="propose_elimination", note="x", measures_since="2023-12-01")
    assert r.status_code == 409
    assert r.json()["code"] == "half_year_rule"
    assert "2024-05-01" in r.json()["detail"]


async def test_events_that_cannot_be_handled_are_dead_lettered(service: Service) -> None:
    r = await service.apply(application(VILLAGE), service.headers("village", VILLAGE))
    hid = r.json()["household_id"]
    bad = [
        assistance("income_updated", hid, "3412", visited_on="2024-03-01", income={"wage": "100"}),  # not a village
        assistance("income_updated", hid, VILLAGE, visited_on="2024-03-01", income={"wage": "lots"}),  # no amount
        assistance("plan_drawn_up", hid, VILLAGE, plan_id="p-1"),  # no drawn_up_on
        assistance("measure_status_changed", hid, VILLAGE, plan_id="p-1"),  # no measure id
    ]
    bad[0].data["region_code"] = "3412"
    good = assistance("income_updated", hid, VILLAGE, visit_id="v-9", visited_on="2024-03-04", income={"wage": "6100"})
    await publish(service, *bad, good)
    await until(service, "SELECT count(*) FROM dead_letters", 4)
    await until(service, "SELECT income_visit_id FROM household_loops WHERE household_id = :h", "v-9", h=hid)
    body = await household(service, hid)
    assert body["reassessment"]["income"] == {"wage": "6100.00"}
    # a visit of an earlier day arriving late does not overwrite the later one
    await publish(
        service,
        assistance("income_updated", hid, VILLAGE, visit_id="v-8", visited_on="2024-03-01", income={"wage": "1"}),
    )
    await until(service, "SELECT count(*) FROM inbox WHERE consumer = 'identification-income-updated'", 2)
    assert (await household(service, hid))["reassessment"]["visit_id"] == "v-9"


async def test_red_mark_by_county_officers(service: Service) -> None:
    r = await service.apply(application(VILLAGE), service.headers("village", VILLAGE))
    hid = r.json()["household_id"]
    county = service.headers("county", COUNTY)
    url = f"/api/v1/households/{hid}/red-mark"

    r = await service.client.post(url, json={"reason": "大病返贫风险高"}, headers=service.headers("village", VILLAGE))
    assert r.status_code == 403
    assert r.json()["code"] == "role_not_allowed"
    r = await service.client.post(url, json={"reason": "x"}, headers=service.headers("county", "341222"))
    assert r.status_code == 404
    r = await service.client.post(url, json={"reason": "  "}, headers=county)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "reason"
    r = await service.client.post(url, json={"reason": "x", "colour": "red"}, headers=county)
    assert r.status_code == 422

    r = await service.client.post(url, json={"reason": "大病返贫风险高"}, headers=county)
    assert r.status_code == 200, r.text
    assert r.json()["changed"] is True
    assert r.json()["red_mark"]["reason"] == "大病返贫风险高"
    again = await service.client.post(url, json={"reason": "再次"}, headers=county)
    assert again.json()["changed"] is False
    # the mark is the household's warning wherever it is shown: the registry list and its filter, the risk page
    listed = await service.client.get(
        "/api/v1/households", params={"region": VILLAGE, "warning": "red"}, headers=county
    )
    assert [(i["id"], i["warning"]) for i in listed.json()["items"]] == [(hid, "red")]
    risk = (await service.client.get(f"/api/v1/households/{hid}/risk", headers=county)).json()
    assert (risk["warning"], risk["red_mark"]["reason"]) == ("red", "大病返贫风险高")
    warnings = (
        await service.client.get(
            "/api/v1/statistics", params={"region": VILLAGE, "group_by": "warning"}, headers=county
        )
    ).json()
    assert {r["warning"]: r["households"] for r in warnings["rows"]} == {"red": 1}
    r = await service.client.request("DELETE", url, json={"reason": "风险已消除"}, headers=county)
    assert r.status_code == 200, r.text
    body = await household(service, hid)
    assert body["red_mark"] is None
    listed = await service.client.get(
        "/api/v1/households", params={"region": VILLAGE, "warning": "red"}, headers=county
    )
    assert listed.json()["items"] == []
    risk = (await service.client.get(f"/api/v1/households/{hid}/risk", headers=county)).json()
    assert risk["red_mark"] is None
    assert risk["warning"] == body["warning"]  # the computed colour again
    assert [(m["action"], m["reason"], m["role"]) for m in body["mark_history"]] == [
        ("red_mark", "大病返贫风险高", "county"),
        ("red_unmark", "风险已消除", "county"),
    ]
    raised = [
        e
        for e in await collect_events(service.nats_url, "fangfan.risk.warning_raised.>", count=10, timeout=3)
        if e["data"]["household_id"] == hid
    ]
    assert [(e["data"]["warning"], e["data"]["manual"]) for e in raised] == [("red", True)]
    assert "大病" not in json.dumps(raised[0], ensure_ascii=False)  # the reason stays out of events
    cleared = await collect_events(service.nats_url, "fangfan.risk.warning_cleared.>", count=10, timeout=3)
    assert [(e["data"]["previous_warning"], e["data"]["manual"]) for e in cleared] == [("red", True)]
    audit = (await service.client.get("/api/v1/audit", params={"subject": hid}, headers=county)).json()
    marks = [(e["kind"], e["detail"]["reason"], e["role"]) for e in audit["entries"] if e["kind"].startswith("red_")]
    assert marks == [("red_mark", "大病返贫风险高", "county"), ("red_unmark", "风险已消除", "county")]
    assert audit["chain"]["verified"] is True
