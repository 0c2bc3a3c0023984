"""Identification's events as its use cases really write them (real app, real database, read
back from the outbox): an application walked to monitoring, a household's red mark set and
removed, a monitored household cleared out; each conforms and parses to the use case's values."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from shared import contracts
from shared.contracts.identification import (
    ApplicationSubmitted,
    CaseEvent,
    CaseStatusChanged,
    HouseholdIdentified,
    RiskWarning,
    ScaleFlagged,
)
from tests.contract.capture import outbox_events
from tests.identification.integration.test_cases_support import VILLAGE, Service, application, service

__all__ = ["service"]


async def test_an_application_walked_to_monitoring(service: Service) -> None:
    r = await service.apply(application(), service.headers("village", VILLAGE))
    assert r.status_code == 201, r.text
    body = r.json()
    await service.to_monitored(body["case_id"])
    events = await outbox_events(service.client.app.state.ctx)  # type: ignore[attr-defined]

    assert {ev.type: contracts.validate(ev) for ev in events} == {ev.type: [] for ev in events}
    assert Counter(f"{ev.domain}.{ev.name}" for ev in events) == {
        "application.submitted": 1,
        "case.status_changed": 7,
        "household.identified": 1,
        "risk.scale_flagged": 1,  # the test village's only household: over the 2% threshold
    }
    submitted = contracts.parse(events[0], ApplicationSubmitted)
    assert (submitted.case_id, submitted.household_id, submitted.region_code) == (
        body["case_id"],
        body["household_id"],
        VILLAGE,
    )
    assert isinstance(submitted.at, dt.datetime)
    moves = [contracts.parse(ev, CaseStatusChanged) for ev in events if ev.name == "status_changed"]
    assert [(m.from_, m.to) for m in moves] == [
        (None, "submitted"),
        ("submitted", "verification"),
        ("verification", "village_review"),
        ("village_review", "public_notice"),
        ("public_notice", "township_review"),
        ("township_review", "county_review"),
        ("county_review", "monitored"),
    ]
    assert moves[3].notice_ends_on is not None
    assert moves[0].application_id == body["id"]
    [identified] = [contracts.parse(ev, HouseholdIdentified) for ev in events if ev.name == "identified"]
    assert identified.case_id == body["case_id"]
    assert identified.members == len(application()["household"]["members"])
    assert identified.monitored_since == service.now[0].date()
    [flagged] = [contracts.parse(ev, ScaleFlagged) for ev in events if ev.name == "scale_flagged"]
    assert (flagged.region_code, flagged.village_population, flagged.non_eliminated_monitored) == (VILLAGE, 2, 1)


async def test_a_red_mark_and_its_removal(service: Service) -> None:
    r = await service.apply(application(), service.headers("village", VILLAGE))
    hid = r.json()["household_id"]
    county = service.headers("county", VILLAGE[:6])
    for method in ("POST", "DELETE"):
        r = await service.client.request(
            method, f"/api/v1/households/{hid}/red-mark", json={"reason": "大病"}, headers=county
        )
        assert r.status_code == 200, r.text
    events = [ev for ev in await outbox_events(service.client.app.state.ctx) if ev.domain == "risk"]  # type: ignore[attr-defined]
    assert [ev.name for ev in events] == ["warning_raised", "warning_cleared"]
    warnings = [contracts.parse(ev, RiskWarning) for ev in events]
    assert [(w.household_id, w.region_code, w.manual, w.marked_by_role, w.rules) for w in warnings] == [
        (hid, VILLAGE, True, "county", ["red_mark"]),
        (hid, VILLAGE, True, "county", ["red_unmark"]),
    ]
    assert (warnings[0].warning, warnings[1].previous_warning) == ("red", "red")
    assert all(isinstance(w.at, dt.datetime) and w.explanations for w in warnings)


async def test_a_monitored_household_cleared_out(service: Service) -> None:
    r = await service.apply(application(), service.headers("village", VILLAGE))
    body = r.json()
    await service.to_monitored(body["case_id"])
    r = await service.act(body["case_id"], service.headers("province", "34"), action="clear", reason="识别有误")
    assert r.status_code == 200, r.text
    events = await outbox_events(service.client.app.state.ctx)  # type: ignore[attr-defined]
    assert [contracts.validate(ev) for ev in events] == [[]] * len(events)
    [cleared] = [contracts.parse(ev, CaseEvent) for ev in events if (ev.domain, ev.name) == ("risk", "cleared")]
    assert (cleared.case_id, cleared.household_id, cleared.state, cleared.procedure) == (
        body["case_id"],
        body["household_id"],
        "cleared",
        "identification",
    )
    moves = [contracts.parse(ev, CaseStatusChanged) for ev in events if ev.name == "status_changed"]
    assert (moves[-1].from_, moves[-1].to, moves[-1].action, moves[-1].role) == (
        "monitored",
        "cleared",
        "clear",
        "province",
    )
