"""Appeals on a real database and NATS, against the real identification service: a citizen
appeals their rejected application, the county (level above the township that decided) reviews
and decides; standing, routing, deadlines, conflicts, history, the sweep's reminders, events."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.civil_affairs.adapters.grievance_runtime import run_grievance_sweep
from services.civil_affairs.adapters.orm_appeals import appeals
from tests.civil_affairs.integration.grievance_world import CITY, COUNTY, TOWNSHIP, VILLAGE, World, world
from tests.helpers import collect_events
from tests.identification.integration.test_cases_support import id_number

__all__ = ["world"]


async def test_citizen_appeals_a_rejection_and_the_county_overturns_it(world: World) -> None:
    me, app = await world.rejected_application(by="township")
    r = await world.civil.post("/api/v1/appeals", json=await world.appeal_body(app), headers=world.citizen(me))
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert appeal["state"] == "received"
    assert (appeal["decided_level"], appeal["review_level"], appeal["review_region"]) == ("township", "county", COUNTY)
    assert appeal["received_on"] == "2026-03-02"
    assert appeal["deadline"] == "2026-04-01"  # 30 days (configurable default)
    assert appeal["overdue"] is False
    assert appeal["grounds"].endswith("138****5678")
    assert appeal["allowed_actions"] == ["withdraw"]
    assert appeal["explanation"]["inputs"]["decided_by_role"] == "township"
    assert appeal["explanation"]["policy"]["id"] == "civil-affairs-grievances-national-2023"
    assert appeal["history"][0]["by"].startswith("citizen:341221")
    assert me not in r.text

    # the township that decided may read it, not review it
    township = world.headers("township", TOWNSHIP)
    r = await world.civil.get(f"/api/v1/appeals/{appeal['id']}", headers=township)
    assert r.status_code == 200
    assert r.json()["allowed_actions"] == ["withdraw"]
    r = await world.civil.post(
        f"/api/v1/appeals/{appeal['id']}/transitions", json={"action": "start_review"}, headers=township
    )
    assert r.status_code == 409
    assert r.json()["code"] == "action_not_allowed"

    county = world.headers("county", COUNTY, sub="reviewer-1")
    r = await world.civil.get(f"/api/v1/appeals/{appeal['id']}", headers=county)
    assert r.json()["allowed_actions"] == ["start_review", "withdraw"]
    r = await world.civil.post(
        f"/api/v1/appeals/{appeal['id']}/transitions", json={"action": "start_review", "version": 1}, headers=county
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "under_review"
    r = await world.civil.post(
        f"/api/v1/appeals/{appeal['id']}/transitions",
        json={"action": "decide", "outcome": "overturned"},
        headers=county,
    )
    assert r.status_code == 409
    assert r.json()["code"] == "reason_required"
    r = await world.civil.post(
        f"/api/v1/appeals/{appeal['id']}/transitions", json={"action": "start_review", "version": 1}, headers=county
    )
    assert r.status_code == 409
    assert r.json()["code"] == "version_conflict"
    world.advance_days(9)
    r = await world.civil.post(
        f"/api/v1/appeals/{appeal['id']}/transitions",
        json={"action": "decide", "outcome": "overturned", "reason": "医疗支出应予扣除，重新认定"},
        headers=county,
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["state"], done["outcome"], done["reason"]) == (
        "overturned",
        "overturned",
        "医疗支出应予扣除，重新认定",
    )
    assert done["allowed_actions"] == []
    assert [(h["action"], h["from"], h["to"], h["role"]) for h in done["history"]] == [
        ("file", None, "received", "citizen"),
        ("start_review", "received", "under_review", "county"),
        ("decide", "under_review", "overturned", "county"),
    ]
    r = await world.civil.post(
        f"/api/v1/appeals/{appeal['id']}/transitions", json={"action": "withdraw"}, headers=world.citizen(me)
    )
    assert r.json()["code"] == "appeal_closed"

    # the citizen sees their own appeal, listed
    r = await world.civil.get("/api/v1/appeals", headers=world.citizen(me))
    assert [a["id"] for a in r.json()["items"]] == [appeal["id"]]

    events = await collect_events(world.nats_url, "fangfan.appeal.>", count=3)
    assert [e["type"] for e in events] == [
        "cn.fangfan.appeal.received.v1",
        "cn.fangfan.appeal.review_started.v1",
        "cn.fangfan.appeal.decided.v1",
    ]
    decided = events[2]
    assert decided["region"] == VILLAGE
    assert decided["data"]["outcome"] == "overturned"
    assert decided["data"]["reason"] == "医疗支出应予扣除，重新认定"
    assert decided["data"]["decided_on"] == "2026-03-11"
    assert decided["data"]["appellant_sub_hash"] == world.ctx.cipher.blind_index(me)
    assert me not in str(events)


async def test_who_may_appeal_what(world: World) -> None:
    me, app = await world.rejected_application()
    body = await world.appeal_body(app)
    stranger = id_number("19900101")
    r = await world.civil.post("/api/v1/appeals", json=body, headers=world.citizen(stranger))
    assert r.status_code == 404  # identification does not show a stranger the application
    r = await world.civil.post(
        "/api/v1/appeals", json={**body, "household_id": "someone-else"}, headers=world.citizen(me)
    )
    assert r.status_code == 422
    assert [e["path"] for e in r.json()["errors"]] == ["household_id"]
    r = await world.civil.post("/api/v1/appeals", json={**body, "state": "upheld"}, headers=world.citizen(me))
    assert r.status_code == 422
    r = await world.civil.post(
        "/api/v1/appeals",
        json={**body, "subject": {"kind": "measure", "id": "m-1"}},
        headers=world.citizen(me),
    )
    assert r.status_code == 409
    assert r.json()["code"] == "standing_unverifiable"
    r = await world.civil.post("/api/v1/appeals", json=body, headers=world.headers("department", COUNTY, dept="hrss"))
    assert r.status_code == 403
    r = await world.civil.post("/api/v1/appeals", json=body, headers=world.headers("county", "341222"))
    assert r.status_code == 404
    r = await world.civil.post("/api/v1/appeals", json=body, headers=world.citizen(me))
    assert r.status_code == 201
    first = r.json()["id"]
    r = await world.civil.post("/api/v1/appeals", json=body, headers=world.citizen(me))
    assert r.status_code == 409
    assert (r.json()["code"], r.json()["existing_appeal_id"]) == ("appeal_exists", first)
    r = await world.civil.get(f"/api/v1/appeals/{first}", headers=world.citizen(stranger))
    assert r.status_code == 404
    r = await world.civil.get(f"/api/v1/appeals/{first}", headers=world.headers("township", "341221002"))
    assert r.status_code == 404

    # an application still under way is not a refusal
    other = id_number("19750505")
    import uuid

    from tests.identification.integration.test_cases_support import application, household

    r = await world.identification.post(
        "/api/v1/applications",
        json=application(VILLAGE, household=household([other])),
        headers={**world.citizen(other), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    pending = r.json()
    r = await world.civil.post("/api/v1/appeals", json=await world.appeal_body(pending), headers=world.citizen(other))
    assert r.status_code == 409
    assert r.json()["code"] == "subject_not_refused"


async def test_an_officer_files_for_a_household_and_the_level_above_the_county_decides(world: World) -> None:
    person = id_number("19600606")
    body = {
        "subject": {"kind": "subsidy_decision", "id": "dec-42"},
        "household_id": "hh-42",
        "region_code": VILLAGE,
        "grounds": "医疗救助被拒，申请复核",
        "decided_level": "county",
        "appellant_id_number": person,
        "attachments": ["doc:hospital-bill-2026-02"],
    }
    r = await world.civil.post("/api/v1/appeals", json=body, headers=world.headers("township", TOWNSHIP))
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert (appeal["review_level"], appeal["review_region"]) == ("city", CITY)
    assert appeal["attachments"] == ["doc:hospital-bill-2026-02"]
    r = await world.civil.get(f"/api/v1/appeals/{appeal['id']}", headers=world.headers("county", COUNTY))
    assert r.json()["allowed_actions"] == ["withdraw"]  # the county decided: it does not review itself
    r = await world.civil.get(f"/api/v1/appeals/{appeal['id']}", headers=world.headers("province", "34"))
    assert r.json()["allowed_actions"] == ["start_review", "withdraw"]
    # the appellant named by the officer sees it, and may withdraw it
    r = await world.civil.get("/api/v1/appeals", headers=world.citizen(person))
    assert [a["id"] for a in r.json()["items"]] == [appeal["id"]]
    r = await world.civil.post(
        f"/api/v1/appeals/{appeal['id']}/transitions",
        json={"action": "withdraw", "reason": "已与县里沟通"},
        headers=world.citizen(person),
    )
    assert r.status_code == 200
    assert r.json()["state"] == "withdrawn"
    async with world.ctx.sessions() as s:
        raw = (await s.execute(sa.select(appeals))).all()
    assert person not in str(raw)


async def test_the_sweep_reminds_once_and_flags_overdue_once(world: World) -> None:
    me, app = await world.rejected_application()
    r = await world.civil.post("/api/v1/appeals", json=await world.appeal_body(app), headers=world.citizen(me))
    appeal_id = r.json()["id"]
    assert await run_grievance_sweep(world.ctx) == {
        "appeal.reminder_due": 0,
        "appeal.overdue": 0,
        "complaint.reminder_due": 0,
        "complaint.overdue": 0,
    }
    world.now[0] = dt.datetime(2026, 3, 27, 9, 0, tzinfo=world.now[0].tzinfo)  # deadline 04-01 − 5 days
    counts = await run_grievance_sweep(world.ctx)
    assert (counts["appeal.reminder_due"], counts["appeal.overdue"]) == (1, 0)
    assert (await run_grievance_sweep(world.ctx))["appeal.reminder_due"] == 0
    world.now[0] = dt.datetime(2026, 4, 2, 9, 0, tzinfo=world.now[0].tzinfo)
    counts = await run_grievance_sweep(world.ctx)
    assert (counts["appeal.reminder_due"], counts["appeal.overdue"]) == (0, 1)
    assert (await run_grievance_sweep(world.ctx))["appeal.overdue"] == 0
    r = await world.civil.get(f"/api/v1/appeals/{appeal_id}", headers=world.headers("county", COUNTY))
    assert r.json()["overdue"] is True
    events = await collect_events(world.nats_url, "fangfan.appeal.*.34.>", count=3)
    kinds = [e["type"].split(".")[3] for e in events]
    assert kinds == ["received", "reminder_due", "overdue"]
    assert events[1]["data"]["days_left"] == 5
    assert events[2]["data"]["days_overdue"] == 1


async def test_a_county_version_added_at_run_time_sets_the_appeal_review_days(world: World) -> None:
    admin = world.headers("admin", "")
    body = {
        "service": "civil_affairs",
        "region_prefix": COUNTY,
        "effective_from": "2026-01-01",
        "source": "县民政局 申诉复核办法 (test)",
        "parameters": {"appeal_review_days": {"value": 15, "source": "县民政局 申诉复核办法 §4: 15日内复核"}},
    }
    r = await world.civil.post("/api/v1/admin/policies", json=body, headers=admin)
    assert r.status_code == 201, r.text
    bad = {**body, "parameters": {"public_holidays": ["2026-13-01"], "appeal_reminder_lead_days": 1.5}}
    r = await world.civil.post("/api/v1/admin/policies", json=bad, headers=admin)
    assert r.status_code == 422
    assert sorted(e["path"] for e in r.json()["errors"]) == [
        "parameters.appeal_reminder_lead_days",
        "parameters.public_holidays",
    ]
    me, app = await world.rejected_application(by="township")
    r = await world.civil.post("/api/v1/appeals", json=await world.appeal_body(app), headers=world.citizen(me))
    assert r.status_code == 201, r.text
    assert r.json()["deadline"] == "2026-03-17"  # received 03-02 + 15 days
