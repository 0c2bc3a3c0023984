"""The key assistance use cases over the in-memory unit of work (no database): a plan opened
from `household.identified` and drawn up, a visit recorded under its announced id, a job
offer's outcome up to the sanction. The real-database tests in ../integration cover the SQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.assistance.application import households, job_offers, measures, plans, visits
from services.assistance.application.records import Contact, EmploymentRecord, EmploymentService
from services.assistance.application.views import PersonJobOffers
from services.assistance.domain.lifecycle import MeasureAction
from services.assistance.domain.recommendation import HouseholdProfile
from shared.auth import Principal
from shared.errors import Conflict, NotFound, Unprocessable

from .fakes import FakeWork

CST = dt.timezone(dt.timedelta(hours=8))
VILLAGE = "341221001201"
AT = dt.datetime(2024, 3, 4, 10, 0, tzinfo=CST)
OFFICER = Principal(sub="officer-1", role="village", region=VILLAGE)


def _contact(contact_id: str, region: str = VILLAGE, *, active: bool = True) -> Contact:
    return Contact(contact_id, region, b"name", None, None, f"hash-{contact_id}", active, "test", AT)


def _open(household_id: str = "hh-1", **profile: object) -> plans.OpenPlan:
    kw: dict[str, object] = {"risk_types": ["illness"], "has_labor_capacity": True, **profile}
    return plans.OpenPlan(
        household_id=household_id,
        region_code=VILLAGE,
        case_id=f"case-{household_id}",
        opened_on=AT.date(),
        profile=HouseholdProfile(**kw),  # type: ignore[arg-type]
        origin="identified",
        at=AT,
    )


async def _opened(uow: FakeWork, household_id: str = "hh-1") -> plans.OpenedPlan:
    opened = await plans.open_plan(uow, _open(household_id))
    await uow.commit()  # the inbox transaction's commit
    return opened


async def test_open_plan_proposes_measures_assigns_the_least_loaded_contact_and_announces_a_visit() -> None:
    uow = FakeWork()
    uow.contacts.rows = {c.id: c for c in (_contact("c-2"), _contact("c-1"), _contact("c-0", active=False))}
    opened = await _opened(uow)

    assert opened.created
    plan = opened.plan
    assert (plan.status, plan.active_key, plan.contact_id) == ("open", "hh-1", "c-1")  # ties → smallest active id
    assert plan.due_date == AT.date() + dt.timedelta(days=10)
    assert [m.type for m in opened.new_measures] == ["medical"]
    assert uow.names() == [
        "cn.fangfan.assistance.measure_status_changed.v1",
        "cn.fangfan.assistance.plan_created.v1",
        "cn.fangfan.assistance.visit_scheduled.v1",
    ]
    created, scheduled = uow.events[1].data, uow.events[2].data
    assert created["contact_person_sub_hash"] == "hash-c-1"
    [medical] = opened.new_measures
    assert created["measures"] == [{"id": medical.id, "type": "medical", "department": "medical_insurance"}]
    assert scheduled["visit_id"] == plan.next_visit_id
    assert scheduled["due_date"] == plan.next_visit_due.isoformat()  # type: ignore[union-attr]


async def test_open_plan_again_completes_the_existing_plan_with_what_it_lacks() -> None:
    uow = FakeWork()
    first = await _opened(uow)
    again = await plans.open_plan(uow, _open(risk_types=["illness", "schooling"]))
    assert not again.created
    assert again.plan.id == first.plan.id
    assert {m.type for m in again.new_measures} == {"education", "employment"}  # only what is new
    assert len(uow.plans.rows) == 1


async def test_accepting_the_first_measure_draws_the_plan_up_and_commits() -> None:
    uow = FakeWork()
    opened = await _opened(uow)
    measure = opened.new_measures[0]
    later = AT + dt.timedelta(days=2)

    out = await measures.transition(
        uow, OFFICER, measures.TransitionMeasure(measure.id, MeasureAction.ACCEPT), at=later
    )

    assert (out.status, out.version) == ("accepted", 2)
    assert uow.plans.rows[opened.plan.id].drawn_up_on == later.date()
    assert uow.names()[-2:] == [
        "cn.fangfan.assistance.measure_status_changed.v1",
        "cn.fangfan.assistance.plan_drawn_up.v1",
    ]
    assert uow.commits == 2
    stale = measures.TransitionMeasure(measure.id, MeasureAction.REFER, version=1)
    with pytest.raises(Conflict):
        await measures.transition(uow, OFFICER, stale, at=later)


async def test_an_officer_outside_the_village_does_not_see_the_measure() -> None:
    uow = FakeWork()
    opened = await _opened(uow)
    elsewhere = Principal(sub="o-2", role="village", region="341221001202")
    with pytest.raises(NotFound):
        await measures.transition(
            uow, elsewhere, measures.TransitionMeasure(opened.new_measures[0].id, MeasureAction.ACCEPT), at=AT
        )


async def test_closing_on_elimination_moves_the_visit_to_six_months() -> None:
    uow = FakeWork()
    opened = await _opened(uow)
    closed = await plans.close_plan(uow, plans.ClosePlan("hh-1", AT.date(), AT))
    assert closed is not None
    now = uow.plans.rows[opened.plan.id]
    assert (now.status, now.active_key, now.next_visit_id) == ("closed", None, opened.plan.next_visit_id)
    assert now.next_visit_due == dt.date(2024, 9, 4)
    assert await plans.close_plan(uow, plans.ClosePlan("hh-1", AT.date(), AT)) is None  # nothing left open


async def test_a_visit_is_recorded_under_the_announced_id_and_the_next_one_is_announced() -> None:
    uow = FakeWork()
    opened = await _opened(uow)
    announced = opened.plan.next_visit_id
    visit = visits.RecordVisit("hh-1", AT.date(), findings="ok", income={"wage": Decimal("1200.50")})

    done = await visits.record_visit(uow, OFFICER, visit, today=AT.date(), at=AT)

    assert done.visit.id == announced
    assert done.visit.income == {"wage": "1200.50"}
    plan = uow.plans.rows[opened.plan.id]
    assert plan.last_visit_on == AT.date()
    assert plan.next_visit_due == done.next_visit_due == dt.date(2024, 4, 4)
    assert plan.next_visit_id not in (None, announced)
    names = uow.names()[-3:]
    assert names == [
        "cn.fangfan.assistance.visit_recorded.v1",
        "cn.fangfan.assistance.visit_scheduled.v1",
        "cn.fangfan.assistance.income_updated.v1",
    ]
    assert uow.events[-2].data["visit_id"] == plan.next_visit_id
    assert uow.events[-1].data["wage"] == "1200.50"


async def test_a_visit_in_the_future_or_without_a_plan_is_refused() -> None:
    uow = FakeWork()
    await _opened(uow)
    with pytest.raises(Unprocessable):
        await visits.record_visit(
            uow, OFFICER, visits.RecordVisit("hh-1", AT.date() + dt.timedelta(days=1)), today=AT.date(), at=AT
        )
    with pytest.raises(NotFound):
        await visits.record_visit(uow, OFFICER, visits.RecordVisit("hh-none", AT.date()), today=AT.date(), at=AT)


def _laborer(uow: FakeWork, offers: int) -> EmploymentRecord:
    rec = EmploymentRecord("rec-1", "person-a", "hh-1", VILLAGE, {}, "test", AT, AT)
    uow.employment.records[rec.id] = rec
    for i in range(offers):
        day = AT.date() + dt.timedelta(days=i)
        uow.employment.services.append(EmploymentService(rec.id, "job_recommendation", day, None, "t", AT, id=i + 1))
    return rec


async def test_the_third_refusal_in_a_row_without_a_valid_reason_sanctions_once() -> None:
    uow = FakeWork()
    rec = _laborer(uow, 4)

    async def outcome(service_id: int, outcome: str, valid: bool | None = None) -> PersonJobOffers:
        cmd = job_offers.RecordOfferOutcome(rec.id, str(service_id), outcome, valid)
        return await job_offers.record_offer_outcome(uow, OFFICER, cmd, now=AT, today=AT.date())

    await outcome(1, "refused", False)
    await outcome(2, "refused", True)  # a valid reason neither counts nor resets
    await outcome(3, "refused", False)
    assert uow.events == []
    read = await outcome(4, "refused", False)

    assert read.refusals_in_a_row == 3
    assert read.sanction is not None
    [ev] = uow.events
    assert ev.type == "cn.fangfan.employment.offers_refused.v1"
    assert ev.data["recommendation_ids"] == ["1", "3", "4"]
    assert uow.job_offers.locked == [rec.id] * 4
    with pytest.raises(Conflict):
        await outcome(4, "accepted")  # recorded once


async def test_a_refusal_must_say_whether_the_reason_was_valid() -> None:
    uow = FakeWork()
    rec = _laborer(uow, 1)
    with pytest.raises(Unprocessable):
        await job_offers.record_offer_outcome(
            uow, OFFICER, job_offers.RecordOfferOutcome(rec.id, "1", "refused"), now=AT, today=AT.date()
        )
    assert uow.commits == 0


def _facts(household_id: str = "hh-1") -> households.HouseholdFacts:
    return households.HouseholdFacts(household_id, VILLAGE, "case-1", "marginal", ["illness"], True, 2, False)


async def test_identified_eliminated_rolled_back_and_cleared_out() -> None:
    uow = FakeWork()
    opened = await households.record_identified(uow, households.RecordIdentified(_facts(), AT.date(), False, AT))
    assert uow.households.rows["hh-1"].monitoring_status == "monitored"

    later = AT + dt.timedelta(days=40)
    await households.record_elimination(uow, households.RecordElimination("hh-1", later.date(), later))
    assert (uow.households.rows["hh-1"].monitoring_status, uow.plans.rows[opened.plan.id].status) == (
        "eliminated",
        "closed",
    )
    reopened = await households.roll_back(uow, households.RollBack("hh-1", later.date(), later))
    assert reopened is not None
    assert uow.plans.rows[opened.plan.id].status == "open"
    assert uow.households.rows["hh-1"].eliminated_on is None

    await households.clear_out(uow, households.ClearOut("hh-1", later.date(), later))
    await uow.commit()
    plan = uow.plans.rows[opened.plan.id]
    assert (plan.status, plan.next_visit_due, plan.next_visit_id) == ("closed", None, None)
    assert uow.names()[-2:] == ["cn.fangfan.assistance.plan_closed.v1", "cn.fangfan.assistance.visit_cancelled.v1"]
    assert uow.households.rows["hh-1"].monitoring_status == "cleared"


async def test_the_green_channel_opens_a_plan_before_identification() -> None:
    uow = FakeWork()
    opened = await households.open_green_channel(uow, households.OpenGreenChannel(_facts(), AT.date(), AT))
    assert (opened.created, opened.plan.origin) == (True, "green_channel")
    assert uow.households.rows["hh-1"].monitoring_status == "pending"
    again = await households.record_identified(uow, households.RecordIdentified(_facts(), AT.date(), False, AT))
    assert (again.created, again.plan.id) == (False, opened.plan.id)
    assert uow.households.rows["hh-1"].monitoring_status == "monitored"
