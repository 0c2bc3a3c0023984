"""Resolving leads over HTTP against a real database and NATS: a lead matched to a household
acts like a matched signal (warning, a case where the signal table says so), a dismissed one
keeps its reason; scope is 404, a second resolution 409; the department is told by
`signal.lead_resolved` (no ID numbers), and the resolution is in the audit chain."""

from __future__ import annotations

import json
from typing import Any

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


def _signal(signal_id: str, kind: str, stranger: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source_dept": "canlian",
        "signal_id": signal_id,
        "kind": kind,
        "id_number": stranger,
        "region_code": VILLAGE,
        "observed_at": "2024-03-01T08:00:00+08:00",
        "payload": {},
    }
    body.update(extra)
    return body


async def _registered_household(service: Service, region: str = VILLAGE) -> str:
    r = await service.apply(application(region), service.headers("village", region))
    assert r.status_code == 201, r.text
    rejected = await service.act(r.json()["case_id"], service.headers("village", region), action="reject", reason="x")
    assert rejected.status_code == 200
    return str(r.json()["household_id"])


async def _lead(service: Service, stranger: str, *signals: dict[str, Any]) -> str:
    dept = service.headers("department", COUNTY, dept="canlian")
    r = await service.client.post("/api/v1/signals", json=list(signals), headers=dept)
    assert r.status_code == 200, r.text
    lead_ids = {o["lead_id"] for o in r.json()["outcomes"]}
    assert len(lead_ids) == 1
    return str(lead_ids.pop())


async def _resolve(service: Service, lead_id: str, headers: dict[str, str], **body: Any) -> Any:
    return await service.client.post(f"/api/v1/signals/leads/{lead_id}/resolve", json=body, headers=headers)


async def test_a_matched_lead_raises_the_warning_and_opens_the_case(service: Service) -> None:
    household_id = await _registered_household(service)
    stranger = id_number("19700101")
    lead_id = await _lead(
        service,
        stranger,
        _signal("c-1", "disability_certificate", stranger),
        _signal("c-2", "income_drop", stranger),
    )
    village = service.headers("village", VILLAGE)
    r = await _resolve(service, lead_id, village, action="match", household_id=household_id)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "matched"
    assert body["household_id"] == household_id
    assert body["warning"] == "red"
    case_id = body["case_id"]
    assert case_id
    [ev] = await collect_events(service.nats_url, f"fangfan.signal.lead_resolved.34.3412.{COUNTY}.>", count=1)
    assert ev["subject"] == lead_id
    data = ev["data"]
    assert data["lead_id"] == lead_id
    assert data["signal_ids"] == ["c-1", "c-2"]
    assert data["source_dept"] == "canlian"
    assert data["outcome"] == "matched"
    assert data["household_id"] == household_id
    assert data["case_id"] == case_id
    [warning] = await collect_events(service.nats_url, "fangfan.risk.warning_raised.>", count=1)
    assert warning["data"]["household_id"] == household_id
    assert warning["data"]["signal_kinds"] == ["disability_certificate", "income_drop"]
    assert warning["data"]["case_id"] == case_id
    assert stranger not in json.dumps([ev, warning], ensure_ascii=False)

    case = (await service.case(case_id, service.headers("county", COUNTY))).json()
    assert case["state"] == "submitted"
    assert case["risk_types"] == ["disability"]
    assert case["history"][0]["by"] == "department:canlian"
    assert (await _resolve(service, lead_id, village, action="dismiss", reason="again")).json()[
        "code"
    ] == "lead_already_resolved"
    open_leads = (await service.client.get("/api/v1/signals/leads", headers=village)).json()["items"]
    assert lead_id not in [x["id"] for x in open_leads]
    matched = await service.client.get("/api/v1/signals/leads", params={"status": "matched"}, headers=village)
    [listed] = matched.json()["items"]
    assert (listed["id"], listed["household_id"], listed["resolved_by_role"]) == (lead_id, household_id, "village")

    audit = await service.client.get(
        "/api/v1/audit", params={"subject": lead_id}, headers=service.headers("county", COUNTY)
    )
    [entry] = audit.json()["entries"]
    assert entry["kind"] == "lead_resolved"
    assert entry["detail"]["outcome"] == "matched"
    assert stranger not in audit.text


async def test_a_dismissed_lead_keeps_its_reason_and_changes_nothing(service: Service) -> None:
    stranger = id_number("19710101")
    lead_id = await _lead(service, stranger, _signal("d-1", "dangerous_house", stranger))
    township = service.headers("township", TOWNSHIP)
    r = await _resolve(service, lead_id, township, action="dismiss")
    assert r.status_code == 422
    r = await _resolve(service, lead_id, township, action="dismiss", reason=f"查无此人 {stranger}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dismissed"
    assert r.json()["household_id"] is None
    assert stranger not in r.text  # masked in the kept reason
    [ev] = await collect_events(service.nats_url, "fangfan.signal.lead_resolved.>", count=1)
    assert ev["data"]["outcome"] == "dismissed"
    assert ev["data"]["household_id"] is None
    assert "reason" not in ev["data"]  # free text stays out of events


async def test_scope_and_roles(service: Service) -> None:
    other_household = await _registered_household(service, OTHER_VILLAGE)
    stranger = id_number("19720101")
    lead_id = await _lead(service, stranger, _signal("e-1", "dropout", stranger))
    # outside the caller's region: 404, for the lead and for the household
    r = await _resolve(service, lead_id, service.headers("village", OTHER_VILLAGE), action="dismiss", reason="x")
    assert r.status_code == 404
    village = service.headers("village", VILLAGE)
    r = await _resolve(service, lead_id, village, action="match", household_id=other_household)
    assert r.status_code == 404
    # within the county officer's region, but not the lead's village
    r = await _resolve(
        service, lead_id, service.headers("county", COUNTY), action="match", household_id=other_household
    )
    assert r.status_code == 409
    assert r.json()["code"] == "household_outside_lead_region"
    r = await _resolve(
        service, lead_id, service.headers("department", COUNTY, dept="canlian"), action="dismiss", reason="x"
    )
    assert r.status_code == 403
    r = await _resolve(service, lead_id, village, action="match", household_id="no-such-household")
    assert r.status_code == 404
    r = await _resolve(service, lead_id, village, action="match", household_id=other_household, extra=1)
    assert r.status_code == 422
    assert (await _resolve(service, "no-such-lead", village, action="dismiss", reason="x")).status_code == 404
