"""The assistance read use cases over the in-memory unit of work and its read models (fakes.py,
#21): plans, measures, contact persons, visits and their schedule, employment records and the
1 + 5 standard, job offers, statistics and the overdue sweep answer with typed read models, and
`api/bodies.py` turns them into the JSON the API has always answered."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.assistance.api.bodies import contact_body, measure_body, plan_detail_body, statistics_body
from services.assistance.application import (
    employment,
    employment_reads,
    households,
    job_offers,
    plans,
    reads,
    visits,
)
from services.assistance.application.ports import StatisticsCounts
from services.assistance.application.statistics import ShowStatistics, assistance_statistics
from services.assistance.application.sweep import sweep_overdue
from services.assistance.application.views import (
    ContactView,
    MeasureBrief,
    PlanPolicy,
    RegionCount,
    SweepResult,
    VisitCounts,
)
from services.assistance.domain.recommendation import HouseholdProfile
from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.pii import FieldCipher

from .fakes import FakeWork

CST = dt.timezone(dt.timedelta(hours=8))
VILLAGE = "341221001201"
OTHER_VILLAGE = "341221001202"
AT = dt.datetime(2024, 3, 4, 10, 0, tzinfo=CST)
TODAY = AT.date()
OFFICER = Principal(sub="officer-1", role="village", region=VILLAGE)
COUNTY = Principal(sub="chief-1", role="county", region=VILLAGE[:6])
ELSEWHERE = Principal(sub="officer-2", role="village", region=OTHER_VILLAGE)
CIPHER = FieldCipher(b"k" * 32, b"i" * 32)


async def _world(risks: tuple[str, ...] = ("illness",)) -> tuple[FakeWork, plans.OpenedPlan, str]:
    uow = FakeWork()
    contact = await visits.create_contact(
        uow, CIPHER, OFFICER, visits.CreateContact(VILLAGE, "王小明", "13812345678", "驻村 13812345678"), at=AT
    )
    opened = await plans.open_plan(
        uow,
        plans.OpenPlan(
            household_id="hh-1",
            region_code=VILLAGE,
            case_id="case-1",
            opened_on=TODAY,
            profile=HouseholdProfile(risk_types=list(risks), has_labor_capacity=True),
            origin="identified",
            at=AT,
        ),
    )
    await uow.commit()
    return uow, opened, contact.id


async def test_a_plan_list_has_the_contract_fields_and_the_masked_contact() -> None:
    uow, opened, contact_id = await _world()
    [p] = await reads.list_plans(uow.reads, CIPHER, COUNTY, reads.ListPlans(household_id="hh-1"), today=TODAY)
    assert (p.id, p.household_id, p.status, p.due_date) == (opened.plan.id, "hh-1", "open", TODAY + dt.timedelta(10))
    assert p.contact_person == ContactView(
        contact_id, VILLAGE, "王**", "138****5678", "驻村 138****5678", True, False, None
    )
    [medical] = opened.new_measures
    assert p.measures == (MeasureBrief(medical.id, "medical", "medical_insurance", "proposed"),)
    assert p.overdue is False


@pytest.mark.parametrize(("days", "overdue"), [(0, False), (10, False), (11, True)])
async def test_a_plan_not_drawn_up_is_overdue_after_its_due_date(days: int, overdue: bool) -> None:
    uow, opened, _ = await _world()
    today = TODAY + dt.timedelta(days)
    [p] = await reads.list_plans(uow.reads, CIPHER, COUNTY, reads.ListPlans(), today=today)
    assert p.overdue is overdue
    late = await reads.list_plans(uow.reads, CIPHER, COUNTY, reads.ListPlans(overdue=True), today=today)
    assert [x.id for x in late] == ([opened.plan.id] if overdue else [])


async def test_a_plan_in_full_carries_its_measures_histories_and_policy() -> None:
    uow, opened, _ = await _world()
    detail = await reads.get_plan(uow.reads, CIPHER, OFFICER, opened.plan.id, today=TODAY)
    assert detail.plan.id == opened.plan.id
    assert detail.policy is not None
    assert detail.policy == PlanPolicy(10, detail.policy.source)
    [m] = detail.measures
    assert (m.measure.type, m.measure.allowed_actions) == ("medical", ("accept", "drop"))
    body = plan_detail_body(detail)
    assert list(body)[-4:] == ["measures", "history", "contact_history", "policy"]
    assert body["policy"]["plan_due_days"]["value"] == 10
    assert list(body["measures"][0])[-2:] == ["allowed_actions", "history"]
    assert all("measure_id" in h for h in body["history"])
    assert all("measure_id" not in h for h in body["measures"][0]["history"])
    without_policy = plan_detail_body(await reads.plan_detail(uow.reads, CIPHER, OFFICER, opened.plan, TODAY))
    assert "policy" not in without_policy


@pytest.mark.parametrize(
    ("who", "error"),
    [(ELSEWHERE, NotFound), (Principal(sub="c", role="citizen", region=VILLAGE), Forbidden)],
)
async def test_a_plan_outside_reach_is_refused(who: Principal, error: type[Exception]) -> None:
    uow, opened, _ = await _world()
    with pytest.raises(error):
        await reads.get_plan(uow.reads, CIPHER, who, opened.plan.id, today=TODAY)


@pytest.mark.parametrize(("days", "stalled"), [(5, 0), (29, 0), (31, 3)])
async def test_measures_stall_without_progress(days: int, stalled: int) -> None:
    uow, _, _ = await _world(("illness", "schooling"))
    now = AT + dt.timedelta(days)
    every = await reads.list_measures(uow.reads, COUNTY, reads.ListMeasures(), now=now)
    assert sorted(m.type for m in every) == ["education", "employment", "medical"]
    assert len(await reads.list_measures(uow.reads, COUNTY, reads.ListMeasures(stalled=True), now=now)) == stalled
    page = await reads.list_measures(uow.reads, COUNTY, reads.ListMeasures(limit=1, offset=1), now=now)
    assert [m.id for m in page] == [every[1].id]


async def test_a_department_sees_its_own_measures_only() -> None:
    uow, opened, _ = await _world()
    [m] = opened.new_measures
    mine = Principal(sub="d", role="department", region=VILLAGE[:6], dept="medical_insurance")
    other = Principal(sub="d", role="department", region=VILLAGE[:6], dept="education")
    view = await reads.get_measure(uow.reads, mine, m.id)
    assert view.allowed_actions == ()  # a proposed measure is the officers' to accept first
    with pytest.raises(NotFound):
        await reads.get_measure(uow.reads, other, m.id)
    assert "allowed_actions" not in measure_body(reads.measure_view(m))


async def test_the_roster_counts_households_and_a_contact_alone_does_not() -> None:
    uow, _, contact_id = await _world()
    [listed] = await reads.list_contacts(uow.reads, CIPHER, COUNTY, reads.ListContacts())
    assert (listed.id, listed.households) == (contact_id, 1)
    assert contact_body(listed)["households"] == 1
    one = await reads.get_contact(uow.reads, CIPHER, COUNTY, contact_id)
    assert one.households is None
    assert "households" not in contact_body(one)
    with pytest.raises(NotFound):
        await reads.get_contact(uow.reads, CIPHER, ELSEWHERE, contact_id)


async def test_visits_and_their_schedule() -> None:
    uow, opened, _ = await _world()
    cmd = visits.RecordVisit("hh-1", TODAY, findings="电话 13812345678", income={"wage": Decimal("1200.50")})
    done = await visits.record_visit(uow, OFFICER, cmd, today=TODAY, at=AT)
    [v] = await reads.list_visits(uow.reads, COUNTY, reads.ListVisits(household_id="hh-1"))
    assert (v.id, v.findings, v.income) == (done.visit.id, "电话 138****5678", {"wage": "1200.50"})
    due = await reads.visit_schedule(
        uow.reads, COUNTY, reads.ListVisitsDue(until=TODAY + dt.timedelta(40)), today=TODAY
    )
    assert [(d.plan_id, d.due_date, d.overdue, d.days_overdue) for d in due] == [
        (opened.plan.id, done.next_visit_due, False, 0)
    ]
    later = done.next_visit_due + dt.timedelta(3)
    late = await reads.visit_schedule(uow.reads, COUNTY, reads.ListVisitsDue(only_overdue=True), today=later)
    assert [(d.overdue, d.days_overdue) for d in late] == [(True, 3)]


async def _laborer(uow: FakeWork, person_ref: str, kinds: list[str]) -> str:
    if "hh-1" not in uow.households.rows:
        facts = households.HouseholdFacts("hh-1", VILLAGE, "case-1", "marginal", ["illness"], True, 2, False)
        await households.record_identified(uow, households.RecordIdentified(facts, TODAY, False, AT))
    done = await employment.upsert_record(
        uow, OFFICER, employment.UpsertRecord(person_ref, "hh-1", {"sex": "male"}), at=AT
    )
    for i, kind in enumerate(kinds):
        day = TODAY - dt.timedelta(days=i + 1)
        await employment.add_service(uow, OFFICER, employment.AddService(done.record.id, kind, day), today=TODAY, at=AT)
    return done.record.id


async def test_employment_records_and_the_one_plus_five_standard() -> None:
    uow = FakeWork()
    met = await _laborer(uow, "p-1", ["guidance", *["job_recommendation"] * 5])
    short = await _laborer(uow, "p-2", ["job_recommendation"])
    [a, b] = await employment_reads.list_records(uow.reads, COUNTY, employment_reads.ListRecords())
    assert (a.id, len(a.services), b.id) == (met, 6, short)
    assert a.services[0].id == "1"
    one = await employment_reads.get_record(uow.reads, COUNTY, short)
    assert [s.kind for s in one.services] == ["job_recommendation"]
    with pytest.raises(NotFound):
        await employment_reads.get_record(uow.reads, ELSEWHERE, short)
    std = await employment_reads.employment_standard(uow.reads, COUNTY, employment_reads.CheckStandard(), today=TODAY)
    [village] = std.villages
    assert (std.region, std.as_of, village.laborers, village.meeting_standard) == (COUNTY.region, TODAY, 2, 1)
    [gap] = village.short
    assert (gap.record_id, gap.guidance_or_training, gap.job_recommendations) == (short, 0, 1)


async def test_job_offers_before_any_outcome() -> None:
    uow = FakeWork()
    rec = await _laborer(uow, "p-1", ["job_recommendation", "job_recommendation"])
    offers = await job_offers.job_offers_read(uow, OFFICER, rec, today=TODAY)
    assert [(o.id, o.outcome) for o in offers.recommendations] == [("2", None), ("1", None)]
    assert (offers.refusals_in_a_row, offers.refusals_before_sanction, offers.sanction) == (0, 3, None)


async def test_statistics_are_typed_and_answer_as_before() -> None:
    uow = FakeWork()
    uow.fake_reads.counts = StatisticsCounts(
        without_plan={VILLAGE: 2, OTHER_VILLAGE: 1},
        plans_overdue=[(VILLAGE, 1)],
        measures=[("medical", "medical_insurance", "proposed", 3)],
        visits_by_village={VILLAGE: {"due": 1, "done": 2, "overdue": 0}},
        visits_by_contact={None: {"due": 0, "done": 1, "overdue": 1}, "c-1": {"due": 1, "done": 1, "overdue": 0}},
    )
    stats = await assistance_statistics(uow.reads, COUNTY, ShowStatistics(), today=TODAY)
    assert stats.households_without_plan == (RegionCount(VILLAGE, 2), RegionCount(OTHER_VILLAGE, 1))
    assert stats.households_without_plan_total == 3
    assert stats.visits_by_contact == (VisitCounts(None, 0, 1, 1), VisitCounts("c-1", 1, 1, 0))
    body = statistics_body(stats)
    assert (body["as_of"], body["visits_done_since"], body["visits_due_until"]) == (
        "2024-03-04",
        "2024-03-01",
        "2024-04-03",
    )
    assert body["households_without_plan"]["total"] == 3
    assert body["visits_by_contact"][0] == {"contact_id": None, "due": 0, "done": 1, "overdue": 1}
    assert uow.fake_reads.asked == [("statistics", (COUNTY.region, TODAY, dt.date(2024, 3, 1), dt.date(2024, 4, 3)))]


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, SweepResult()), (11, SweepResult(plan_overdue=1)), (40, SweepResult(1, 1, 1))],
)
async def test_the_sweep_reports_what_it_published(days: int, expected: SweepResult) -> None:
    uow, _, _ = await _world()
    result = await sweep_overdue(uow, AT + dt.timedelta(days))
    assert result == expected
    assert result.published == len(uow.events) - 3  # the three events of the opening
    assert await sweep_overdue(uow, AT + dt.timedelta(days)) == SweepResult()  # each once
