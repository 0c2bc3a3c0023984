"""Temporary relief over HTTP on a real database and NATS: a township approves within its limit
and the payment order goes out as `social_assistance.payment_ordered`; above the limit it needs
the county; relief first with its paperwork deadline; rejection with a reason; citizens see their
own requests; subsidy's answer marks the order recorded (or refused)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

import httpx
import nats
import sqlalchemy as sa

from services.civil_affairs.adapters.orm_relief import relief_requests
from shared.events import Event, encode_event
from shared.settings import Settings
from tests.civil_affairs.integration.programmes_support import id_number
from tests.helpers import collect_events

from .conftest import VILLAGE

URL = "/api/v1/social-assistance/relief"
TOWNSHIP = VILLAGE[:9]


def request(amount: str = "1500.00", **kw: Any) -> dict[str, Any]:
    return {"region_code": VILLAGE, "household_id": "hh-r1", "reason": "illness", "amount": amount, **kw}


async def submit(client: httpx.AsyncClient, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    r = await client.post(URL, json=request(**kw), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def act(client: httpx.AsyncClient, rid: str, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post(f"{URL}/{rid}/actions", json=body, headers=headers)


async def test_township_approves_within_its_limit_and_orders_the_payment(
    client: httpx.AsyncClient, as_role: Any, settings: Settings
) -> None:
    township = as_role("township", TOWNSHIP, sub="township-chief")
    created = await submit(client, as_role("village", VILLAGE), amount="3840.00")
    assert created["state"] == "submitted"
    assert created["township_limit"] == "3840.00"  # 6 × 640 (Linquan placeholder)
    assert created["explanations"][0]["inputs"] == {
        "relief_township_limit_multiple": "6",
        "dibao_standard_urban_monthly": "640.00",
        "township_limit": "3840.00",
        "policy_id": "linquan-relief-placeholder",
        "policy_version": "0-placeholder",
    }
    r = await client.get(f"{URL}/{created['id']}", headers=township)
    assert r.json()["allowed_actions"] == ["approve", "refer_to_county", "relief_first", "reject"]
    r = await act(client, created["id"], township, action="approve")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["state"], body["approved_amount"], body["approved_level"]) == ("approved", "3840.00", "township")
    assert body["allowed_actions"] == []
    assert [p["status"] for p in body["payments"]] == ["ordered"]
    events = await collect_events(settings.nats_url, "fangfan.social_assistance.payment_ordered.>", count=1)
    ev = events[0]
    assert ev["type"] == "cn.fangfan.social_assistance.payment_ordered.v1"
    assert ev["subject"] == "hh-r1"
    data = ev["data"]
    assert data["payment_id"] == body["payments"][0]["payment_id"]
    assert data["inputs"] == {
        "amount": "3840.00",
        "reason": "illness",
        "approved_level": "township",
        "limit": "3840.00",
    }
    assert (data["kind"], data["funding_source"], data["period"]) == ("temporary_relief", "temporary_relief_fund", None)
    assert data["reference"] == {"kind": "relief_request", "id": created["id"]}
    assert (data["approved_by"], data["approved_role"]) == ("township-chief", "township")


async def test_above_the_limit_the_county_approves(client: httpx.AsyncClient, as_role: Any) -> None:
    township = as_role("township", TOWNSHIP)
    created = await submit(client, township, amount="3840.01")
    r = await client.get(f"{URL}/{created['id']}", headers=township)
    assert "approve" not in r.json()["allowed_actions"]
    r = await act(client, created["id"], township, action="approve")
    assert r.status_code == 409
    assert r.json()["code"] == "above_township_limit"
    r = await act(client, created["id"], township, action="refer_to_county")
    assert r.json()["state"] == "county_review"
    r = await act(client, created["id"], township, action="approve")
    assert (r.status_code, r.json()["code"]) == (403, "county_approval_needed")
    r = await act(client, created["id"], as_role("county"), action="approve")
    assert r.status_code == 200, r.text
    assert (r.json()["approved_amount"], r.json()["approved_level"]) == ("3840.01", "county")
    assert [h["action"] for h in r.json()["history"]] == ["submit", "refer_to_county", "approve"]


async def test_relief_first_then_paperwork_and_the_overdue_list(client: httpx.AsyncClient, as_role: Any) -> None:
    township = as_role("township", TOWNSHIP)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    created = await submit(client, township, amount="2500.00")
    r = await act(client, created["id"], township, action="relief_first", amount="1000.00")
    assert r.status_code == 200, r.text
    body = r.json()
    due = dt.date.fromisoformat(body["deadlines"]["paperwork_due_on"])
    assert due == ctx.today() + dt.timedelta(days=10)
    assert (body["state"], body["approved_amount"], body["deadlines"]["paperwork_overdue"]) == (
        "relief_first",
        "1000.00",
        False,
    )
    assert body["allowed_actions"] == ["complete_paperwork"]
    r = await act(client, created["id"], township, action="relief_first", amount="1000.00")
    assert r.status_code == 409
    # eleven days later the paperwork is overdue
    later = ctx.now() + dt.timedelta(days=11)
    ctx.clock = lambda: later
    try:
        r = await client.get(URL, params={"overdue": "true"}, headers=township)
        assert [i["id"] for i in r.json()["items"]] == [created["id"]]
        assert r.json()["items"][0]["deadlines"]["paperwork_overdue"] is True
        r = await act(
            client,
            created["id"],
            township,
            action="complete_paperwork",
            paperwork={"economic_check_ref": "check-17", "verification_record": "visited 3 June, hospital bill seen"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "paperwork_complete"
        assert r.json()["history"][-1]["late"] is True
    finally:
        ctx.clock = None


async def test_rejection_needs_a_reason_and_citizens_see_their_own(client: httpx.AsyncClient, as_role: Any) -> None:
    me = id_number("19800101", "011")
    citizen = as_role("citizen", VILLAGE, sub=me)
    other = as_role("citizen", VILLAGE, sub=id_number("19800101", "022"))
    created = await submit(
        client, citizen, household_id=None, household={"members": 3, "note": "flooded house"}, reason="disaster"
    )
    assert created["allowed_actions"] == []
    # the citizen's resident ID number is neither stored nor shown: a blind index, a masked label
    assert created["submitted_by"] == "citizen"
    assert created["history"][0]["by"] == "citizen:" + me[:6] + "********" + me[-4:]
    async with client.app.state.ctx.sessions() as s:  # type: ignore[attr-defined]
        stored = (await s.execute(sa.select(relief_requests))).one()._asdict()
    assert me not in json.dumps(stored, default=str)
    assert stored["submitted_by"].startswith("citizen:")
    assert (await client.get(f"{URL}/{created['id']}", headers=other)).status_code == 404
    assert [i["id"] for i in (await client.get(URL, headers=citizen)).json()["items"]] == [created["id"]]
    assert (await act(client, created["id"], citizen, action="approve")).status_code == 403
    township = as_role("township", TOWNSHIP)
    r = await act(client, created["id"], township, action="reject")
    assert (r.status_code, r.json()["errors"][0]["path"]) == (422, "reason")
    r = await act(client, created["id"], township, action="reject", reason="covered by disaster relief")
    assert (r.json()["state"], r.json()["rejection_reason"]) == ("rejected", "covered by disaster relief")
    # outside the township: 404
    assert (await client.get(f"{URL}/{created['id']}", headers=as_role("township", "341221002"))).status_code == 404

    # the citizen appeals the rejection; the county overturns it: the request is decided again
    body = {
        "subject": {"kind": "relief_request", "id": created["id"]},
        "household_id": "hh-flooded",
        "region_code": VILLAGE,
        "grounds": "房屋被淹属实，请复核",
    }
    assert (await client.post("/api/v1/appeals", json=body, headers=other)).status_code == 404
    r = await client.post("/api/v1/appeals", json=body, headers=citizen)
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert (appeal["decided_level"], appeal["review_level"]) == ("township", "county")
    county = as_role("county", VILLAGE[:6])
    for step in ({"action": "start_review"}, {"action": "decide", "outcome": "overturned", "reason": "属实"}):
        r = await client.post(f"/api/v1/appeals/{appeal['id']}/transitions", json=step, headers=county)
        assert r.status_code == 200, r.text
    again = (await client.get(f"{URL}/{created['id']}", headers=township)).json()
    assert (again["state"], again["rejection_reason"], again["history"][-1]["action"]) == ("submitted", None, "reopen")
    assert again["history"][-1]["appeal_id"] == appeal["id"]
    assert "approve" in again["allowed_actions"]


async def test_bad_requests(client: httpx.AsyncClient, as_role: Any) -> None:
    h = as_role("township", TOWNSHIP)
    r = await client.post(URL, json=request(amount="10.001"), headers=h)
    assert r.status_code == 422
    r = await client.post(URL, json={**request(), "state": "approved"}, headers=h)
    assert r.status_code == 422
    r = await client.post(URL, json={**request(), "household": {"members": 2}}, headers=h)
    assert r.status_code == 422  # household_id and household both
    r = await client.post(URL, json=request(region_code="341225001001"), headers=as_role("county", "341225"))
    assert (r.status_code, r.json()["code"]) == (422, "policy_not_found")
    r = await client.get(f"{URL}/limit", params={"region_code": "341221"}, headers=h)
    assert r.status_code == 404  # the county is above the township's reach
    r = await client.get(f"{URL}/limit", params={"region_code": TOWNSHIP}, headers=h)
    assert (r.json()["township_limit"], r.json()["relief_first_max"], r.json()["paperwork_days"]) == (
        "3840.00",
        "1000.00",
        10,
    )


async def _publish(url: str, ev: Event) -> None:
    nc = await nats.connect(url)
    try:
        subject, payload = encode_event(ev)
        await nc.jetstream().publish(subject, payload)
    finally:
        await nc.close()


async def test_subsidy_answer_marks_the_order(client: httpx.AsyncClient, as_role: Any, settings: Settings) -> None:
    township = as_role("township", TOWNSHIP)
    created = await submit(client, township, amount="800.00")
    body = (await act(client, created["id"], township, action="approve")).json()
    pid = body["payments"][0]["payment_id"]
    await client.app.state.ctx.link.wait_ready(10)  # type: ignore[attr-defined]
    answer = Event(
        "subsidy",
        "decision_approved",
        "hh-r1",
        VILLAGE,
        {
            "decision_id": "dec-1",
            "kind": "temporary_relief",
            "state": "approved",
            "amount": "800.00",
            "payment_id": pid,
            "reference": {"kind": "relief_request", "id": created["id"]},
        },
        source="subsidy",
    )
    await _publish(settings.nats_url, answer)
    deadline = time.monotonic() + 15
    payment: dict[str, Any] = {}
    while time.monotonic() < deadline:
        payment = (await client.get(f"{URL}/{created['id']}", headers=township)).json()["payments"][0]
        if payment["status"] != "ordered":
            break
        await asyncio.sleep(0.1)
    assert (payment["status"], payment["decision_id"], payment["recorded_amount"]) == ("recorded", "dec-1", "800.00")


async def test_a_county_version_added_at_run_time_sets_the_township_limit(
    client: httpx.AsyncClient, as_role: Any
) -> None:
    admin = as_role("admin", "")
    body = {
        "service": "civil_affairs",
        "region_prefix": VILLAGE[:6],
        "effective_from": "2020-06-01",
        "source": "临泉县 临时救助实施细则 (test)",
        "parameters": {
            "relief_township_limit_multiple": {"value": 4, "source": "细则 §7: 乡镇审批额度为城市低保标准的4倍"},
            "dibao_standard_urban_monthly": {"value": "655.50", "source": "县民政局 低保标准通知 (test)"},
        },
    }
    r = await client.post("/api/v1/admin/policies", json=body, headers=admin)
    assert r.status_code == 201, r.text
    added = r.json()
    too_high = {**body, "parameters": {"relief_township_limit_multiple": 7}}
    r = await client.post("/api/v1/admin/policies", json=too_high, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "parameters.relief_township_limit_multiple"

    county = as_role("county", VILLAGE[:6])
    r = await client.get(f"{URL}/limit", params={"region_code": VILLAGE}, headers=county)
    assert r.status_code == 200, r.text
    assert r.json()["township_limit"] == "2622.00"  # 4 × 655.50
    created = await submit(client, as_role("village", VILLAGE), amount="2622.01")
    assert created["township_limit"] == "2622.00"
    inputs = created["explanations"][0]["inputs"]
    assert (inputs["policy_id"], inputs["relief_township_limit_multiple"]) == (added["id"], "4")
    township = as_role("township", TOWNSHIP)
    r = await client.get(f"{URL}/{created['id']}", headers=township)
    assert "approve" not in r.json()["allowed_actions"]  # one fen above the township's limit
