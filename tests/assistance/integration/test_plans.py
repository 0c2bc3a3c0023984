"""Plans from identification's events over real NATS: one file and one plan per household with
recommended measures, due date and contact; redelivery; green channel; elimination and rollback;
the measure lifecycle over HTTP with referral events and plan completion; scope."""

from __future__ import annotations

import asyncio
import uuid

from shared.events import Event
from tests.assistance.integration.conftest import (
    COUNTY,
    OTHER_COUNTY,
    OTHER_VILLAGE,
    VILLAGE,
    Service,
    identified,
)
from tests.helpers import collect_events


async def test_identified_household_gets_one_plan_with_measures_due_date_and_contact(service: Service) -> None:
    await service.add_contact(name="李四")
    ev = identified(risk_types=["illness", "housing"], has_labor_capacity=True)
    await service.publish(ev)
    plan = await service.wait_plan(ev.subject)
    assert plan["status"] == "open"
    assert plan["due_date"] == "2024-03-14"  # 10 days (002 篇二 §(一)5)
    assert plan["next_visit_due"] == "2024-04-04"  # monthly while monitored
    assert [m["type"] for m in plan["measures"]] == ["employment", "medical", "housing"]
    assert [m["department"] for m in plan["measures"]] == ["hrss", "medical_insurance", "housing"]
    assert {m["status"] for m in plan["measures"]} == {"proposed"}
    assert plan["contact_person"]["name"] == "李*"
    assert set(plan) >= {"id", "household_id", "status", "due_date", "contact_person", "measures"}

    await service.publish(ev)  # redelivered (new message id: JetStream cannot de-duplicate it)
    await asyncio.sleep(1.5)
    plans = await service.plans_of(ev.subject)
    assert len(plans) == 1
    assert len(plans[0]["measures"]) == 3

    created = await collect_events(service.nats_url, "fangfan.assistance.plan_created.>", count=2, timeout=3)
    assert len(created) == 1
    assert created[0]["data"]["plan_id"] == plan["id"]


async def test_plan_detail_has_history_sources_and_policy(service: Service) -> None:
    plan = await service.identified_plan(risk_types=["unstable_employment"], self_farming=True)
    r = await service.client.get(f"/api/v1/plans/{plan['id']}", headers=service.headers())
    assert r.status_code == 200, r.text
    body = r.json()
    assert [m["type"] for m in body["measures"]] == [
        "employment",
        "technical_contact",
        "policy_contact",
        "sales_contact",
        "farming_insurance",
    ]
    assert body["measures"][0]["source"]
    assert body["measures"][0]["allowed_actions"] == ["accept", "drop"]
    assert body["history"][0]["action"] == "open"
    assert body["contact_person"] is None  # the village has no roster yet
    assert "10日内" in body["policy"]["plan_due_days"]["source"]


async def test_measure_lifecycle_referral_department_and_completion(service: Service) -> None:
    plan = await service.identified_plan(risk_types=["illness"], has_labor_capacity=True)
    [m] = plan["measures"]
    r = await service.act(m["id"], action="accept", note="受理")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    r = await service.act(m["id"], action="refer", note="转医保局")
    assert r.json()["status"] == "referred"

    [referred] = await collect_events(service.nats_url, "fangfan.assistance.measure_referred.>", count=1)
    assert referred["data"] == {
        "measure_id": m["id"],
        "plan_id": plan["id"],
        "household_id": plan["household_id"],
        "region_code": VILLAGE,
        "type": "medical",
        "department": "medical_insurance",
    }
    assert referred["subject"] == plan["household_id"]

    other_dept = service.headers("department", COUNTY, dept="education")
    assert (await service.act(m["id"], other_dept, action="start")).status_code == 404
    dept = service.headers("department", COUNTY, dept="medical_insurance")
    r = await service.act(m["id"], dept, action="drop", reason="x")
    assert r.status_code == 409
    assert r.json()["code"] == "role_not_allowed"
    assert (await service.act(m["id"], dept, action="start", note="已接收")).status_code == 200
    r = await service.act(m["id"], dept, action="close")
    assert r.status_code == 409
    assert r.json()["code"] == "outcome_required"
    r = await service.act(m["id"], dept, action="close", outcome="大病保险报销 8,000 元")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"

    [done] = await collect_events(service.nats_url, "fangfan.assistance.plan_completed.>", count=1)
    assert done["data"]["plan_id"] == plan["id"]
    detail = (await service.client.get(f"/api/v1/plans/{plan['id']}", headers=service.headers())).json()
    assert detail["status"] == "completed"
    assert detail["drawn_up_on"] == "2024-03-04"
    assert [h["action"] for h in detail["measures"][0]["history"]] == ["propose", "accept", "refer", "start", "close"]

    # a new measure reopens the completed plan; dropping it needs a reason
    r = await service.client.post(
        f"/api/v1/plans/{plan['id']}/measures",
        json={"type": "education", "reason": "孩子升高中"},
        headers=service.headers(),
    )
    assert r.status_code == 201, r.text
    assert r.json()["department"] == "education"
    assert (await service.plans_of(plan["household_id"]))[0]["status"] == "open"
    r = await service.act(r.json()["id"], action="drop")
    assert r.status_code == 409
    assert r.json()["code"] == "reason_required"


