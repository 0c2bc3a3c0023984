"""Each job recommendation's outcome, and the sanction after three refused offers without a
valid reason (000 safety-net §三(二)1): `employment.offers_refused` exactly once, on real NATS."""

from __future__ import annotations

from typing import Any

from tests.assistance.integration.conftest import OTHER_VILLAGE, VILLAGE, Service
from tests.helpers import collect_events

from .test_employment import _record


async def _recommend(service: Service, record_id: str, on: str) -> str:
    r = await service.client.post(
        f"/api/v1/employment/records/{record_id}/services",
        json={"kind": "job_recommendation", "provided_on": on, "detail": "电子厂装配工"},
        headers=service.headers(),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["services"][-1]["id"])


async def _outcome(service: Service, record_id: str, sid: str, **body: Any) -> Any:
    return await service.client.post(
        f"/api/v1/employment/records/{record_id}/services/{sid}/outcome", json=body, headers=service.headers()
    )


async def test_the_third_refusal_without_reason_publishes_once(service: Service) -> None:
    plan = await service.identified_plan(risk_types=["unstable_employment"])
    rec = await _record(service, "p-refuser", plan["household_id"])
    ids = [await _recommend(service, rec["id"], f"2024-02-0{d}") for d in range(1, 7)]
    steps = [
        (ids[0], {"outcome": "refused", "valid_reason": False}, 1),
        (ids[1], {"outcome": "refused", "valid_reason": True, "note": "caring for a sick parent"}, 1),
        (ids[2], {"outcome": "no_answer"}, 1),
        (ids[3], {"outcome": "refused", "valid_reason": False}, 2),
    ]
    for sid, body, run in steps:
        r = await _outcome(service, rec["id"], sid, **body)
        assert r.status_code == 201, r.text
        assert (r.json()["refusals_in_a_row"], r.json()["sanction"]) == (run, None)
    r = await _outcome(service, rec["id"], ids[4], outcome="refused", valid_reason=False)
    body = r.json()
    assert body["refusals_in_a_row"] == 3
    assert body["sanction"]["recommendation_ids"] == [ids[0], ids[3], ids[4]]
    # a fourth refusal: no second event
    r = await _outcome(service, rec["id"], ids[5], outcome="refused", valid_reason=False)
    assert r.json()["sanction"]["event_id"] == body["sanction"]["event_id"]
    events = await collect_events(service.settings.nats_url, "fangfan.employment.offers_refused.>", count=2, timeout=3)
    assert len(events) == 1
    ev = events[0]
    assert ev["type"] == "cn.fangfan.employment.offers_refused.v1"
    assert ev["id"] == body["sanction"]["event_id"]
    assert ev["subject"] == plan["household_id"]
    data = ev["data"]
    assert (data["person_ref"], data["refusals"], data["region_code"]) == ("p-refuser", 3, VILLAGE)
    assert data["recommendation_ids"] == [ids[0], ids[3], ids[4]]
    assert "000 safety-net §三(二)1" in data["source"]


async def test_an_accepted_offer_starts_the_count_again_and_rules(service: Service) -> None:
    plan = await service.identified_plan()
    rec = await _record(service, "p-accept", plan["household_id"])
    ids = [await _recommend(service, rec["id"], f"2024-02-1{d}") for d in range(1, 5)]
    for sid, outcome in zip(ids, ["refused", "refused", "accepted", "refused"], strict=True):
        extra = {"valid_reason": False} if outcome == "refused" else {}
        r = await _outcome(service, rec["id"], sid, outcome=outcome, **extra)
        assert r.status_code == 201, r.text
    read = (
        await service.client.get(f"/api/v1/employment/records/{rec['id']}/job-offers", headers=service.headers())
    ).json()
    assert (read["refusals_in_a_row"], read["refusals_before_sanction"], read["sanction"]) == (1, 3, None)
    assert [x["outcome"] for x in read["recommendations"]] == ["refused", "refused", "accepted", "refused"]
    # once per recommendation; a refusal says whether the reason was valid; guidance has no outcome
    assert (await _outcome(service, rec["id"], ids[0], outcome="accepted")).json()["code"] == "outcome_recorded"
    r = await service.client.post(
        f"/api/v1/employment/records/{rec['id']}/services",
        json={"kind": "guidance", "provided_on": "2024-02-20"},
        headers=service.headers(),
    )
    gid = r.json()["services"][-1]["id"]
    assert (await _outcome(service, rec["id"], gid, outcome="accepted")).json()["code"] == "not_a_job_recommendation"
    fresh = await _recommend(service, rec["id"], "2024-02-21")
    r = await _outcome(service, rec["id"], fresh, outcome="refused")
    assert (r.status_code, r.json()["errors"][0]["path"]) == (422, "valid_reason")
    r = await service.client.post(
        f"/api/v1/employment/records/{rec['id']}/services/{fresh}/outcome",
        json={"outcome": "accepted"},
        headers=service.headers("village", OTHER_VILLAGE),
    )
    assert r.status_code == 404
