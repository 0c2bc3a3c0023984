"""Civil affairs' payment orders over real NATS (`social_assistance.payment_ordered`): each
becomes one decision already `approved`, with the order's funding source, `payment_id` and
reference — however often the order is delivered, even as a second event with a new id; a
township relief above its limit is answered with `subsidy.decision_refused`."""

from __future__ import annotations

import uuid
from typing import Any

from shared.events import Event
from tests.helpers import collect_events

from .conftest import VILLAGE
from .test_consumers import publish, ready, wait_for


def order(kind: str, inputs: dict[str, Any], *, payment_id: str | None = None, **data: Any) -> Event:
    payload = {
        "payment_id": payment_id or str(uuid.uuid4()),
        "household_id": "hh-pay-1",
        "region_code": VILLAGE,
        "kind": kind,
        "period": None if kind == "temporary_relief" else "2020-06",
        "inputs": inputs,
        "funding_source": {"dibao_monthly": "dibao_fund", "tekun_monthly": "tekun_fund"}.get(
            kind, "temporary_relief_fund"
        ),
        "reference": {"kind": "relief_request" if kind == "temporary_relief" else "enrolment", "id": "ref-77"},
        "approved_by": "township-chief-1",
        "approved_role": "township",
        "approved_at": "2020-06-01T09:30:00+08:00",
        "as_of": "2020-06-01",
        **data,
    }
    return Event("social_assistance", "payment_ordered", "hh-pay-1", VILLAGE, payload, source="civil_affairs")


async def test_a_payment_order_sent_twice_records_one_approved_decision(client, as_role, settings) -> None:
    await ready(client)
    pid = str(uuid.uuid4())
    first = order("dibao_monthly", {"per_capita_income_annual": "1800", "members": 2, "months": 1}, payment_id=pid)
    again = order("dibao_monthly", {"per_capita_income_annual": "1800", "members": 2, "months": 1}, payment_id=pid)
    await publish(settings.nats_url, first, times=2)
    await publish(settings.nats_url, again)
    items = await wait_for(client, as_role(), {"household_id": "hh-pay-1"}, 1)
    assert len(items) == 1
    d = items[0]
    assert (d["kind"], d["state"], d["amount"], d["funding_source"]) == (
        "dibao_monthly",
        "approved",
        "500.00",
        "dibao_fund",
    )
    assert d["payment_id"] == pid
    assert d["reference"] == {"kind": "enrolment", "id": "ref-77"}
    assert d["approved_by"] == "township-chief-1"
    assert [h["action"] for h in d["history"]] == ["calculate", "approve"]
    assert d["history"][1]["role"] == "township"
    events = await collect_events(settings.nats_url, "fangfan.subsidy.decision_approved.>", count=1)
    assert events[0]["data"]["payment_id"] == pid
    assert events[0]["data"]["reference"] == {"kind": "enrolment", "id": "ref-77"}
    assert events[0]["data"]["amount"] == "500.00"


async def test_relief_within_and_above_the_township_limit(client, as_role, settings) -> None:
    await ready(client)
    ok = order(
        "temporary_relief", {"amount": "3840.00", "reason": "illness", "approved_level": "township", "limit": "3840.00"}
    )
    over = order(
        "temporary_relief",
        {"amount": "3840.01", "reason": "illness", "approved_level": "township", "limit": "3840.00"},
        household_id="hh-pay-2",
    )
    await publish(settings.nats_url, ok, over)
    items = await wait_for(client, as_role(), {"household_id": "hh-pay-1", "kind": "temporary_relief"}, 1)
    assert [(d["amount"], d["funding_source"], d["state"]) for d in items] == [
        ("3840.00", "temporary_relief_fund", "approved")
    ]
    refused = await collect_events(settings.nats_url, "fangfan.subsidy.decision_refused.>", count=1)
    assert refused[0]["data"]["payment_id"] == over.data["payment_id"]
    assert refused[0]["data"]["reference"] == {"kind": "relief_request", "id": "ref-77"}
    assert "county approval" in refused[0]["data"]["reason"]
    none = (
        await client.get("/api/v1/subsidies/decisions", params={"household_id": "hh-pay-2"}, headers=as_role())
    ).json()
    assert none["items"] == []


async def test_calculate_lists_the_new_kinds(client, as_role) -> None:
    body = {
        "kind": "tekun_monthly",
        "region_code": "341221",
        "as_of": "2020-06-01",
        "inputs": {"persons": 1, "care_level": "full"},
    }
    r = await client.post("/api/v1/subsidies/calculate", json=body, headers=as_role())
    assert r.status_code == 200, r.text
    assert (r.json()["amount"], r.json()["funding_source"]) == ("1120.00", "tekun_fund")