async def test_edit_measure_with_reason_and_optimistic_version(service: Service) -> None:
    plan = await service.identified_plan()
    [m] = plan["measures"]
    r = await service.client.patch(
        f"/api/v1/measures/{m['id']}",
        json={"reason": "由卫健委牵头", "department": "health", "version": 1},
        headers=service.headers(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["department"] == "health"
    r = await service.client.patch(
        f"/api/v1/measures/{m['id']}", json={"reason": "again", "version": 1}, headers=service.headers()
    )
    assert r.status_code == 409
    assert r.json()["code"] == "stale_measure"


async def test_another_departments_measure_is_404_on_edit_like_a_missing_one(service: Service) -> None:
    """Regression (jurisdiction matrix): PATCH by a department answered 403 for another
    department's measure and 404 for a missing one, so the measure's existence leaked."""
    plan = await service.identified_plan()
    [m] = plan["measures"]
    other = "health" if m["department"] != "health" else "education"
    dept = service.headers("department", COUNTY, dept=other)
    body = {"reason": "x"}
    r = await service.client.patch(f"/api/v1/measures/{m['id']}", json=body, headers=dept)
    ghost = await service.client.patch(f"/api/v1/measures/{uuid.uuid4()}", json=body, headers=dept)
    assert (r.status_code, r.json()["code"]) == (ghost.status_code, ghost.json()["code"]) == (404, "not_found")


async def test_bad_measure_type_and_unknown_fields_are_422(service: Service) -> None:
    plan = await service.identified_plan()
    url = f"/api/v1/plans/{plan['id']}/measures"
    r = await service.client.post(url, json={"type": "lottery", "reason": "x"}, headers=service.headers())
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["path"] == "type"
    r = await service.client.post(
        url, json={"type": "housing", "reason": "x", "status": "closed"}, headers=service.headers()
    )
    assert r.status_code == 422


async def test_green_channel_then_identification_merges_into_one_plan(service: Service) -> None:
    hid = f"hh-{uuid.uuid4().hex[:8]}"
    app = {
        "application_id": "app-1",
        "case_id": "case-1",
        "household_id": hid,
        "urgent": True,
        "risk_types": ["accident"],
        "category": "sudden_hardship",
    }
    await service.publish(Event("application", "submitted", hid, VILLAGE, app, source="identification"))
    await service.publish(
        Event(
            "application",
            "submitted",
            "hh-not-urgent",
            VILLAGE,
            {**app, "household_id": "hh-not-urgent", "urgent": False},
            source="identification",
        )
    )
    plan = await service.wait_plan(hid)
    assert plan["origin"] == "green_channel"
    assert [m["type"] for m in plan["measures"]] == ["temporary_relief"]
    await service.publish(identified(hid, risk_types=["accident", "illness"], case_id="case-1"))
    plan = await service.wait_plan(hid, timeout=10)
    deadline = asyncio.get_running_loop().time() + 10
    while len(plan["measures"]) < 3 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        plan = (await service.plans_of(hid))[0]
    assert len(await service.plans_of(hid)) == 1
    assert sorted(m["type"] for m in plan["measures"]) == ["employment", "medical", "temporary_relief"]
    assert await service.plans_of("hh-not-urgent") == []


async def test_elimination_closes_and_rollback_reopens(service: Service) -> None:
    plan = await service.identified_plan()
    hid = plan["household_id"]
    await service.publish(
        Event("risk", "eliminated", hid, VILLAGE, {"household_id": hid, "case_id": "c", "eliminated_on": "2024-09-01"})
    )
    closed = await service.wait_plan(hid, status="closed")
    assert closed["next_visit_due"] == "2025-03-01"  # six months after elimination
    r = await service.act(closed["measures"][0]["id"], action="accept")
    assert r.status_code == 409
    assert r.json()["code"] == "plan_closed"
    await service.publish(
        Event(
            "case",
            "status_changed",
            "case-9",
            VILLAGE,
            {
                "case_id": "case-9",
                "household_id": hid,
                "procedure": "elimination",
                "from": "eliminated",
                "to": "rolled_back",
                "at": "2024-10-08T09:00:00+08:00",
            },
        )
    )
    reopened = await service.wait_plan(hid, status="open")
    assert reopened["id"] == plan["id"]
    assert reopened["next_visit_due"] == "2024-11-08"
    assert len(await service.plans_of(hid)) == 1


async def test_scope_other_village_and_county_see_nothing(service: Service) -> None:
    plan = await service.identified_plan()
    r = await service.client.get(f"/api/v1/plans/{plan['id']}", headers=service.headers("village", OTHER_VILLAGE))
    assert r.status_code == 404
    r = await service.client.get(
        "/api/v1/plans", params={"household_id": plan["household_id"]}, headers=service.headers("county", OTHER_COUNTY)
    )
    assert r.json()["items"] == []
    r = await service.act(plan["measures"][0]["id"], service.headers("village", OTHER_VILLAGE), action="accept")
    assert r.status_code == 404
    r = await service.client.get("/api/v1/plans", headers=service.headers("citizen", "34", sub="someone"))
    assert r.status_code == 403
