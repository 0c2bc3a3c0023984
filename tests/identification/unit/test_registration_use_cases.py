"""Registration's use cases against a fake unit of work (tests/identification/unit/fake_work.py):
an application registers the household and opens its case (a person held elsewhere is flagged,
or refused outside the jurisdiction), a case is advanced step by step to `monitored`, refusals
and lost updates are 409s, an import's job is found again by its key. The same use cases run
against real databases in tests/identification/integration."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.identification.adapters.households import HouseholdRecord
from services.identification.api.applications import application_body
from services.identification.application import applications, cases, duplicates, households
from services.identification.application.assessments import AssessHousehold, assess_household
from services.identification.application.duplicates import HouseholdConflict
from services.identification.application.household_input import HouseholdIn
from services.identification.application.household_records import job_status
from services.identification.domain.cases import Case
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.idempotency import IdempotencyClaim
from shared.identifiers import id_check_digit
from shared.pii import mask_id_number
from tests.identification.unit.fake_work import CST, FakeContext, FakeWork

VILLAGE = "341221001201"
START = dt.datetime(2024, 3, 4, 10, 0, tzinfo=CST)
VILLAGE_OFFICER = Principal("v-officer", "village", VILLAGE)
TOWNSHIP_OFFICER = Principal("t-officer", "township", VILLAGE[:9])
COUNTY_OFFICER = Principal("c-officer", "county", VILLAGE[:6])


def _id_number(serial: int, birth: str = "19800101") -> str:
    first17 = f"341221{birth}{serial:03d}"
    return first17 + id_check_digit(first17)


def _household(*serials: int) -> HouseholdIn:
    """A marginal household in Anhui (line 5,000): 6,000 wage, its head seriously ill."""
    members: list[dict[str, Any]] = [
        {
            "id_number": _id_number(s),
            "name": "张三",
            "relation": "head" if i == 0 else "spouse",
            "labor_capacity": "ordinary",
        }
        | ({"serious_illness": True} if i == 0 else {})
        for i, s in enumerate(serials or (1, 2))
    ]
    return HouseholdIn.model_validate({"members": members, "income": {"wage": "6000"}})


def _command(household: HouseholdIn | None = None, **overrides: Any) -> applications.SubmitApplication:
    return applications.SubmitApplication(
        household=household or _household(),
        region_code=VILLAGE,
        reason="医疗支出大，收入下降",
        risk_types=("illness",),
        **overrides,
    )


async def _submit(
    ctx: FakeContext, command: applications.SubmitApplication | None = None
) -> applications.ApplicationRead:
    claim = IdempotencyClaim("POST /api/v1/applications", "key", "digest")
    return await applications.submit(
        ctx,  # type: ignore[arg-type]
        ctx.work,  # type: ignore[arg-type]
        VILLAGE_OFFICER,
        command or _command(),
        claim,
        render=application_body,
    )


@pytest.fixture
def ctx() -> FakeContext:
    return FakeContext(START)


async def test_an_application_registers_the_household_and_opens_its_case(ctx: FakeContext) -> None:
    body = await _submit(ctx)
    work = ctx.work
    assert (body.status, body.category, body.region_code) == ("submitted", "marginal", VILLAGE)
    assert (body.risk_types, body.declared_risk_types, body.urgent) == (("illness",), ("illness",), False)
    assert body.created_at == START
    household_id = body.household_id
    stored = work.households.by_id[household_id]
    assert stored.region_code == VILLAGE
    assert len(stored.members) == 2
    assert work.households.outcomes[household_id]["category"] == "marginal"
    case, row = work.cases.by_id[body.case_id]
    assert (case.household_id, row.application_id) == (household_id, body.id)
    assert case.deadline is not None
    assert case.deadline > START.date()
    # one transaction: the events, the idempotent response, one commit
    assert work.commits == 1
    assert [c[1:] for c in work.claims] == [(201, application_body(body))]
    submitted = work.events("application.submitted")
    assert len(submitted) == 1
    assert submitted[0].data["case_id"] == body.case_id
    (opened,) = work.events("case.status_changed")
    assert (opened.data["from"], opened.data["to"], opened.data["application_id"]) == (None, "submitted", body.id)
    assert [e["kind"] for e in work.audit.entries] == ["case_transition"]


async def test_a_second_application_for_the_household_is_refused(ctx: FakeContext) -> None:
    first = await _submit(ctx, _command(_household(1, 2)))
    with pytest.raises(Conflict) as refused:
        await _submit(ctx, _command(_household(2, 3)))  # a member of the first household
    assert refused.value.code == "application_exists"
    assert refused.value.extra["existing_application_id"] == first.id
    assert ctx.work.commits == 1  # nothing of the second one was committed


async def test_outside_the_callers_jurisdiction_is_not_found(ctx: FakeContext) -> None:
    with pytest.raises(NotFound):
        await _submit(ctx, dataclasses.replace(_command(), region_code="341221002201"))
    assert ctx.work.commits == 0


async def _advance(ctx: FakeContext, case_id: str, who: Principal, **fields: Any) -> cases.CaseRead:
    command = cases.TransitionCase(case_id, action="advance", **fields)
    return await cases.transition_case(ctx, ctx.work, who, command)  # type: ignore[arg-type]


async def test_a_case_is_advanced_to_monitored_and_the_household_follows(ctx: FakeContext) -> None:
    opened = await _submit(ctx)
    case_id, household_id = opened.case_id, opened.household_id
    work: FakeWork = ctx.work
    read = await _advance(ctx, case_id, VILLAGE_OFFICER)
    assert (read.case.state, read.case.version, read.region_code) == ("verification", 2, VILLAGE)
    read = await _advance(ctx, case_id, VILLAGE_OFFICER, investigators=("王五", "赵六"))
    assert (read.case.state, read.case.investigators) == ("village_review", ("王五", "赵六"))
    await _advance(ctx, case_id, VILLAGE_OFFICER, note="村民主评议通过")
    assert work.cases.by_id[case_id][0].state == "public_notice"
    with pytest.raises(Conflict) as running:
        await _advance(ctx, case_id, VILLAGE_OFFICER)
    assert running.value.code == "notice_period_running"
    ctx.clock = START + dt.timedelta(days=10)
    await _advance(ctx, case_id, VILLAGE_OFFICER)
    await _advance(ctx, case_id, TOWNSHIP_OFFICER, note="乡镇审核通过")
    read = await _advance(ctx, case_id, COUNTY_OFFICER, note="县级审定")
    assert read.case.state == "monitored"
    assert read.case.monitored_since == ctx.today()
    assert (read.application_id, read.opened_case_id) == (opened.id, None)
    assert work.cases.statuses[household_id] == "monitored"
    identified = work.events("household.identified")
    assert len(identified) == 1
    assert identified[0].subject == household_id
    states = [e.data["to"] for e in work.events("case.status_changed")]
    assert states == [
        "submitted",
        "verification",
        "village_review",
        "public_notice",
        "township_review",
        "county_review",
        "monitored",
    ]
    assert len(work.audit.entries) == len(states)  # one chain entry per transition


async def test_a_refused_or_stale_transition_is_a_conflict_and_changes_nothing(ctx: FakeContext) -> None:
    opened = await _submit(ctx)
    case_id = opened.case_id
    await _advance(ctx, case_id, VILLAGE_OFFICER)
    before: Case = ctx.work.cases.by_id[case_id][0]
    with pytest.raises(Conflict) as refused:
        await _advance(ctx, case_id, VILLAGE_OFFICER, investigators=("王五",))
    assert refused.value.code == "investigators_required"
    with pytest.raises(Conflict) as stale:
        await _advance(ctx, case_id, VILLAGE_OFFICER, investigators=("王五", "赵六"), expected_version=7)
    assert stale.value.code == "version_conflict"
    assert ctx.work.cases.by_id[case_id][0] == before
    assert ctx.work.commits == 2  # the application's and the first advance


async def test_a_case_is_not_found_outside_the_callers_jurisdiction(ctx: FakeContext) -> None:
    opened = await _submit(ctx)
    elsewhere = Principal("v2", "village", "341221001202")
    with pytest.raises(NotFound):
        await cases.get_case(ctx, ctx.work, elsewhere, opened.case_id)  # type: ignore[arg-type]
    read = await cases.get_case(ctx, ctx.work, VILLAGE_OFFICER, opened.case_id)  # type: ignore[arg-type]
    assert read.allowed_actions == ("advance", "reject")
    assert (read.case.id, read.case.state, read.overdue) == (opened.case_id, "submitted", False)


async def test_an_import_job_is_found_again_by_its_idempotency_key(ctx: FakeContext) -> None:
    county = Principal("county-platform", "county", VILLAGE[:6])
    command = households.StartImport("ndjson", idempotency_key="file-1", rows_total=3)
    first = await households.start_import_job(ctx, county, command)  # type: ignore[arg-type]
    again = await households.start_import_job(ctx, county, command)  # type: ignore[arg-type]
    assert (first.fresh, again.fresh) == (True, False)
    job = first.job
    assert again.job.id == job.id
    assert job.rows_total == 3
    assert job.region == county.region
    assert job.params == {"format": "ndjson"}
    assert ctx.work.commits == 1


async def _stored(ctx: FakeContext, number: str, region: str, *serials: int) -> str:
    """A household already registered (by an import), without a case."""
    record = HouseholdRecord(number, region, _household(*serials))
    return (await ctx.work.households.upsert(ctx.cipher, record, source="import")).household_id


async def test_a_person_held_by_another_household_is_flagged_as_a_duplicate(ctx: FakeContext) -> None:
    own = await _stored(ctx, "N-1", VILLAGE, 1, 2)
    held = await _stored(ctx, "N-2", VILLAGE, 7, 8)
    body = await _submit(ctx, _command(_household(1, 7)))  # the head's household, and a person of another
    assert body.household_id == own
    (found,) = ctx.work.events("household.duplicate_found")
    assert found.data["household_id"] == held
    assert found.data["other_household_id"] == body.household_id
    assert found.data["refused"] is False
    (record,) = ctx.work.duplicates.rows.values()
    assert record["person_masked"] == mask_id_number(_id_number(7))


async def test_a_person_of_another_jurisdiction_is_refused_and_referred_up(ctx: FakeContext) -> None:
    elsewhere = await _stored(ctx, "N-3", "341221002201", 9)
    with pytest.raises(HouseholdConflict):
        await _submit(ctx, _command(_household(1, 9)))
    (found,) = ctx.work.events("household.duplicate_found")  # committed with the refusal
    assert found.data["household_id"] == elsewhere
    assert found.data["refused"] is True
    assert found.data["resolve_region"] == "341221"  # the county covering both villages
    assert ctx.work.cases.by_id == {}
    assert len(ctx.work.households.by_id) == 1  # the other jurisdiction's household untouched


async def test_an_application_is_read_with_its_reason_and_history_by_those_who_see_it(ctx: FakeContext) -> None:
    submitted = await _submit(ctx)
    detail = await applications.get_application(ctx, ctx.work, VILLAGE_OFFICER, submitted.id)  # type: ignore[arg-type]
    assert detail.application == submitted
    assert detail.reason == "医疗支出大，收入下降"
    assert [(str(h.action), h.from_state, str(h.to_state)) for h in detail.history] == [("submit", None, "submitted")]
    elsewhere = Principal("v2", "village", "341221001202")
    for who, application_id in ((elsewhere, submitted.id), (VILLAGE_OFFICER, "no-such-application")):
        with pytest.raises(NotFound):
            await applications.get_application(ctx, ctx.work, who, application_id)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("who", "command", "expected"),
    [
        (COUNTY_OFFICER, cases.ListCases(), (2, 2, 50)),
        (COUNTY_OFFICER, cases.ListCases(state="submitted,verification"), (2, 2, 50)),
        (COUNTY_OFFICER, cases.ListCases(state="monitored"), (0, 0, 50)),
        (COUNTY_OFFICER, cases.ListCases(procedure="elimination"), (0, 0, 50)),
        (COUNTY_OFFICER, cases.ListCases(page_size=1), (2, 1, 1)),
        (COUNTY_OFFICER, cases.ListCases(page=2, page_size=1), (2, 1, 1)),
        (COUNTY_OFFICER, cases.ListCases(page_size=10_000), (2, 2, cases.MAX_PAGE_SIZE)),
        (COUNTY_OFFICER, cases.ListCases(region="341221002"), (0, 0, 50)),  # another township
        (COUNTY_OFFICER, cases.ListCases(region="12345"), (0, 0, 50)),  # not a region code
        (Principal("v2", "village", "341221001202"), cases.ListCases(), (0, 0, 50)),
    ],
)
async def test_cases_are_listed_by_region_state_and_page(
    ctx: FakeContext, who: Principal, command: cases.ListCases, expected: tuple[int, int, int]
) -> None:
    first = await _submit(ctx, _command(_household(1, 2)))
    await _submit(ctx, _command(_household(3, 4)))
    page = await cases.list_cases(ctx, ctx.work, who, command)  # type: ignore[arg-type]
    assert (page.total, len(page.items), page.page_size) == expected
    assert page.page == command.page
    if who == COUNTY_OFFICER and command == cases.ListCases():
        one = next(c for c in page.items if c.id == first.case_id)
        assert (one.household_id, one.region_code, one.procedure, one.state) == (
            first.household_id,
            VILLAGE,
            "identification",
            "submitted",
        )
        assert (one.category, one.risk_types, one.urgent, one.overdue, one.version) == (
            "marginal",
            ("illness",),
            False,
            False,
            1,
        )
        assert one.deadline == first.deadline


async def test_only_officers_list_cases(ctx: FakeContext) -> None:
    with pytest.raises(Forbidden):
        await cases.list_cases(ctx, ctx.work, Principal("341221198001010011", "citizen", VILLAGE), cases.ListCases())  # type: ignore[arg-type]


async def test_a_household_is_assessed_against_the_policy_in_force(ctx: FakeContext) -> None:
    command = AssessHousehold(region_code=VILLAGE, as_of=START.date(), household=_household())
    store = ctx.extras.policy_store
    assessed = await assess_household(work=ctx.work, store=store, principal=VILLAGE_OFFICER, body=command)
    assert (assessed.assessment.category, assessed.assessment.per_capita_income) == ("marginal", Decimal(3000))
    assert len(assessed.household.members) == 2
    with pytest.raises(NotFound):
        await assess_household(
            work=ctx.work,
            store=store,
            principal=VILLAGE_OFFICER,
            body=dataclasses.replace(command, region_code="341221002201"),
        )
    assert ctx.work.commits == 0  # stateless


async def test_a_jobs_status_is_for_its_region_or_its_creator(ctx: FakeContext) -> None:
    county = Principal("county-platform", "county", VILLAGE[:6])
    job = (await households.start_import_job(ctx, county, households.StartImport("ndjson"))).job  # type: ignore[arg-type]
    status = await job_status(ctx.work, county, job.id)  # type: ignore[arg-type]
    assert (status.job.id, status.job.kind, status.chunks) == (job.id, "import", None)
    assert (await job_status(ctx.work, Principal("p", "province", "34"), job.id)).job.id == job.id  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await job_status(ctx.work, Principal("other", "county", "341222"), job.id)  # type: ignore[arg-type]
    with pytest.raises(Unprocessable):
        await job_status(ctx.work, county, "x" * 37)  # type: ignore[arg-type]


async def _duplicate(ctx: FakeContext) -> tuple[str, str]:
    """Person 7 held by N-2 and, after the application, by N-1 too: (N-1's id, N-2's id)."""
    own = await _stored(ctx, "N-1", VILLAGE, 1, 2)
    held = await _stored(ctx, "N-2", VILLAGE, 7, 8)
    await _submit(ctx, _command(_household(1, 7)))
    return own, held


async def test_duplicates_are_listed_for_their_resolvers(ctx: FakeContext) -> None:
    own, held = await _duplicate(ctx)
    page = await duplicates.list_duplicates(ctx.work, COUNTY_OFFICER, duplicates.ListDuplicates())  # type: ignore[arg-type]
    (record,) = page.items
    assert (page.region, page.status, page.next) == (COUNTY_OFFICER.region, "open", None)
    assert (record.household_id, record.other_household_id, record.status, record.refused) == (held, own, "open", False)
    assert record.person_masked == mask_id_number(_id_number(7))
    assert [h["event"] for h in record.history] == ["found"]
    elsewhere = await duplicates.list_duplicates(
        ctx.work,  # type: ignore[arg-type]
        COUNTY_OFFICER,
        duplicates.ListDuplicates(region="341222"),
    )
    assert elsewhere.items == ()
    with pytest.raises(Forbidden):
        await duplicates.list_duplicates(ctx.work, VILLAGE_OFFICER, duplicates.ListDuplicates())  # type: ignore[arg-type]


@pytest.mark.parametrize(("action", "loses"), [("keep", "own"), ("move", "held")])
async def test_a_duplicate_is_resolved_and_one_household_lets_the_person_go(
    ctx: FakeContext, action: str, loses: str
) -> None:
    own, held = await _duplicate(ctx)
    (duplicate_id,) = ctx.work.duplicates.rows
    command = duplicates.ResolveDuplicate(duplicate_id, action=action, note=f"核实：户籍在 {_id_number(7)} 户")
    record = await duplicates.resolve_duplicate(ctx, COUNTY_OFFICER, command)  # type: ignore[arg-type]
    assert (record.status, record.resolution, record.resolved_by) == ("resolved", action, COUNTY_OFFICER.sub)
    assert record.resolution_note is not None
    assert _id_number(7) not in record.resolution_note
    assert record.history[-1]["event"] == "resolved"
    counts = {name: len(ctx.work.households.by_id[hid].members) for name, hid in (("own", own), ("held", held))}
    assert counts == {"own": 2, "held": 2} | {loses: 1}
    (resolved,) = ctx.work.events("household.duplicate_resolved")
    assert resolved.data["changed_household_ids"] == [own if loses == "own" else held]
    with pytest.raises(Conflict) as again:
        await duplicates.resolve_duplicate(ctx, COUNTY_OFFICER, command)  # type: ignore[arg-type]
    assert again.value.code == "duplicate_resolved"
