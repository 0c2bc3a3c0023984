"""The dibao application walked from a citizen's submission to county approval on a real database
and NATS, with a real local HTTP server as the county check system; the file drop-in; timeouts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.civil_affairs.adapters.programmes_runtime import run_check_cycle
from shared.settings import Settings
from tests.civil_affairs.integration.conftest import COUNTY, VILLAGE
from tests.civil_affairs.integration.programmes_support import (
    CountyCheckSystem,
    clock_of,
    dibao_body,
    id_number,
    member,
)
from tests.helpers import collect_events

BASE = "/api/v1/social-assistance"


@pytest.fixture
async def county_system(monkeypatch: pytest.MonkeyPatch) -> Any:
    system = CountyCheckSystem()
    async with system.running():
        monkeypatch.setenv("FANGFAN_ECONOMIC_CHECK_COUNTIES", json.dumps({COUNTY: {"kind": "http", "url": system.url}}))
        monkeypatch.setenv("FANGFAN_ECONOMIC_CHECK_POLL_S", "0.2")
        yield system


async def _act(
    client: httpx.AsyncClient, app_id: str, headers: dict[str, str], action: str, **kw: Any
) -> httpx.Response:
    return await client.post(
        f"{BASE}/applications/{app_id}/transitions", json={"action": action, **kw}, headers=headers
    )


async def test_a_citizen_dibao_application_walks_to_county_approval(
    county_system: CountyCheckSystem, client: httpx.AsyncClient, as_role: Any, settings: Settings
) -> None:
    clock = clock_of(client, "2026-12-01")  # a Tuesday
    head = id_number("19800101", "011")
    citizen = as_role("citizen", VILLAGE, sub=head)
    body = dibao_body(VILLAGE)
    r = await client.post(f"{BASE}/applications", json=body, headers={**citizen, "Idempotency-Key": "app-1"})
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["state"] == "submitted"
    assert app["decision"]["rule"] == "dibao_income_below_standard"
    assert app["decision"]["per_capita_income_annual"] == "3000.00"
    assert app["decision"]["covered"] == ["per-head", "per-spouse", "per-child"]
    # township review within 30 working days of 2026-12-01; whole procedure within 45
    assert app["deadline"] == "2027-01-12"
    assert app["total_deadline"] == "2027-02-02"
    assert app["allowed_actions"] == ["withdraw"]
    assert head not in r.text  # the ID number is never shown
    again = await client.post(f"{BASE}/applications", json=body, headers={**citizen, "Idempotency-Key": "app-1"})
    assert again.status_code == 201
    assert again.json()["id"] == app["id"]

    # the citizen may not accept their own application; the village does
    r = await _act(client, app["id"], citizen, "accept")
    assert r.status_code == 409
    assert r.json()["code"] == "role_not_allowed"
    village = as_role("village", VILLAGE)
    r = await _act(client, app["id"], village, "accept", note="材料齐全，受理")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "economic_check"
    check = r.json()["economic_check"]
    assert check["adapter"] == "http"
    assert check["sent_at"] is not None
    assert check["reference"] == "HB-0001"
    [sent] = county_system.requests
    assert sent["check_id"] == check["id"]
    assert [m["id_number"] for m in sent["members"]] == [m["id_number"] for m in body["household"]["members"]]
    assert sent["consent"] == {"asset_query_authorized": True}

    township = as_role("township", VILLAGE[:9])
    r = await _act(client, app["id"], township, "advance", note="x")
    assert r.status_code == 409
    assert r.json()["code"] == "economic_check_pending"

    # the county's system answers by callback
    result = {
        "passed": True,
        "checked_at": "2026-12-03T09:00:00+08:00",
        "reference": "HB-0001",
        "assets_found": [],
        "income_found_annual": "9000.00",
    }
    r = await client.post(f"{BASE}/economic-checks/{check['id']}/result", json=result, headers=as_role("county"))
    assert r.status_code == 200, r.text
    r = await client.get(f"{BASE}/applications/{app['id']}", headers=township)
    assert r.json()["state"] == "township_review"
    assert r.json()["history"][-1]["rule"] == "economic_check_passed"
    assert r.json()["allowed_actions"] == ["advance", "reject", "withdraw"]
    # the same answer again is harmless
    r = await client.post(f"{BASE}/economic-checks/{check['id']}/result", json=result, headers=as_role("county"))
    assert r.status_code == 200

    r = await _act(client, app["id"], township, "advance", note="审核通过，予以公示")
    assert r.json()["state"] == "public_notice"
    assert r.json()["notice_ends_on"] == "2026-12-07"
    r = await _act(client, app["id"], township, "advance", note="公示无异议")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "notice_running"
    clock.set("2026-12-08")
    r = await _act(client, app["id"], township, "advance", note="公示无异议")
    assert r.json()["state"] == "county_review"
    assert r.json()["deadline"] == "2026-12-22"  # 10 working days
    r = await _act(client, app["id"], township, "approve", note="x")
    assert r.status_code == 409
    assert r.json()["code"] == "role_not_allowed"
    county = as_role("county")
    current = (await client.get(f"{BASE}/applications/{app['id']}", headers=county)).json()["version"]
    r = await _act(client, app["id"], county, "approve", note="同意纳入低保", version=current - 1)
    assert r.status_code == 409
    assert r.json()["code"] == "version_conflict"
    r = await _act(client, app["id"], county, "approve", note="同意纳入低保", version=current)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved"
    assert r.json()["allowed_actions"] == []
    r = await _act(client, app["id"], county, "approve", note="again")
    assert r.status_code == 409
    assert r.json()["code"] == "application_closed"

    r = await client.get(f"{BASE}/enrolments", params={"household_id": app["household_id"]}, headers=county)
    [enrolment] = r.json()["items"]
    assert enrolment["status"] == "active"
    assert enrolment["start_month"] == "2027-01"
    assert enrolment["per_capita_income_annual"] == "3000.00"
    assert enrolment["next_recheck_on"] == "2027-06-08"  # labour-capable dibao household: half-yearly

    events = await collect_events(settings.resolved_nats_url(), "fangfan.social_assistance.>", count=8)
    names = [e["type"].split(".")[3] for e in events]
    assert names == ["application_submitted"] + ["application_status_changed"] * 5 + ["enrolled"] + names[7:]
    assert [e["data"]["to"] for e in events[1:6]] == [
        "economic_check",
        "township_review",
        "public_notice",
        "county_review",
        "approved",
    ]
    assert all(head not in json.dumps(e) for e in events)
    assert events[0]["subject"] == app["household_id"]


async def test_a_failed_check_rejects_with_its_explanation_through_the_file_drop_in(
    client: httpx.AsyncClient, as_role: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock_of(client, "2026-12-01")
    county, village = "341222", "341222001001"
    officer = as_role("village", village)
    members = [member("19500101", "041", "head", labor_capacity="none")]
    r = await client.post(
        f"{BASE}/applications",
        json=dibao_body(village, wage="2000", members=members),
        headers={**officer, "Idempotency-Key": "file-1"},
    )
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = await _act(client, app_id, officer, "accept", note="受理")
    check = r.json()["economic_check"]
    assert check["adapter"] == "file"
    assert check["sent_at"] is not None
    root = Path(settings.data_dir) / "economic_check" / county
    request = json.loads((root / "requests" / f"{check['id']}.json").read_text())
    assert request["members"][0]["id_number"] == members[0]["id_number"]
    result = {
        "passed": False,
        "checked_at": "2026-12-04T10:00:00+08:00",
        "reference": "LQ-77",
        "assets_found": [{"kind": "car", "description": "a passenger car registered 2025"}],
    }
    (root / "results" / f"{check['id']}.json").write_text(json.dumps(result))
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    counts = await run_check_cycle(ctx)
    assert counts["answered"] == 1
    r = await client.get(f"{BASE}/applications/{app_id}", headers=as_role("county", county))
    got = r.json()
    assert got["state"] == "rejected"
    assert got["history"][-1]["rule"] == "economic_check_failed"
    assert "car" in got["history"][-1]["note"]
    assert "LQ-77" in got["history"][-1]["note"]
    assert got["economic_check"]["result"]["passed"] is False
    # the exchange directory no longer holds the ID numbers
    assert not (root / "requests" / f"{check['id']}.json").exists()


async def test_an_unanswered_check_is_tracked_as_timed_out(
    client: httpx.AsyncClient, as_role: Any, settings: Settings
) -> None:
    clock = clock_of(client, "2026-12-01")
    village = "341222001002"
    officer = as_role("township", village[:9])
    r = await client.post(
        f"{BASE}/applications", json=dibao_body(village), headers={**officer, "Idempotency-Key": "timeout-1"}
    )
    app_id = r.json()["id"]
    r = await _act(client, app_id, officer, "accept", note="受理")
    assert r.json()["economic_check"]["due_on"] == "2026-12-16"
    clock.set("2026-12-17")
    counts = await run_check_cycle(client.app.state.ctx)  # type: ignore[attr-defined]
    assert counts["timed_out"] == 1
    got = (await client.get(f"{BASE}/applications/{app_id}", headers=officer)).json()
    assert got["economic_check"]["status"] == "timed_out"
    assert got["history"][-1]["rule"] == "economic_check_timed_out"
    r = await _act(client, app_id, officer, "reject", reason="核对系统未反馈")
    assert r.json()["state"] == "rejected"


async def test_refusals_and_visibility(client: httpx.AsyncClient, as_role: Any) -> None:
    clock_of(client, "2026-12-01")
    body = dibao_body(VILLAGE)
    r = await client.post(
        f"{BASE}/applications",
        json={**body, "consent": {"commitment": True, "asset_query_authorized": False}},
        headers={**as_role("village", VILLAGE), "Idempotency-Key": "c-1"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "consent.asset_query_authorized"
    r = await client.post(
        f"{BASE}/applications",
        json={**body, "status": "approved"},
        headers={**as_role("village", VILLAGE), "Idempotency-Key": "c-2"},
    )
    assert r.status_code == 422  # extra fields are refused
    stranger = as_role("citizen", VILLAGE, sub=id_number("19700101", "099"))
    r = await client.post(f"{BASE}/applications", json=body, headers={**stranger, "Idempotency-Key": "c-3"})
    assert r.status_code == 403
    assert r.json()["code"] == "not_own_household"
    r = await client.post(
        f"{BASE}/applications", json=body, headers={**as_role("village", VILLAGE), "Idempotency-Key": "c-4"}
    )
    app_id = r.json()["id"]
    other = as_role("county", "341222")
    assert (await client.get(f"{BASE}/applications/{app_id}", headers=other)).status_code == 404
    assert (await client.get(f"{BASE}/applications/{app_id}", headers=stranger)).status_code == 404
    r = await _act(client, app_id, as_role("township", VILLAGE[:9]), "reject")
    assert r.status_code == 409
    assert r.json()["code"] == "reason_required"
    # 特困 refused: a labour-capable member
    r = await client.post(
        f"{BASE}/applications",
        json=dibao_body(VILLAGE, programme="tekun", wage="0"),
        headers={**as_role("village", VILLAGE), "Idempotency-Key": "c-5"},
    )
    assert r.json()["decision"]["eligible"] is False
    assert r.json()["decision"]["rule"] == "tekun_not_elderly_disabled_or_minor"
    await asyncio.sleep(0)


async def test_a_rejected_applicant_appeals_and_the_overturned_rejection_reopens_the_application(
    client: httpx.AsyncClient, as_role: Any, settings: Settings
) -> None:
    clock = clock_of(client, "2026-12-01")
    head = id_number("19800101", "011")
    citizen = as_role("citizen", VILLAGE, sub=head)
    r = await client.post(
        f"{BASE}/applications", json=dibao_body(VILLAGE), headers={**citizen, "Idempotency-Key": "ap"}
    )
    app = r.json()
    township = as_role("township", VILLAGE[:9], sub="township-chief")
    r = await _act(client, app["id"], township, "reject", reason="材料不全")
    assert r.json()["state"] == "rejected"

    appeal_body = {
        "subject": {"kind": "social_assistance_application", "id": app["id"]},
        "household_id": app["household_id"],
        "region_code": VILLAGE,
        "grounds": "材料已补齐，请复核",
    }
    # someone else's application: not theirs to appeal
    stranger = as_role("citizen", VILLAGE, sub=id_number("19700101", "099"))
    assert (await client.post("/api/v1/appeals", json=appeal_body, headers=stranger)).status_code == 404
    r = await client.post("/api/v1/appeals", json=appeal_body, headers=citizen)
    assert r.status_code == 201, r.text
    appeal = r.json()
    # the township rejected (read from the application's own history): the county reviews
    assert (appeal["decided_level"], appeal["review_level"], appeal["review_region"]) == ("township", "county", COUNTY)
    assert appeal["explanation"]["inputs"]["verified_by"] == "civil_affairs"
    county = as_role("county", COUNTY, sub="reviewer")
    url = f"/api/v1/appeals/{appeal['id']}/transitions"
    assert (await client.post(url, json={"action": "start_review"}, headers=county)).status_code == 200
    clock.set("2026-12-15")
    r = await client.post(
        url, json={"action": "decide", "outcome": "overturned", "reason": "材料齐全，应予受理"}, headers=county
    )
    assert r.status_code == 200, r.text

    got = (await client.get(f"{BASE}/applications/{app['id']}", headers=township)).json()
    assert got["state"] == "submitted"  # rejected on submission: taken again from there
    last = got["history"][-1]
    assert (last["action"], last["from"], last["to"], last["rule"]) == (
        "reopen",
        "rejected",
        "submitted",
        "appeal_overturned",
    )
    assert got["deadline"] == "2027-01-26"  # the township's 30 working days count from the reopening
    r = await _act(client, app["id"], as_role("village", VILLAGE), "accept", note="补齐材料，受理")
    assert r.status_code == 200, r.text
    events = await collect_events(settings.nats_url, "fangfan.social_assistance.application_status_changed.>", count=3)
    assert [(e["data"]["from"], e["data"]["to"], e["data"]["action"]) for e in events] == [
        ("submitted", "rejected", "reject"),
        ("rejected", "submitted", "reopen"),
        ("submitted", "economic_check", "accept"),
    ]
    decided = await collect_events(settings.nats_url, "fangfan.appeal.decided.>", count=1)
    assert [e["data"]["subject_reopened"] for e in decided] == [True]
