"""Dibao / 特困 use cases against an in-memory unit of work (tests/civil_affairs/unit/fake_work.py):
the application procedure from submission to the county's approval with its economic check, the
enrolment it opens, re-checks, exits, suspension, the monthly payment run and the answers to it,
no database (the SQL is tested in ../integration)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from services.civil_affairs.adapters.programmes_runtime import payment_decision, refusing_member
from services.civil_affairs.application import applications as app_uc
from services.civil_affairs.application import enrolments as uc
from services.civil_affairs.domain.economic_check import CheckRecord, CheckResult
from services.civil_affairs.domain.enrolments import EnrolmentStatus
from services.civil_affairs.domain.programmes import MemberFacts, Programme
from shared.app import CST
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.identifiers import id_check_digit
from shared.pii import FieldCipher
from tests.civil_affairs.unit.fake_work import FakeWork

VILLAGE = "341221001001"
VILLAGE_OFFICER = Principal(sub="v-1", role="village", region=VILLAGE)
TOWNSHIP = Principal(sub="t-1", role="township", region=VILLAGE[:9])
COUNTY = Principal(sub="c-1", role="county", region=VILLAGE[:6])
OTHER_COUNTY = Principal(sub="c-2", role="county", region="341222")
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)
CIPHER = FieldCipher(b"k" * 32, b"i" * 32)


def _id(born: str, serial: str) -> str:
    first17 = f"341221{born}{serial}"
    return first17 + id_check_digit(first17)


HEAD, SPOUSE, CHILD = _id("19800101", "011"), _id("19820202", "022"), _id("20150303", "033")
CITIZEN = Principal(sub=HEAD, role="citizen", region="")


@dataclass
class _System:
    """A county check system that is never reached (`act` only names its kind)."""

    kind: str = "file"

    async def send(self, check: CheckRecord, request: Mapping[str, Any]) -> str | None:
        raise AssertionError("a use case does not send")

    async def poll(self, check: CheckRecord) -> CheckResult | None:
        raise AssertionError("a use case does not poll")

    async def forget(self, check: CheckRecord) -> None:
        raise AssertionError("a use case does not forget")


def _check_for(county: str) -> _System:
    return _System()


def _submit(principal: Principal = VILLAGE_OFFICER, *, income: str = "9000", **kw: Any) -> app_uc.SubmitApplication:
    members = [
        app_uc.MemberInput(HEAD, "head", "ordinary", person_ref="per-head"),
        app_uc.MemberInput(SPOUSE, "spouse", "ordinary", person_ref="per-spouse"),
        app_uc.MemberInput(CHILD, "child", "none", person_ref="per-child"),
    ]
    fields: dict[str, Any] = {
        "principal": principal,
        "programme": Programme.DIBAO,
        "region_code": VILLAGE,
        "members": members,
        "income_annual": Decimal(income),
        "assets_within_rules": True,
        "supporters_able": False,
        "asset_query_authorized": True,
        "at": NOW,
        "household_id": "hh-1",
    }
    fields.update(kw)
    return app_uc.SubmitApplication(**fields)


def _act(
    p: Principal, application_id: str, action: str, at: dt.datetime = NOW, **kw: object
) -> app_uc.ActOnApplication:
    return app_uc.ActOnApplication(principal=p, application_id=application_id, action=action, at=at, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- applications


async def test_submitting_decides_the_category_at_once_and_keeps_id_numbers_sealed() -> None:
    work = FakeWork()
    view = await app_uc.submit(_submit(), work, CIPHER)
    app = view.application
    assert (app.state, app.programme, app.household_id) == ("submitted", Programme.DIBAO, "hh-1")
    assert app.decision.eligible is True
    assert app.decision.per_capita_income_annual == Decimal(3000)  # 9,000 / 3 < the 4,800 standard
    assert [m.person_ref for m in app.facts.members] == ["per-head", "per-spouse", "per-child"]
    assert view.overdue is False
    assert "accept" in view.allowed_actions
    # the ID numbers are kept only encrypted, beside the application
    sealed = await work.applications.sealed_members(app.id)
    assert [CIPHER.decrypt_text(t, context=app_uc.SEAL_CONTEXT) for t in sealed] == [HEAD, SPOUSE, CHILD]
    assert HEAD not in repr(app)
    assert HEAD not in repr(work.events)
    assert [e.name for e in work.events] == ["application_submitted"]
    assert work.events[0].data["members"] == 3
    assert work.results == [view]  # what an idempotent request stores


@pytest.mark.parametrize(
    ("principal", "kw", "error", "code"),
    [
        (VILLAGE_OFFICER, {"asset_query_authorized": False}, Unprocessable, "validation_failed"),
        (OTHER_COUNTY, {}, NotFound, "not_found"),
        (Principal(sub=_id("19700101", "099"), role="citizen", region=""), {}, Forbidden, "not_own_household"),
    ],
)
async def test_a_submission_is_refused(
    principal: Principal, kw: dict[str, Any], error: type[Exception], code: str
) -> None:
    work = FakeWork()
    with pytest.raises(error) as exc:
        await app_uc.submit(_submit(principal, **kw), work, CIPHER)
    assert getattr(exc.value, "code", None) == code
    assert (work.commits, work.events, work.applications.rows) == (0, [], {})


async def test_the_same_id_number_twice_is_refused() -> None:
    twice = [app_uc.MemberInput(HEAD, "head", "ordinary"), app_uc.MemberInput(HEAD, "spouse", "ordinary")]
    with pytest.raises(Unprocessable) as exc:
        await app_uc.submit(_submit(members=twice), FakeWork(), CIPHER)
    assert exc.value.extra["errors"][0]["path"] == "household.members.1.id_number"


async def test_a_citizen_reads_and_lists_only_their_own_applications() -> None:
    work = FakeWork()
    own = (await app_uc.submit(_submit(CITIZEN), work, CIPHER)).application
    other = (await app_uc.submit(_submit(VILLAGE_OFFICER, household_id="hh-2"), work, CIPHER)).application
    read = await app_uc.get_application(work, CITIZEN, own.id, CIPHER, NOW.date())
    assert read.application.id == own.id
    assert read.allowed_actions == ["withdraw"]  # the applicant may withdraw
    with pytest.raises(NotFound):
        await app_uc.get_application(work, CITIZEN, other.id, CIPHER, NOW.date())
    mine = await app_uc.list_applications(app_uc.ListApplications(CITIZEN, NOW.date()), work, CIPHER)
    assert ([v.application.id for v in mine.items], mine.total, mine.page, mine.page_size) == ([own.id], 1, 1, 50)
    officer = await app_uc.list_applications(
        app_uc.ListApplications(TOWNSHIP, NOW.date(), page_size=5000), work, CIPHER
    )
    assert (officer.total, officer.page_size) == (2, app_uc.MAX_PAGE_SIZE)
    with pytest.raises(NotFound):
        await app_uc.list_applications(app_uc.ListApplications(TOWNSHIP, NOW.date(), region="341222"), work, CIPHER)


async def test_from_submission_to_the_county_approval_which_opens_the_enrolment() -> None:
    work = FakeWork()
    app = (await app_uc.submit(_submit(), work, CIPHER)).application
    accepted = await app_uc.act(_act(TOWNSHIP, app.id, "accept"), work, CIPHER, _check_for)
    assert accepted.view.application.state == "economic_check"
    check = accepted.check
    assert check is not None
    assert (check.status, check.adapter) == ("pending", "file")
    assert check.due_on == NOW.date() + dt.timedelta(days=15)  # economic_check_days
    assert HEAD not in repr(check.request)
    assert [m["id_number"] for m in app_uc.check_request_with_ids(check, [HEAD, SPOUSE, CHILD])["members"]] == [
        HEAD,
        SPOUSE,
        CHILD,
    ]
    await app_uc.mark_check_sent(work, check.id, "county-ref-1", NOW)
    assert (await work.checks.get(check.id)).reference == "county-ref-1"  # type: ignore[union-attr]

    with pytest.raises(Conflict) as exc:
        await app_uc.act(_act(TOWNSHIP, app.id, "advance", note="ok"), work, CIPHER, _check_for)
    assert exc.value.code == "economic_check_pending"

    result = CheckResult(passed=True, checked_at=NOW, reference="county-ref-1")
    done = await app_uc.record_check_result(app_uc.RecordCheckResult(check.id, result, NOW), work)
    assert (done.status, done.result) == ("done", result)
    again = await app_uc.record_check_result(app_uc.RecordCheckResult(check.id, result, NOW), work)
    assert again == done  # the same answer twice (a retried callback) changes nothing
    other = CheckResult(passed=False, checked_at=NOW, reference="county-ref-2")
    with pytest.raises(Conflict) as exc:
        await app_uc.record_check_result(app_uc.RecordCheckResult(check.id, other, NOW), work)
    assert exc.value.code == "check_already_answered"
    assert (await work.applications.get(app.id)).state == "township_review"  # type: ignore[union-attr]

    noticed = await app_uc.act(_act(TOWNSHIP, app.id, "advance", note="核实无误"), work, CIPHER, _check_for)
    assert noticed.check is None
    assert noticed.view.application.notice_posted_on == NOW.date()
    with pytest.raises(Conflict) as exc:
        await app_uc.act(_act(TOWNSHIP, app.id, "advance", note="ok"), work, CIPHER, _check_for)
    assert exc.value.code == "notice_running"
    later = NOW + dt.timedelta(days=7)
    await app_uc.act(_act(TOWNSHIP, app.id, "advance", later, note="公示无异议"), work, CIPHER, _check_for)
    with pytest.raises(Conflict) as exc:
        await app_uc.act(_act(COUNTY, app.id, "approve", later, note="ok", version=1), work, CIPHER, _check_for)
    assert exc.value.code == "version_conflict"
    approved = await app_uc.act(_act(COUNTY, app.id, "approve", later, note="同意"), work, CIPHER, _check_for)
    assert approved.view.application.state == "approved"
    assert approved.view.allowed_actions == []

    (enrolment,) = work.enrolments.rows.values()
    assert (enrolment.application_id, enrolment.household_id, enrolment.status) == (app.id, "hh-1", "active")
    assert enrolment.start_month == "2026-04"  # the month after approval
    assert [e.name for e in work.events][-2:] == ["application_status_changed", "enrolled"]
    assert work.results[-1] == approved.view


async def test_an_unknown_or_callers_action_is_refused() -> None:
    work = FakeWork()
    app = (await app_uc.submit(_submit(), work, CIPHER)).application
    for action in ("fly", "check_result"):
        with pytest.raises(Unprocessable):
            await app_uc.act(_act(TOWNSHIP, app.id, action), work, CIPHER, _check_for)
    with pytest.raises(Conflict) as exc:
        await app_uc.act(_act(TOWNSHIP, app.id, "reject"), work, CIPHER, _check_for)
    assert exc.value.code == "reason_required"


async def test_an_unanswered_check_times_out_once() -> None:
    work = FakeWork()
    app = (await app_uc.submit(_submit(), work, CIPHER)).application
    check = (await app_uc.act(_act(TOWNSHIP, app.id, "accept"), work, CIPHER, _check_for)).check
    assert check is not None
    assert await app_uc.time_out_checks(work, check.due_on, NOW) == 0
    assert await app_uc.time_out_checks(work, check.due_on + dt.timedelta(days=1), NOW) == 1
    assert await app_uc.time_out_checks(work, check.due_on + dt.timedelta(days=2), NOW) == 0
    assert (await work.applications.get(app.id)).check["status"] == "timed_out"  # type: ignore[index,union-attr]


# --------------------------------------------------------------------------- enrolments


def _register(programme: Programme = Programme.DIBAO, household_id: str = "hh-9", **kw: Any) -> uc.RegisterEnrolment:
    members = (
        MemberFacts(person_ref="per-a", birth_date=dt.date(1950, 5, 1), labor_capacity="none"),
        MemberFacts(person_ref="per-b", birth_date=dt.date(1985, 5, 1)),
    )
    fields: dict[str, Any] = {
        "principal": TOWNSHIP,
        "household_id": household_id,
        "region_code": VILLAGE,
        "programme": programme,
        "members": members,
        "household_size": 2,
        "per_capita_income_annual": Decimal("2400.00"),
        "start_month": "2026-03",
        "stable_income": False,
        "single_person": False,
        "at": NOW,
    }
    fields.update(kw)
    return uc.RegisterEnrolment(**fields)


async def test_registering_an_existing_recipient_opens_an_enrolment_once() -> None:
    work = FakeWork()
    e = await uc.register_existing(_register(), work)
    assert (e.status, e.rule, e.start_month, e.version) == (
        EnrolmentStatus.ACTIVE,
        "dibao_income_below_standard",
        "2026-03",
        1,
    )
    assert e.next_recheck_on == dt.date(2026, 9, 2)  # recheck_months_dibao_other: 6
    assert e.history[0]["action"] == "registered_existing"
    assert [ev.name for ev in work.events] == ["enrolled"]
    assert work.results == [e]
    with pytest.raises(Conflict) as exc:
        await uc.register_existing(_register(), work)
    assert exc.value.code == "already_enrolled"
    with pytest.raises(NotFound):
        await uc.register_existing(_register(principal=VILLAGE_OFFICER, household_id="hh-10"), work)


@pytest.mark.parametrize(
    ("programme", "single", "rule"),
    [
        (Programme.DIBAO, False, "dibao_income_below_standard"),
        (Programme.DIBAO, True, "dibao_single_person"),
        (Programme.TEKUN, False, "tekun_conditions_met"),
    ],
)
async def test_the_rule_an_existing_recipient_is_registered_under(
    programme: Programme, single: bool, rule: str
) -> None:
    e = await uc.register_existing(_register(programme, single_person=single), FakeWork())
    assert e.rule == rule


async def test_reading_listing_and_the_recheck_due_list() -> None:
    work = FakeWork()
    first = await uc.register_existing(_register(household_id="hh-1"), work)
    second = await uc.register_existing(_register(Programme.TEKUN, household_id="hh-2"), work)
    assert await uc.get_enrolment(work, COUNTY, first.id) == first
    with pytest.raises(NotFound):
        await uc.get_enrolment(work, OTHER_COUNTY, first.id)
    page = await uc.list_enrolments(uc.ListEnrolments(COUNTY, programme="tekun"), work)
    assert ([e.id for e in page.items], page.total, page.page, page.page_size) == ([second.id], 1, 1, 50)
    due = await uc.rechecks_due(uc.ListRechecksDue(COUNTY, before=dt.date(2026, 12, 31)), work)
    assert due.due_before == dt.date(2026, 12, 31)
    assert [(d.enrolment_id, d.next_recheck_on) for d in due.items] == [(first.id, dt.date(2026, 9, 2))]
    assert due.total == 1
    assert due.items[0].schedule is not None
    with pytest.raises(NotFound):
        await uc.rechecks_due(uc.ListRechecksDue(COUNTY, before=NOW.date(), region="341222"), work)


@pytest.mark.parametrize(
    ("income", "outcome", "status", "event"),
    [
        ("2400.00", "continues", "active", None),
        ("3000.00", "amount_changed", "active", None),
        ("6000.00", "gradual_exit", "gradual_exit", "exit_started"),
    ],
)
async def test_a_dibao_recheck(income: str, outcome: str, status: str, event: str | None) -> None:
    work = FakeWork()
    e = await uc.register_existing(_register(), work)
    cmd = uc.RecordRecheck(TOWNSHIP, e.id, NOW, per_capita_income_annual=Decimal(income), version=e.version)
    out = await uc.recheck(cmd, work)
    assert (out.outcome, str(out.enrolment.status), out.enrolment.version) == (outcome, status, 2)
    assert work.results[-1] == out
    assert [ev.name for ev in work.events[1:]] == ([event] if event else [])


async def test_a_recheck_is_refused() -> None:
    work = FakeWork()
    e = await uc.register_existing(_register(), work)
    with pytest.raises(Conflict) as exc:
        await uc.recheck(uc.RecordRecheck(TOWNSHIP, e.id, NOW), work)
    assert exc.value.code == "income_required"
    with pytest.raises(Conflict) as exc:
        await uc.recheck(uc.RecordRecheck(TOWNSHIP, e.id, NOW, Decimal(1), version=7), work)
    assert exc.value.code == "version_conflict"
    with pytest.raises(Conflict) as exc:
        await uc.recheck(uc.RecordRecheck(VILLAGE_OFFICER, e.id, NOW, Decimal(1)), work)
    assert exc.value.code == "role_not_allowed"


async def test_a_tekun_recheck_whose_conditions_no_longer_hold_exits() -> None:
    work = FakeWork()
    e = await uc.register_existing(_register(Programme.TEKUN), work)
    out = await uc.recheck(uc.RecordRecheck(COUNTY, e.id, NOW, tekun_conditions_hold=False), work)
    assert (out.outcome, out.enrolment.status) == ("exited", EnrolmentStatus.EXITED)
    assert work.events[-1].name == "exited"


async def test_voluntary_exit_and_suspension() -> None:
    work = FakeWork()
    e = await uc.register_existing(_register(), work)
    suspended = await uc.suspend(uc.SetSuspension(TOWNSHIP, e.id, suspended=True, reason="外出务工", at=NOW), work)
    assert (suspended.status, suspended.history[-1]["action"]) == (EnrolmentStatus.SUSPENDED, "suspend")
    resumed = await uc.suspend(uc.SetSuspension(TOWNSHIP, e.id, suspended=False, reason="返乡", at=NOW), work)
    assert resumed.status is EnrolmentStatus.ACTIVE
    with pytest.raises(Conflict) as exc:
        await uc.voluntary_exit(uc.StartVoluntaryExit(TOWNSHIP, e.id, NOW, months=99), work)
    assert exc.value.code == "voluntary_exit_months"
    left = await uc.voluntary_exit(uc.StartVoluntaryExit(TOWNSHIP, e.id, NOW, months=2, version=3), work)
    assert (left.status, left.last_month, left.exit_kind) == (EnrolmentStatus.VOLUNTARY_EXIT, "2026-05", "voluntary")
    assert (work.events[-1].name, work.events[-1].data["months"]) == ("exit_started", 2)
    assert work.results[-1] == left


async def test_the_monthly_run_orders_once_and_closes_an_ended_exit() -> None:
    work = FakeWork()
    e = await uc.register_existing(_register(), work)
    await uc.register_existing(_register(Programme.TEKUN, household_id="hh-2", start_month="2026-05"), work)
    regular = await uc.register_existing(_register(household_id="hh-3"), work)
    await uc.voluntary_exit(uc.StartVoluntaryExit(TOWNSHIP, e.id, NOW, months=1), work)  # last month 2026-04
    run = uc.RunPayments(period="2026-04", region_prefix=VILLAGE[:6], at=NOW)
    first = await uc.run_payments(run, work)
    assert first == uc.PaymentRun("2026-04", VILLAGE[:6], ordered=2, not_payable=1, exited=1)
    assert work.results[-1] == first
    again = await uc.run_payments(run, work)  # the exited one is no longer open
    assert again == uc.PaymentRun("2026-04", VILLAGE[:6], already_ordered=1, not_payable=1)
    assert sorted(o.enrolment_id for o in work.payments.rows.values()) == sorted([e.id, regular.id])
    (order,) = [o for o in work.payments.rows.values() if o.enrolment_id == e.id]
    assert (order.enrolment_id, order.kind, order.status, order.funding_source) == (
        e.id,
        "dibao_monthly",
        "ordered",
        "dibao_fund",
    )
    ordered = [ev for ev in work.events if ev.name == "payment_ordered"]
    assert sorted(ev.data["payment_id"] for ev in ordered) == sorted(work.payments.rows)
    assert (await work.enrolments.get(e.id)).status is EnrolmentStatus.EXITED  # type: ignore[union-attr]

    page = await uc.list_payments(uc.ListPayments(COUNTY, period="2026-04", enrolment_id=e.id), work)
    assert ([o.id for o in page.items], page.total) == ([order.id], 1)
    assert (await uc.list_payments(uc.ListPayments(COUNTY, period="2026-04"), work)).total == 2
    assert (await uc.list_payments(uc.ListPayments(COUNTY, period="2026-05"), work)).total == 0

    answer = {"payment_id": order.id, "decision_id": "dec-1", "state": "approved", "amount": "1234.5"}
    cmd = payment_decision(answer, NOW)
    assert cmd == uc.RecordPaymentDecision(order.id, "dec-1", "approved", "1234.5", NOW)
    assert await uc.payment_recorded(cmd, work) is True
    recorded = await work.payments.get(order.id)
    assert recorded is not None
    assert (recorded.status, recorded.amount, recorded.decision_id) == ("recorded", "1234.50", "dec-1")
    assert payment_decision({"decision_id": "dec-2", "amount": "1"}, NOW) is None  # not about a payment order
    elsewhere = payment_decision({"payment_id": "elsewhere"}, NOW)
    assert elsewhere is not None
    assert await uc.payment_recorded(elsewhere, work) is False  # another service's order
    bad = payment_decision({"payment_id": order.id, "amount": "n/a"}, NOW)
    assert bad is not None
    with pytest.raises(ValueError):
        await uc.payment_recorded(bad, work)


async def test_three_refused_job_offers_exclude_the_persons_share() -> None:
    work = FakeWork()
    e = await uc.register_existing(_register(), work)
    data = {"household_id": "hh-9", "person_ref": "per-b", "refusals": 3, "recommendation_ids": ["r1", "r2", "r3"]}
    cmd = refusing_member(data, NOW)
    assert cmd == uc.ExcludeRefusingMember("hh-9", "per-b", 3, ("r1", "r2", "r3"), NOW)
    assert await uc.offers_refused(cmd, work) == 1
    assert await uc.offers_refused(cmd, work) == 0  # already excluded
    assert (await work.enrolments.get(e.id)).excluded_members == ("per-b",)  # type: ignore[union-attr]
    assert work.events[-1].name == "member_excluded"
    assert work.events[-1].data["excluded_members"] == 1
    assert refusing_member({"household_id": "hh-9", "person_ref": "p"}, NOW).refusals == 3  # by default
    with pytest.raises(ValueError):
        refusing_member({"household_id": "hh-9"}, NOW)  # a poison event
