"""Assistance as a consumer and a producer, live: identification's `household.identified` as
identification really writes it (captured payload, not a hand-made one) opens a plan; a visit
with income is recorded; every event assistance writes conforms and parses to what was done."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from shared import contracts
from shared.contracts.assistance import IncomeUpdated, PlanCreated, VisitRecorded, VisitScheduled
from shared.events import Event
from tests.assistance.integration.conftest import VILLAGE, Service, service, settings
from tests.contract.capture import outbox_events

__all__ = ["service", "settings"]

CAPTURED = json.loads((Path(__file__).parent / "data" / "events" / "captured.json").read_text(encoding="utf-8"))


async def test_a_real_identified_event_opens_a_plan_and_a_visit_records_income(service: Service) -> None:
    contact = await service.add_contact()
    today = service.now[0].date()
    data = dict(
        CAPTURED["household.identified"][0]["data"],
        household_id="hh-contract-1",
        region_code=VILLAGE,
        monitored_since=today.isoformat(),
    )
    await service.publish(Event("household", "identified", "hh-contract-1", VILLAGE, data, source="identification"))
    plan = await service.wait_plan("hh-contract-1")
    r = await service.client.post(
        "/api/v1/visits",
        json={
            "household_id": "hh-contract-1",
            "visited_on": today.isoformat(),
            "findings": "正常",
            "income": {"wage": "12000.50", "transfer": "800"},
        },
        headers=service.headers("township", VILLAGE[:9]),
    )
    assert r.status_code == 201, r.text
    events = await outbox_events(service.ctx)

    assert {ev.type: contracts.validate(ev) for ev in events} == {ev.type: [] for ev in events}
    kinds = Counter(ev.name for ev in events)
    assert (kinds["plan_created"], kinds["visit_scheduled"], kinds["visit_recorded"], kinds["income_updated"]) == (
        1,
        2,
        1,
        1,
    )
    [created] = [contracts.parse(ev, PlanCreated) for ev in events if ev.name == "plan_created"]
    assert (created.plan_id, created.case_id, created.contact_id) == (plan["id"], data["case_id"], contact)
    assert created.due_date == today + dt.timedelta(days=10)
    assert [m.id for m in created.measures] == [m["id"] for m in plan["measures"]]
    first, nxt = [contracts.parse(ev, VisitScheduled) for ev in events if ev.name == "visit_scheduled"]
    [recorded] = [contracts.parse(ev, VisitRecorded) for ev in events if ev.name == "visit_recorded"]
    assert recorded.visit_id == first.visit_id != nxt.visit_id
    assert recorded.next_visit_due == nxt.due_date
    [income] = [contracts.parse(ev, IncomeUpdated) for ev in events if ev.name == "income_updated"]
    assert income.income is not None
    assert (income.income.wage, income.income.transfer, income.wage, income.business) == (
        Decimal("12000.50"),
        Decimal("800"),
        Decimal("12000.50"),
        None,
    )
    assert income.visit_id == recorded.visit_id
