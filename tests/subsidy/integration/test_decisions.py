"""Decisions: snapshot and states (calculated → approved → paid, or rejected), who and when at
each step, `Idempotency-Key`, and the rules across decisions (one-off, caps, annual caps)."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from services.subsidy.adapters.orm import infra
from shared.db import utcnow
from tests.helpers import collect_events

from .conftest import COUNTY, VILLAGE

URL = "/api/v1/subsidies/decisions"
FUNAN_VILLAGE = "341225001001"


def decision(kind: str, inputs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"kind": kind, "region_code": VILLAGE, "as_of": "2020-06-01", "inputs": inputs, **kw}


def transport(person: str = "person-1", **kw: Any) -> dict[str, Any]:
    inputs = {"person_id": person, "work_location": "out_of_province", "contract_months": 12, "social_insurance": True}
    return decision("transport_allowance", inputs, **kw)


def hires(enterprise: str, prefix: str, n: int) -> dict[str, Any]:
    people = [{"person_id": f"{prefix}-{i}", "contract_months": 12, "poor_laborer": True} for i in range(n)]
    return decision("enterprise_employment_reward", {"enterprise_id": enterprise, "hires": people})


async def post(client: Any, headers: dict[str, str], body: dict[str, Any], key: str | None = None) -> Any:
    return await client.post(URL, json=body, headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())})


async def test_record_approve_pay_with_who_and_when(client, as_role, settings) -> None:
    officer = as_role("township", "341221001", sub="officer-7")
    r = await post(client, officer, transport(household_id="hh-1", note="placed by the county job fair"))
    assert r.status_code == 201, r.text
    d = r.json()
    assert r.headers["location"].endswith(d["id"])
    assert d["state"] == "calculated"
    assert d["amount"] == d["calculated_amount"] == "500.00"
    assert d["subject_id"] == "person-1"
    assert d["policy"]["id"] == "linquan-employment-2020"
    assert d["inputs"]["work_location"] == "out_of_province"
    assert d["created_by"] == "officer-7"
    assert d["history"][0]["to"] == "calculated"

    r = await client.post(f"{URL}/{d['id']}/approve", headers=officer)
    assert r.status_code == 403
    county = as_role("county", COUNTY, sub="chief-1")
    r = await client.post(f"{URL}/{d['id']}/pay", headers=county)
    assert r.status_code == 409
    assert r.json()["code"] == "invalid_transition"
    r = await client.post(f"{URL}/{d['id']}/approve", json={"note": "checked"}, headers=county)
    assert r.status_code == 200, r.text
    assert r.json()["approved_by"] == "chief-1"
    assert r.json()["approved_at"]
    r = await client.post(f"{URL}/{d['id']}/pay", headers=as_role("province", "34", sub="treasury"))
    assert r.status_code == 200
    paid = r.json()
    assert paid["state"] == "paid"
    assert paid["paid_by"] == "treasury"
    assert [(s["action"], s["by"]) for s in paid["history"]] == [
        ("calculate", "officer-7"),
        ("approve", "chief-1"),
        ("pay", "treasury"),
    ]
    assert (await client.get(f"{URL}/{d['id']}", headers=officer)).json() == paid

    events = await collect_events(settings.nats_url, "fangfan.subsidy.>", count=3)
    assert [e["type"] for e in events] == [
        "cn.fangfan.subsidy.decision_calculated.v1",
        "cn.fangfan.subsidy.decision_approved.v1",
        "cn.fangfan.subsidy.decision_paid.v1",
    ]
    data = events[-1]["data"]
    assert data["decision_id"] == d["id"]
    assert data["amount"] == "500.00"
    assert data["subject_ref"] == "person-1"
    assert data["household_id"] == "hh-1"
    assert data["policy_id"] == "linquan-employment-2020"
    assert events[0]["subject"] == "hh-1"
    assert events[0]["region"] == VILLAGE


async def test_reject_needs_a_reason_and_frees_the_one_off(client, as_role) -> None:
    county = as_role()
    first = (await post(client, county, transport("p-r"))).json()
    r = await client.post(f"{URL}/{first['id']}/reject", json={}, headers=county)
    assert r.status_code == 422
    r = await client.post(f"{URL}/{first['id']}/reject", json={"reason": "contract not signed"}, headers=county)
    assert r.status_code == 200
    assert r.json()["state"] == "rejected"
    assert r.json()["rejection_reason"] == "contract not signed"
    assert r.json()["rejected_by"]
    again = await post(client, county, transport("p-r"))
    assert again.status_code == 201


async def test_one_off_twice_names_the_first_decision(client, as_role) -> None:
    first = (await post(client, as_role(), transport("p-once"))).json()
    r = await post(client, as_role(), transport("p-once", as_of="2020-09-01"))
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "already_granted"
    assert first["id"] in body["detail"]
    assert body["decision_ids"] == [first["id"]]


async def test_enterprise_cap_holds_across_requests(client, as_role) -> None:
    a = (await post(client, as_role(), hires("ent-1", "a", 15))).json()  # 30,000
    assert a["amount"] == "30000.00"
    b = (await post(client, as_role(), hires("ent-1", "b", 10))).json()  # 20,000 → 10,000 left
    assert b["calculated_amount"] == "20000.00"
    assert b["amount"] == "10000.00"
    assert any(x["rule"] == "enterprise_cap_across_requests" for x in b["explanations"])
    r = await post(client, as_role(), hires("ent-1", "c", 1))
    assert r.status_code == 409
    assert r.json()["code"] == "cap_reached"
    r = await post(client, as_role(), hires("ent-1", "a", 1))  # a-0 was rewarded already
    assert r.status_code == 409
    assert r.json()["code"] == "person_already_rewarded"


async def test_medical_assistance_annual_cap(client, as_role) -> None:
    funan = as_role("county", "341225")

    def medical(oop: str, as_of: str) -> dict[str, Any]:
        inputs = {"person_id": "m-1", "compliant_oop": oop, "in_province": True, "tiered_referral": True}
        return {**decision("medical_assistance", inputs, as_of=as_of), "region_code": FUNAN_VILLAGE}

    a = (await post(client, funan, medical("16000", "2020-03-01"))).json()
    assert a["amount"] == "8000.00"
    b = (await post(client, funan, medical("10000", "2020-08-01"))).json()
    assert b["amount"] == "2000.00"
    r = await post(client, funan, medical("1000", "2020-11-01"))
    assert r.status_code == 409
    assert r.json()["code"] == "cap_reached"
    c = (await post(client, funan, medical("1000", "2021-01-15"))).json()
    assert c["amount"] == "500.00"


async def test_idempotency_key(client, as_role, settings) -> None:
    officer = as_role(sub="officer-a")
    key = "key-1"
    r1 = await post(client, officer, transport("p-idem"), key)
    r2 = await post(client, officer, transport("p-idem"), key)
    assert r1.status_code == r2.status_code == 201
    assert r2.json() == r1.json()
    assert r2.headers["idempotent-replayed"] == "true"
    r3 = await post(client, officer, transport("p-other"), key)
    assert r3.status_code == 422
    assert r3.json()["code"] == "idempotency_key_reused"
    # Keys are per caller: another officer's "key-1" is their own (and here hits the one-off rule).
    r4 = await post(client, as_role(sub="officer-b"), transport("p-idem"), key)
    assert r4.status_code == 409
    assert r4.json()["code"] == "already_granted"
    r5 = await post(client, as_role(sub="officer-b"), transport("p-idem"), key)
    assert r5.json() == r4.json()  # a refusal replays too
    r = await client.get(URL, params={"subject_id": "p-idem"}, headers=officer)
    assert len(r.json()["items"]) == 1
    # without a key (DESIGN.md does not ask for one) the decision is recorded, and nothing is
    # replayed: the same body again is a second request, here refused by the one-off rule
    r = await client.post(URL, json=transport("p-x"), headers=officer)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{URL}/{r.json()['id']}"
    assert "idempotent-replayed" not in r.headers
    again = await client.post(URL, json=transport("p-x"), headers=officer)
    assert again.status_code == 409
    assert again.json()["code"] == "already_granted"


async def test_a_duplicate_while_the_first_runs_is_409(client, as_role) -> None:
    officer = as_role(sub="officer-c")
    body = transport("p-running")
    from shared.auth import Principal
    from shared.idempotency import request_hash, scope_for

    ctx = client.app.state.ctx
    async with ctx.uow() as uow:  # the first request has reserved the key and is still working
        await uow.session.execute(
            sa.insert(infra["idempotency_keys"]).values(
                scope=scope_for("subsidy.decisions", Principal(sub="officer-c", role="county", region="341221")),
                key="busy",
                request_hash=request_hash(body),
                status=None,
                response=None,
                created_at=utcnow(),
            )
        )
        await uow.commit()
    r = await post(client, officer, body, "busy")
    assert r.status_code == 409
    assert r.json()["code"] == "idempotency_in_progress"


async def test_concurrent_duplicates_record_one_decision(client, as_role) -> None:
    officer = as_role(sub="officer-d")
    rs = await asyncio.gather(*(post(client, officer, transport("p-dup"), "same") for _ in range(8)))
    assert {r.status_code for r in rs} <= {201, 409}
    ids = {r.json()["id"] for r in rs if r.status_code == 201}
    assert len(ids) == 1
    listed = (await client.get(URL, params={"subject_id": "p-dup"}, headers=officer)).json()["items"]
    assert len(listed) == 1


async def test_parallel_requests_never_break_the_enterprise_cap(client, as_role) -> None:
    county = as_role()
    rs = await asyncio.gather(*(post(client, county, hires("ent-par", f"w{i}", 3)) for i in range(20)))
    assert {r.status_code for r in rs} <= {201, 409}
    created = [r.json() for r in rs if r.status_code == 201]
    assert sum(Decimal(d["amount"]) for d in created) == Decimal("40000.00")
    for d in created:
        r = await client.post(f"{URL}/{d['id']}/approve", headers=county)
        assert r.status_code == 200
    report = (await client.get("/api/v1/subsidies/reports", params={"group_by": "kind"}, headers=county)).json()
    row = next(x for x in report["rows"] if x["key"] == "enterprise_employment_reward")
    assert Decimal(row["approved"]) == Decimal("40000.00")


async def test_jurisdiction_and_listing(client, as_role) -> None:
    d = (await post(client, as_role(), transport("p-list", household_id="hh-9"))).json()
    other = as_role("township", "341221002")
    assert (await client.get(f"{URL}/{d['id']}", headers=other)).status_code == 404
    assert (await client.post(f"{URL}/{d['id']}/approve", headers=as_role("county", "341225"))).status_code == 404
    assert (await client.get(URL, headers=other)).json()["items"] == []
    r = await client.get(URL, params={"household_id": "hh-9", "state": "calculated"}, headers=as_role())
    assert [x["id"] for x in r.json()["items"]] == [d["id"]]
    r = await client.get(URL, params={"kind": "medical_assistance"}, headers=as_role())
    assert r.json()["items"] == []
    assert (await client.get(URL, params={"region": "341225"}, headers=as_role())).status_code == 404


async def test_resident_id_numbers_are_refused(client, as_role) -> None:
    r = await post(client, as_role(), transport("11010519491231002X"))
    assert r.status_code == 422
    assert r.json()["code"] == "personal_data"
    assert r.json()["errors"][0]["path"] == "inputs.person_id"


async def test_a_decision_needs_its_subject(client, as_role) -> None:
    body = decision("public_welfare_post", {"annual_wage": "5000"})
    r = await post(client, as_role(), body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "inputs.person_id"
