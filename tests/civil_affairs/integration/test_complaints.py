"""Complaints (12345) on a real database and NATS: intake by channel, routing by topic and
region, working-day deadlines, transfer (转办), reply, close with satisfaction, reopen, the
sweep's reminder and escalation, personal data encrypted and masked."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from services.civil_affairs.adapters.grievance_runtime import run_grievance_sweep
from services.civil_affairs.adapters.orm_appeals import complaints
from tests.civil_affairs.integration.grievance_world import COUNTY, TOWNSHIP, VILLAGE, World, world
from tests.helpers import collect_events
from tests.identification.integration.test_cases_support import id_number

__all__ = ["world"]


async def test_a_hotline_complaint_is_routed_transferred_answered_closed_and_reopened(world: World) -> None:
    person = id_number("19580303")
    county = world.headers("county", COUNTY, sub="hotline-desk")
    body = {
        "channel": "hotline_12345",
        "text": f"来电反映：邻居{person}家里困难，没有纳入低保，电话13912345678",
        "region_code": VILLAGE,
        "topic": "missed_entitlement",
        "person": {"id_number": person},
        "contact_phone": "13912345678",
    }
    r = await world.civil.post("/api/v1/complaints", json=body, headers=county)
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["responsible_level"], c["responsible_region"]) == ("township", TOWNSHIP)
    assert (c["received_on"], c["ack_due"], c["reply_due"]) == ("2026-03-02", "2026-03-03", "2026-03-16")
    assert c["person"]["id_number"] == person[:6] + "********" + person[-4:]
    assert c["contact_phone"] == "139****5678"
    assert person not in r.text
    assert "13912345678" not in r.text
    assert c["explanation"]["deadline_sources"]["complaint_reply_working_days"].startswith("configurable default")

    township = world.headers("township", TOWNSHIP)
    r = await world.civil.get(f"/api/v1/complaints/{c['id']}", headers=township)
    assert r.json()["allowed_actions"] == ["acknowledge", "transfer"]
    r = await world.civil.get(f"/api/v1/complaints/{c['id']}", headers=world.headers("village", VILLAGE))
    assert r.status_code == 200
    assert r.json()["allowed_actions"] == []
    r = await world.civil.post(
        f"/api/v1/complaints/{c['id']}/transitions", json={"action": "acknowledge"}, headers=township
    )
    assert (r.status_code, r.json()["state"], r.json()["acknowledged_on"]) == (200, "accepted", "2026-03-02")
    r = await world.civil.post(
        f"/api/v1/complaints/{c['id']}/transitions",
        json={"action": "transfer", "to_region": "341222", "note": "不属本县"},
        headers=township,
    )
    assert r.status_code == 422
    r = await world.civil.post(
        f"/api/v1/complaints/{c['id']}/transitions",
        json={
            "action": "transfer",
            "to_department": "civil_affairs_bureau",
            "to_region": COUNTY,
            "note": "需县民政局核对",
        },
        headers=township,
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["responsible_level"], moved["responsible_region"], moved["responsible_department"]) == (
        "county",
        COUNTY,
        "civil_affairs_bureau",
    )
    r = await world.civil.get(f"/api/v1/complaints/{c['id']}", headers=township)
    assert r.json()["allowed_actions"] == []  # no longer the township's
    world.advance_days(3)
    r = await world.civil.post(
        f"/api/v1/complaints/{c['id']}/transitions",
        json={"action": "reply", "note": "经核对，该户符合低保条件，已启动申请程序"},
        headers=county,
    )
    assert (r.status_code, r.json()["state"], r.json()["replied_on"]) == (200, "replied", "2026-03-05")
    r = await world.civil.post(f"/api/v1/complaints/{c['id']}/transitions", json={"action": "close"}, headers=county)
    assert r.json()["code"] == "satisfaction_required"
    r = await world.civil.post(
        f"/api/v1/complaints/{c['id']}/transitions",
        json={"action": "close", "satisfaction": "dissatisfied"},
        headers=county,
    )
    assert (r.json()["state"], r.json()["satisfaction"]) == ("closed", "dissatisfied")
    r = await world.civil.post(
        f"/api/v1/complaints/{c['id']}/transitions",
        json={"action": "reopen", "note": "回访不满意：尚未入户"},
        headers=county,
    )
    reopened = r.json()
    assert (reopened["state"], reopened["reopen_count"], reopened["reply_due"]) == ("accepted", 1, "2026-03-19")
    assert [h["action"] for h in reopened["history"]] == [
        "receive",
        "acknowledge",
        "transfer",
        "reply",
        "close",
        "reopen",
    ]
    async with world.ctx.sessions() as s:
        raw = (await s.execute(sa.select(complaints))).all()
    assert person not in str(raw)
    assert "13912345678" not in str(raw)

    events = await collect_events(world.nats_url, "fangfan.complaint.>", count=7)
    assert [e["type"].split(".")[3] for e in events] == [
        "received",
        "routed",
        "acknowledged",
        "routed",
        "replied",
        "closed",
        "reopened",
    ][: len(events)]
    assert len(events) == 7
    assert events[5]["data"]["satisfaction"] == "dissatisfied"
    assert events[3]["data"]["reason"] == "transfer"
    assert person not in str(events)
    assert "13912345678" not in str(events)


async def test_routing_by_topic_and_who_files_by_which_channel(world: World) -> None:
    me = id_number("19850808")
    citizen = world.citizen(me)
    base = {"text": "村干部优亲厚友", "region_code": VILLAGE}
    r = await world.civil.post(
        "/api/v1/complaints", json={**base, "channel": "app", "topic": "officer_conduct"}, headers=citizen
    )
    assert r.status_code == 422
    assert [e["path"] for e in r.json()["errors"]] == ["officer_level"]
    r = await world.civil.post(
        "/api/v1/complaints",
        json={**base, "channel": "app", "topic": "officer_conduct", "officer_level": "township"},
        headers=citizen,
    )
    assert r.status_code == 201, r.text
    mine = r.json()
    assert (mine["responsible_level"], mine["responsible_region"]) == ("county", COUNTY)
    r = await world.civil.post(
        "/api/v1/complaints", json={**base, "channel": "hotline_12345", "topic": "other"}, headers=citizen
    )
    assert r.status_code == 422
    dept = world.headers("department", COUNTY, dept="hrss")
    r = await world.civil.post(
        "/api/v1/complaints",
        json={
            "channel": "department_referral",
            "text": "补贴未发放",
            "region_code": VILLAGE,
            "topic": "subsidy_not_paid",
        },
        headers=dept,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["responsible_level"], r.json()["responsible_region"]) == ("county", COUNTY)
    r = await world.civil.post("/api/v1/complaints", json={**base, "channel": "app", "topic": "other"}, headers=dept)
    assert r.status_code == 422
    # the citizen sees their own complaint only; the county sees both
    r = await world.civil.get("/api/v1/complaints", headers=citizen)
    assert [x["id"] for x in r.json()["items"]] == [mine["id"]]
    r = await world.civil.get("/api/v1/complaints", headers=world.headers("county", COUNTY))
    assert r.json()["total"] == 2
    r = await world.civil.get(f"/api/v1/complaints/{mine['id']}", headers=world.citizen(id_number("19700101")))
    assert r.status_code == 404


async def test_the_sweep_reminds_and_escalates_overdue_complaints_once(world: World) -> None:
    r = await world.civil.post(
        "/api/v1/complaints",
        json={"channel": "letter", "text": "救助金三个月未到账", "region_code": VILLAGE, "topic": "other"},
        headers=world.headers("township", TOWNSHIP),
    )
    c = r.json()
    assert (c["ack_due"], c["reply_due"]) == ("2026-03-03", "2026-03-16")
    world.now[0] = dt.datetime(2026, 3, 4, 9, 0, tzinfo=world.now[0].tzinfo)  # acknowledgement missed
    counts = await run_grievance_sweep(world.ctx)
    assert (counts["complaint.overdue"], counts["complaint.reminder_due"]) == (1, 0)
    assert (await run_grievance_sweep(world.ctx))["complaint.overdue"] == 0
    r = await world.civil.get(f"/api/v1/complaints/{c['id']}", headers=world.headers("county", COUNTY))
    body = r.json()
    assert (body["escalated_level"], body["escalated_region"], body["overdue"]) == ("county", COUNTY, True)
    assert body["history"][-1]["action"] == "escalate"
    world.now[0] = dt.datetime(2026, 3, 12, 9, 0, tzinfo=world.now[0].tzinfo)  # 2 working days before 03-16
    counts = await run_grievance_sweep(world.ctx)
    assert (counts["complaint.overdue"], counts["complaint.reminder_due"]) == (0, 1)
    world.now[0] = dt.datetime(2026, 3, 17, 9, 0, tzinfo=world.now[0].tzinfo)
    counts = await run_grievance_sweep(world.ctx)
    assert (counts["complaint.overdue"], counts["complaint.reminder_due"]) == (1, 0)
    events = await collect_events(world.nats_url, "fangfan.complaint.*.34.>", count=5)
    names = [(e["type"].split(".")[3], e["data"].get("stage")) for e in events]
    assert names == [
        ("received", None),
        ("routed", None),
        ("overdue", "acknowledgement"),
        ("reminder_due", "reply"),
        ("overdue", "reply"),
    ]
    assert events[2]["data"]["escalated_region"] == COUNTY


async def test_text_a_database_cannot_store_and_malformed_ids_are_422(world: World) -> None:
    county = world.headers("county", COUNTY)
    for text in ("\\u0000", "\\ud800"):  # JSON escapes: a NUL, a lone surrogate
        body = {"channel": "letter", "text": "x@y", "region_code": VILLAGE, "topic": "other"}
        raw = json.dumps(body).replace("@", text)
        r = await world.civil.post(
            "/api/v1/complaints", content=raw.encode(), headers={**county, "content-type": "application/json"}
        )
        assert r.status_code == 422, r.text
    r = await world.civil.get("/api/v1/complaints/not-a-uuid", headers=county)
    assert r.status_code == 422
    r = await world.civil.get("/api/v1/appeals/00000000-0000-0000-0000-000000000000", headers=county)
    assert r.status_code == 404
    r = await world.civil.get("/api/v1/complaints", params={"state": "x\x00"}, headers=county)
    assert r.status_code == 422
    for path in ("/api/v1/complaints", "/api/v1/appeals"):  # found by schemathesis: an offset past SQLite's integers
        r = await world.civil.get(path, params={"offset": str(10**22)}, headers=county)
        assert r.status_code == 422
