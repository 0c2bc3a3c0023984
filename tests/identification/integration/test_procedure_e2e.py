"""End to end over real NATS: a citizen's self-application walks the whole identification
procedure to `monitored` — the notice period enforced on a controlled clock — and the events
(`application.submitted`, `case.status_changed`, `household.identified`) arrive on the stream
without any ID number or name."""

from __future__ import annotations

import json

from tests.helpers import collect_events
from tests.identification.integration.test_cases_support import (
    COUNTY,
    TOWNSHIP,
    VILLAGE,
    Service,
    application,
    id_number,
    service,
)

__all__ = ["service"]


async def test_self_application_to_monitored_with_events_on_nats(service: Service) -> None:
    head, spouse = id_number(), id_number("19850505")
    r = await service.apply(application(ids=[head, spouse]), service.citizen(head))
    assert r.status_code == 201, r.text
    app = r.json()
    case_id, household_id = app["case_id"], app["household_id"]
    v = service.headers("village", VILLAGE)
    t = service.headers("township", TOWNSHIP)
    c = service.headers("county", COUNTY)

    assert (await service.act(case_id, v, action="advance", note="受理")).status_code == 200
    r = await service.act(case_id, v, action="advance", investigators=["乡干部王五", "村干部赵六"])
    assert r.status_code == 200
    assert r.json()["state"] == "village_review"
    r = await service.act(case_id, v, action="advance", note="村民代表评议通过")
    assert r.json()["state"] == "public_notice"
    service.advance_days(6)  # day 7 of a 7-day notice: still running
    r = await service.act(case_id, v, action="advance")
    assert r.status_code == 409
    assert r.json()["code"] == "notice_period_running"
    service.advance_days(1)
    r = await service.act(case_id, v, action="advance")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "township_review"
    r = await service.act(case_id, t, action="advance", note="乡镇审核同意")
    assert r.json()["state"] == "county_review"
    r = await service.act(case_id, c, action="advance", note="县级比对审定")
    assert r.status_code == 200
    assert r.json()["state"] == "monitored"

    status = await service.client.get(f"/api/v1/applications/{app['id']}", headers=service.citizen(head))
    assert status.json()["status"] == "monitored"
    assert [h["to"] for h in status.json()["history"]] == [
        "submitted",
        "verification",
        "village_review",
        "public_notice",
        "township_review",
        "county_review",
        "monitored",
    ]

    [identified] = await collect_events(service.nats_url, "fangfan.household.identified.>", count=1)
    assert identified["type"] == "cn.fangfan.household.identified.v1"
    assert identified["subject"] == household_id
    assert identified["region"] == VILLAGE
    data = identified["data"]
    assert data["case_id"] == case_id
    assert data["category"] == "marginal"
    assert "illness" in data["risk_types"]
    assert data["has_labor_capacity"] is True
    assert data["monitored_since"] == "2024-03-11"
    assert data["within_time_limit"] is True
    submitted = await collect_events(service.nats_url, "fangfan.application.submitted.34.3412.341221.>", count=1)
    assert submitted[0]["data"]["application_id"] == app["id"]
    changes = await collect_events(service.nats_url, "fangfan.case.status_changed.>", count=7)
    assert [(e["data"]["from"], e["data"]["to"]) for e in changes][-1] == ("county_review", "monitored")
    assert len(changes) == 7
    everything = json.dumps([identified, *submitted, *changes], ensure_ascii=False)
    assert head not in everything
    assert spouse not in everything
    assert "张三" not in everything
