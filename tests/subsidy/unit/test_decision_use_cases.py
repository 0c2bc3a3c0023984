"""Decision use cases against an in-memory unit of work (tests/subsidy/unit/fake_work.py): record
under the subject lock, the one-off rule across decisions, approve with a stale version, no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from services.subsidy.application.decisions import (
    DecisionCommand,
    ListDecisions,
    StepDecision,
    decide,
    list_decisions,
    transition,
)
from services.subsidy.domain import DecisionAction
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Unprocessable
from tests.subsidy.unit.fake_work import FakeWork

VILLAGE = "341221001001"  # Linquan
TOWNSHIP = Principal(sub="officer-7", role="township", region=VILLAGE[:9])
COUNTY = Principal(sub="chief-1", role="county", region=VILLAGE[:6])


def transport(person: str = "person-1", as_of: dt.date = dt.date(2020, 6, 1)) -> DecisionCommand:
    inputs = {"person_id": person, "work_location": "out_of_province", "contract_months": 12, "social_insurance": True}
    return DecisionCommand(kind="transport_allowance", region_code=VILLAGE, as_of=as_of, inputs=inputs)


async def test_a_decision_is_recorded_under_the_subject_lock_with_its_event_and_audit_entry() -> None:
    work = FakeWork()
    read = await decide(transport(), work, TOWNSHIP)
    assert read.state == "calculated"
    assert read.amount == Decimal("500.00")
    assert read.policy.id == "linquan-employment-2020"
    assert work.decisions.locked == [{"person-1"}]
    assert work.commits == [read]  # the answer goes with the commit (idempotency keys keep it)
    (event,) = work.events
    assert (event.name, event.data["decision_id"], event.data["amount"]) == (
        "decision_calculated",
        read.id,
        "500.00",
    )
    assert [e["kind"] for e in work.audit.entries] == ["subsidy_decision_calculate"]


async def test_a_one_off_subsidy_is_refused_the_second_time_naming_the_first() -> None:
    work = FakeWork()
    first = await decide(transport("p-once"), work, TOWNSHIP)
    with pytest.raises(Conflict) as exc:
        await decide(transport("p-once", as_of=dt.date(2020, 9, 1)), work, TOWNSHIP)
    assert exc.value.code == "already_granted"
    assert exc.value.extra["decision_ids"] == [first.id]
    assert len(work.commits) == 1


async def test_an_unknown_region_has_no_policy() -> None:
    cmd = dataclasses.replace(transport(), region_code="110101001001")
    with pytest.raises(Unprocessable) as exc:
        await decide(cmd, FakeWork(), TOWNSHIP)
    assert exc.value.code == "policy_not_found"


async def test_the_county_approves_and_pays_a_township_may_not() -> None:
    work = FakeWork()
    d = await decide(transport(), work, TOWNSHIP)
    with pytest.raises(Forbidden):
        await transition(StepDecision(d.id, DecisionAction.APPROVE, TOWNSHIP), work)
    approved = await transition(StepDecision(d.id, DecisionAction.APPROVE, COUNTY, note="checked"), work)
    assert (approved.state, approved.approved_by, approved.version) == ("approved", "chief-1", 2)
    paid = await transition(StepDecision(d.id, DecisionAction.PAY, COUNTY), work)
    assert paid.state == "paid"
    assert [e.name for e in work.events] == ["decision_calculated", "decision_approved", "decision_paid"]
    page = await list_decisions(ListDecisions(COUNTY, region_prefix=COUNTY.region), work)
    assert [i.id for i in page.items] == [d.id]
    assert page.next_cursor is None
