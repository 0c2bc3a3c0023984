"""The contract with notification: plan and visit events carry the contact person's inbox address
(`contact_person_sub_hash`, the blind index of `contact:<token sub>`, never a name or number);
`visit_scheduled` announces the id the next visit is recorded under, `visit_recorded` reports
it, a reassignment or a newly linked account announces the same visit again, a clear-out
cancels it."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from services.assistance.adapters.background import run_sweep
from services.assistance.adapters.orm import plans
from services.notification.application.common import subject_hash
from shared.events import Event
from tests.assistance.integration.conftest import COUNTY, TOWNSHIP, VILLAGE, Service
from tests.helpers import collect_events


async def _events(service: Service, name: str, count: int) -> list[dict[str, Any]]:
    return await collect_events(service.nats_url, f"fangfan.assistance.{name}.>", count=count, timeout=3)


async def _next_visit_id(service: Service, plan_id: str) -> str:
    async with service.ctx.engine.connect() as conn:
        return str((await conn.execute(sa.select(plans.c.next_visit_id).where(plans.c.id == plan_id))).scalar_one())


async def _contact_with_account(service: Service, sub: str, name: str = "王小明") -> str:
    r = await service.client.post(
        "/api/v1/contacts",
        json={"region_code": VILLAGE, "name": name, "phone": "13812345678", "sub": sub},
        headers=service.headers("township", TOWNSHIP),
    )
    assert r.status_code == 201, r.text
    assert r.json()["has_account"] is True
    assert sub not in r.text
    return str(r.json()["id"])


async def test_plan_and_visit_events_address_the_contact_person(service: Service) -> None:
    await _contact_with_account(service, "contact-user-7")
    expected = service.ctx.cipher.blind_index("contact:contact-user-7")
    # the very hashing notification files a contact person's inbox items under
    assert expected == subject_hash(service.ctx.cipher, "contact", "contact-user-7")

    plan = await service.identified_plan()
    [created] = await _events(service, "plan_created", 2)
    assert created["data"]["contact_person_sub_hash"] == expected
    [scheduled] = await _events(service, "visit_scheduled", 2)
    announced = await _next_visit_id(service, plan["id"])
    assert scheduled["data"] == {
        "visit_id": announced,
        "plan_id": plan["id"],
        "household_id": plan["household_id"],
        "region_code": VILLAGE,
        "due_date": plan["next_visit_due"],
        "contact_id": plan["contact_person"]["id"],
        "contact_person_sub_hash": expected,
    }
    for ev in (created, scheduled):
        raw = json.dumps(ev, ensure_ascii=False)
        assert "王小明" not in raw
        assert "13812345678" not in raw
        assert "contact-user-7" not in raw

    # the visit is recorded under the announced id; the next one is announced
    r = await service.client.post(
        "/api/v1/visits",
        json={"household_id": plan["household_id"], "visited_on": "2024-03-04", "findings": "正常"},
        headers=service.headers("contact", VILLAGE, sub="contact-user-7"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["id"] == announced
    [recorded] = await _events(service, "visit_recorded", 2)
    assert recorded["data"]["visit_id"] == announced
    assert recorded["data"]["plan_id"] == plan["id"]
    assert recorded["data"]["next_visit_due"] == "2024-04-04"
    scheduled = await _events(service, "visit_scheduled", 3)
    assert len(scheduled) == 2
    nxt = scheduled[1]["data"]
    assert nxt["visit_id"] == await _next_visit_id(service, plan["id"]) != announced
    assert nxt["due_date"] == "2024-04-04"
    assert nxt["contact_person_sub_hash"] == expected

    # overdue alerts carry the address too
    service.advance_days(40)
    counts = await run_sweep(service.ctx)
    assert counts.plan_overdue == 1
    assert counts.visit_overdue == 1
    [late_plan] = await _events(service, "plan_overdue", 2)
    [late_visit] = await _events(service, "visit_overdue", 2)
    assert late_plan["data"]["contact_person_sub_hash"] == expected
    assert late_visit["data"]["contact_person_sub_hash"] == expected
    assert late_visit["data"]["visit_id"] == nxt["visit_id"]


async def test_reassignment_account_link_and_clear_out(service: Service) -> None:
    first = await service.add_contact(name="赵大")  # no account yet
    plan = await service.identified_plan()
    assert plan["contact_person"]["id"] == first
    [created] = await _events(service, "plan_created", 2)
    assert created["data"]["contact_person_sub_hash"] is None
    visit_id = await _next_visit_id(service, plan["id"])

    # linking the account announces the visit again, now with the address
    r = await service.client.put(
        f"/api/v1/contacts/{first}/account", json={"sub": "zhao-da"}, headers=service.headers()
    )
    assert r.status_code == 200, r.text
    assert r.json()["has_account"] is True
    # a contact person may not link accounts
    r = await service.client.put(
        f"/api/v1/contacts/{first}/account", json={"sub": "x"}, headers=service.headers("contact", VILLAGE)
    )
    assert r.status_code == 403

    second = await _contact_with_account(service, "qian-qi", name="钱七")
    r = await service.client.post(
        f"/api/v1/plans/{plan['id']}/contact",
        json={"contact_id": second, "reason": "工作调整"},
        headers=service.headers(),
    )
    assert r.status_code == 200, r.text
    scheduled = [e["data"] for e in await _events(service, "visit_scheduled", 4)]
    assert [(s["visit_id"], s["contact_id"]) for s in scheduled] == [
        (visit_id, first),
        (visit_id, first),
        (visit_id, second),
    ]
    cipher = service.ctx.cipher
    assert [s["contact_person_sub_hash"] for s in scheduled] == [
        None,
        cipher.blind_index("contact:zhao-da"),
        cipher.blind_index("contact:qian-qi"),
    ]

    # cleared out (清退): no more visits, the announced one is cancelled
    await service.publish(
        _case_status(plan["household_id"], "cleared"),
    )
    [cancelled] = await collect_events(service.nats_url, "fangfan.assistance.visit_cancelled.>", count=1, timeout=10)
    assert cancelled["data"]["visit_id"] == visit_id
    assert cancelled["data"]["reason"] == "cleared"
    r = await service.client.get(
        "/api/v1/plans", params={"household_id": plan["household_id"]}, headers=service.headers("county", COUNTY)
    )
    assert r.json()["items"][0]["next_visit_due"] is None


def _case_status(household_id: str, to: str) -> Event:
    return Event(
        "case",
        "status_changed",
        f"case-{household_id}",
        VILLAGE,
        {"case_id": f"case-{household_id}", "household_id": household_id, "from": "monitored", "to": to},
        source="identification",
    )
