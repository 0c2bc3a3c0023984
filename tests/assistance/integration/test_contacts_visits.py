"""Contact roster (encrypted, masked, least-loaded assignment, reassignment with history, another
village → 409) and visits (future date → 422, schedule, income_updated event)."""

from __future__ import annotations

import sqlalchemy as sa

from services.assistance.adapters.orm import contacts
from tests.assistance.integration.conftest import OTHER_VILLAGE, TOWNSHIP, VILLAGE, Service
from tests.helpers import collect_events


async def test_roster_is_encrypted_masked_and_least_loaded_assignment(service: Service) -> None:
    a = await service.add_contact(name="王小明", phone="13812345678")
    b = await service.add_contact(name="赵大", phone="13900001111")
    first = await service.identified_plan()
    second = await service.identified_plan()
    third = await service.identified_plan()
    assigned = [p["contact_person"]["id"] for p in (first, second, third)]
    low = min(a, b)
    assert assigned == [low, max(a, b), low]  # least-loaded, ties by id

    r = await service.client.get("/api/v1/contacts", params={"region": VILLAGE}, headers=service.headers())
    items = {c["id"]: c for c in r.json()["items"]}
    assert items[a]["name"] == "王**"
    assert items[a]["phone"] == "138****5678"
    assert items[low]["households"] == 2
    async with service.ctx.engine.connect() as conn:
        blob = (await conn.execute(sa.select(contacts.c.name_enc).where(contacts.c.id == a))).scalar_one()
    assert "王小明".encode() not in blob


async def test_reassignment_keeps_history_and_refuses_another_village(service: Service) -> None:
    a = await service.add_contact()
    b = await service.add_contact(name="钱七")
    far = await service.add_contact(region=OTHER_VILLAGE, name="孙八")
    plan = await service.identified_plan()
    assert plan["contact_person"]["id"] == min(a, b)
    target = max(a, b)
    url = f"/api/v1/plans/{plan['id']}/contact"
    r = await service.client.post(url, json={"contact_id": target, "reason": "工作调整"}, headers=service.headers())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["contact_person"]["id"] == target
    assert [h["contact_id"] for h in body["contact_history"]] == [min(a, b), target]
    assert body["contact_history"][1]["previous_contact_id"] == min(a, b)
    r = await service.client.post(
        url, json={"contact_id": far, "reason": "x"}, headers=service.headers("township", TOWNSHIP)
    )
    assert r.status_code == 409
    assert r.json()["code"] == "contact_other_village"
    # a visit by a contact person of another village is refused the same way
    r = await service.client.post(
        "/api/v1/visits",
        json={"household_id": plan["household_id"], "visited_on": "2024-03-04", "contact_id": far, "findings": "x"},
        headers=service.headers("township", TOWNSHIP),
    )
    assert r.status_code == 409
    assert r.json()["code"] == "contact_other_village"


async def test_contact_outside_scope_is_404_and_bad_village_code_is_422(service: Service) -> None:
    r = await service.client.post(
        "/api/v1/contacts", json={"region_code": OTHER_VILLAGE, "name": "x"}, headers=service.headers()
    )
    assert r.status_code == 404
    r = await service.client.post(
        "/api/v1/contacts", json={"region_code": "3412", "name": "x"}, headers=service.headers("county", "341221")
    )
    assert r.status_code == 422


async def test_visit_in_the_future_is_422(service: Service) -> None:
    plan = await service.identified_plan()
    r = await service.client.post(
        "/api/v1/visits",
        json={"household_id": plan["household_id"], "visited_on": "2024-03-05", "findings": "入户走访"},
        headers=service.headers(),
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["path"] == "visited_on"


async def test_visit_moves_schedule_and_publishes_income(service: Service) -> None:
    await service.add_contact()
    plan = await service.identified_plan()
    hid = plan["household_id"]
    service.advance_days(40)  # 2024-04-13: the April 4 visit is overdue
    r = await service.client.get("/api/v1/visits/overdue", params={"region": VILLAGE}, headers=service.headers())
    [late] = r.json()["items"]
    assert late["household_id"] == hid
    assert late["days_overdue"] == 9
    r = await service.client.post(
        "/api/v1/visits",
        json={
            "household_id": hid,
            "visited_on": "2024-04-12",
            "findings": "病情稳定，务工收入恢复",
            "income": {"wage": "12000.50", "transfer": "800"},
            "attachments": ["file://visits/2024-04-12-photo-1"],
        },
        headers=service.headers("contact", VILLAGE),
    )
    assert r.status_code == 201, r.text
    visit = r.json()
    assert visit["next_visit_due"] == "2024-05-12"
    assert visit["contact_id"] == plan["contact_person"]["id"]
    [ev] = await collect_events(service.nats_url, "fangfan.assistance.income_updated.>", count=1)
    assert ev["data"]["household_id"] == hid
    assert ev["data"]["visit_id"] == visit["id"]
    assert ev["data"]["wage"] == "12000.50"
    assert ev["data"]["income"] == {"wage": "12000.50", "transfer": "800"}
    r = await service.client.get("/api/v1/visits/overdue", params={"region": VILLAGE}, headers=service.headers())
    assert r.json()["items"] == []
    r = await service.client.get(
        "/api/v1/visits/due", params={"contact": plan["contact_person"]["id"]}, headers=service.headers()
    )
    [due] = r.json()["items"]
    assert due["due_date"] == "2024-05-12"
    assert due["overdue"] is False
    r = await service.client.get("/api/v1/visits", params={"household_id": hid}, headers=service.headers())
    assert r.json()["items"][0]["attachments"] == ["file://visits/2024-04-12-photo-1"]
