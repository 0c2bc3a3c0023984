"""The dibao / 特困 rules as tables a policy officer can read: category decisions (DOMAIN.md §4),
time limits, the procedure's refusals, payment inputs, re-checks and exits with the shipped policy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.civil_affairs.adapters.policy import POLICY_DIR
from services.civil_affairs.adapters.unit_of_work import to_programme_policy
from services.civil_affairs.domain.applications import (
    Action,
    ApplicationState,
    Limits,
    TransitionRefused,
    add_working_days,
    allowed_actions,
    apply_action,
    new_application,
    reopen_on_appeal,
)
from services.civil_affairs.domain.enrolments import (
    Enrolment,
    EnrolmentStatus,
    add_months,
    plan_payment,
    record_recheck,
    start_voluntary_exit,
)
from services.civil_affairs.domain.programmes import HouseholdFacts, MemberFacts, Programme, ProgrammePolicy, decide
from shared.app import CST
from shared.policy import load_policy_dir, resolve_policy

ON = dt.date(2026, 12, 1)


def policy(region: str = "341221001001", **overrides: object) -> ProgrammePolicy:
    resolved = resolve_policy(load_policy_dir(POLICY_DIR), service="civil_affairs", region_code=region, as_of=ON)
    p = to_programme_policy(resolved)
    return ProgrammePolicy(p.id, p.version, {**p.values, **overrides}, p.sources)


def m(ref: str, born: str, **kw: object) -> MemberFacts:
    return MemberFacts(person_ref=ref, birth_date=dt.date.fromisoformat(born), **kw)  # type: ignore[arg-type]


ADULT, ELDER, CHILD = "1985-01-01", "1950-01-01", "2016-01-01"


@pytest.mark.parametrize(
    ("name", "programme", "members", "income", "assets_ok", "eligible", "rule", "covered"),
    [
        (
            "3 members, 9,000 a year: 3,000 < 4,800",
            "dibao",
            [("a", ADULT, {}), ("b", ADULT, {}), ("c", CHILD, {})],
            "9000",
            True,
            True,
            "dibao_income_below_standard",
            ("a", "b", "c"),
        ),
        (
            "exactly the standard is not below it",
            "dibao",
            [("a", ADULT, {})],
            "4800",
            True,
            False,
            "income_not_below_standard",
            (),
        ),
        ("assets beyond the rules", "dibao", [("a", ADULT, {})], "1000", False, False, "assets_beyond_rules", ()),
        (
            "单人保: grade-2 disabled member in a dibao-edge family (6,000 < 7,200)",
            "dibao",
            [("a", ADULT, {}), ("d", ADULT, {"disability_grade": 2, "disability_kind": "physical"})],
            "12000",
            True,
            True,
            "dibao_single_person",
            ("d",),
        ),
        (
            "单人保: grade-3 intellectual disability counts",
            "dibao",
            [("a", ADULT, {}), ("d", ADULT, {"disability_grade": 3, "disability_kind": "intellectual"})],
            "12000",
            True,
            True,
            "dibao_single_person",
            ("d",),
        ),
        (
            "no 单人保 for grade-3 physical",
            "dibao",
            [("a", ADULT, {}), ("d", ADULT, {"disability_grade": 3, "disability_kind": "physical"})],
            "12000",
            True,
            False,
            "income_not_below_standard",
            (),
        ),
        (
            "no 单人保 above the dibao-edge line (7,200)",
            "dibao",
            [("a", ADULT, {}), ("s", ADULT, {"serious_illness": True})],
            "14400",
            True,
            False,
            "income_not_below_standard",
            (),
        ),
        (
            "特困: an elder without labour, income or supporter",
            "tekun",
            [("o", ELDER, {"labor_capacity": "none"})],
            "0",
            True,
            True,
            "tekun_conditions_met",
            ("o",),
        ),
        (
            "特困 refused: income",
            "tekun",
            [("o", ELDER, {"labor_capacity": "none"})],
            "1200",
            True,
            False,
            "tekun_has_income",
            (),
        ),
        (
            "特困 refused: labour capacity",
            "tekun",
            [("o", ELDER, {"labor_capacity": "weak"})],
            "0",
            True,
            False,
            "tekun_labour_capacity",
            (),
        ),
        (
            "特困 refused: a working-age adult, not disabled",
            "tekun",
            [("o", ADULT, {"labor_capacity": "none"})],
            "0",
            True,
            False,
            "tekun_not_elderly_disabled_or_minor",
            (),
        ),
    ],
)
def test_category_decisions(
    name: str, programme: str, members: list, income: str, assets_ok: bool, eligible: bool, rule: str, covered: tuple
) -> None:
    facts = HouseholdFacts(
        members=tuple(m(ref, born, **kw) for ref, born, kw in members),
        income_annual=Decimal(income),
        assets_within_rules=assets_ok,
    )
    d = decide(Programme(programme), facts, policy(), on=ON)
    assert (d.eligible, d.rule, d.covered) == (eligible, rule, covered), d.explanation
    assert d.policy_id == "linquan-programmes"
    assert d.source


def test_tekun_refused_with_an_able_supporter() -> None:
    facts = HouseholdFacts((m("o", ELDER, labor_capacity="none"),), Decimal(0), supporters_able=True)
    assert decide(Programme.TEKUN, facts, policy(), on=ON).rule == "tekun_supporter_able"


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [("2026-12-01", 10, "2026-12-15"), ("2026-12-04", 1, "2026-12-07"), ("2026-12-01", 30, "2027-01-12")],
)
def test_working_days(start: str, days: int, expected: str) -> None:
    assert add_working_days(dt.date.fromisoformat(start), days).isoformat() == expected


def _app(state_after: list[tuple[str, str]] | None = None):  # type: ignore[no-untyped-def]
    p = policy()
    facts = HouseholdFacts((m("a", ADULT),), Decimal(1000))
    at = dt.datetime(2026, 12, 1, 10, tzinfo=CST)
    return new_application(
        id="app",
        programme=Programme.DIBAO,
        region_code="341221001001",
        household_id="hh",
        facts=facts,
        decision=decide(Programme.DIBAO, facts, p, on=ON),
        limits=Limits.from_policy(p),
        by="applicant",
        role="citizen",
        submitter_index="idx",
        at=at,
    )


@pytest.mark.parametrize(
    ("role", "is_applicant", "expected"),
    [
        ("citizen", True, ["withdraw"]),
        ("village", False, ["accept", "withdraw"]),
        ("township", False, ["accept", "reject", "withdraw"]),
        ("county", False, ["withdraw"]),
        ("admin", False, ["accept", "reject", "withdraw"]),
    ],
)
def test_allowed_actions_at_submission(role: str, is_applicant: bool, expected: list[str]) -> None:
    assert allowed_actions(_app(), role, is_applicant=is_applicant, today=ON) == expected


def test_the_notice_must_run_its_seven_days() -> None:
    from dataclasses import replace

    app = replace(_app(), state=ApplicationState.TOWNSHIP_REVIEW)
    at = dt.datetime(2026, 12, 1, 10, tzinfo=CST)
    posted = apply_action(app, Action.ADVANCE, by="t", role="township", is_applicant=False, at=at, note="ok")
    assert posted.notice_ends_on == dt.date(2026, 12, 7)
    with pytest.raises(TransitionRefused) as exc:
        apply_action(
            posted, Action.ADVANCE, by="t", role="township", is_applicant=False, at=at.replace(day=7), note="ok"
        )
    assert exc.value.rule == "notice_running"
    done = apply_action(
        posted, Action.ADVANCE, by="t", role="township", is_applicant=False, at=at.replace(day=8), note="ok"
    )
    assert done.state is ApplicationState.COUNTY_REVIEW
    with pytest.raises(TransitionRefused) as exc:
        apply_action(done, Action.APPROVE, by="c", role="county", is_applicant=False, at=at.replace(day=9))
    assert exc.value.rule == "note_required"


def _enrolment(programme: Programme = Programme.DIBAO, **kw: object) -> Enrolment:
    members = kw.pop(
        "members",
        (m("a", "1950-06-01"), m("b", ADULT, disability_grade=1, disability_kind="visual"), m("c", "2008-12-15")),
    )
    return Enrolment(
        id="e",
        household_id="hh",
        region_code=str(kw.pop("region_code", "341221001001")),
        programme=programme,
        members=members,  # type: ignore[arg-type]
        household_size=3,
        per_capita_income_annual=Decimal("3000.00"),
        rule="dibao_income_below_standard",
        start_month="2026-01",
        status=EnrolmentStatus.ACTIVE,
        next_recheck_on=dt.date(2027, 6, 1),
        approved_by="county-officer",
        approved_role="county",
        approved_at=dt.datetime(2025, 12, 20, tzinfo=CST),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("period", "aged_70_plus", "minors"),
    [("2026-12", 1, 1), ("2027-01", 1, 0), ("2020-05", 0, 1)],
)
def test_dibao_payment_inputs_count_ages_in_the_benefit_month(period: str, aged_70_plus: int, minors: int) -> None:
    from dataclasses import replace

    e = replace(_enrolment(), start_month="2020-01")
    plan = plan_payment(e, period)
    assert plan is not None
    assert plan.inputs["aged_70_plus"] == aged_70_plus
    assert plan.inputs["minors"] == minors
    assert plan.inputs["severely_ill_or_disabled"] == 1
    assert (plan.kind, plan.funding_source) == ("dibao_monthly", "dibao_fund")


def test_tekun_payment_inputs() -> None:
    e = _enrolment(Programme.TEKUN, members=(m("o", ELDER, care_level="full"), m("p", ELDER)))
    plan = plan_payment(e, "2026-12")
    assert plan is not None
    assert plan.inputs == {"persons": 2, "care_level": "full", "months": 1}
    assert plan.funding_source == "tekun_fund"


def test_nothing_is_paid_before_the_start_month() -> None:
    assert plan_payment(_enrolment(), "2025-12") is None


@pytest.mark.parametrize(
    ("region", "months", "last_month"),
    [("341221001001", 12, "2027-12"), ("341225001001", 6, "2027-06"), ("450102001001", 6, "2027-06")],
)
def test_gradual_exit_months_by_region(region: str, months: int, last_month: str) -> None:
    at = dt.datetime(2026, 12, 15, tzinfo=CST)
    after, outcome = record_recheck(
        _enrolment(region_code=region),
        per_capita_income_annual=Decimal("5000"),
        tekun_conditions_hold=None,
        policy=policy(region),
        by="t",
        role="township",
        at=at,
    )
    assert (outcome, after.status, after.last_month) == ("gradual_exit", EnrolmentStatus.GRADUAL_EXIT, last_month)
    assert add_months("2026-12", months) == last_month
    assert plan_payment(after, "2027-01").inputs["phase"] == "gradual_exit"  # type: ignore[union-attr]
    assert plan_payment(after, add_months(last_month, 1)) is None


@pytest.mark.parametrize(("months", "last_month"), [(1, "2027-01"), (3, "2027-03"), (None, "2027-03")])
def test_voluntary_exit_months(months: int | None, last_month: str) -> None:
    at = dt.datetime(2026, 12, 15, tzinfo=CST)
    after = start_voluntary_exit(_enrolment(), months=months, policy=policy(), by="t", role="township", at=at)
    assert after.last_month == last_month
    assert plan_payment(after, last_month).closes  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("rejected_in", "reopens_in"),
    [
        ("submitted", "submitted"),
        ("economic_check", "township_review"),  # the check answered: the township reviews again
        ("township_review", "township_review"),
        ("public_notice", "township_review"),  # the notice is posted again
        ("county_review", "county_review"),
    ],
)
def test_an_overturned_rejection_reopens_the_step_that_rejected(rejected_in: str, reopens_in: str) -> None:
    from dataclasses import replace

    at = dt.datetime(2026, 12, 1, 10, tzinfo=CST)
    role = "county" if rejected_in == "county_review" else "township"
    app = replace(_app(), state=ApplicationState(rejected_in), notice_posted_on=ON)
    rejected = apply_action(app, Action.REJECT, by="o", role=role, is_applicant=False, at=at, reason="no")
    later = dt.datetime(2026, 12, 15, 9, tzinfo=CST)
    again = reopen_on_appeal(rejected, appeal_id="ap-1", by="county:r", role="county", at=later)
    assert again.state is ApplicationState(reopens_in)
    assert (again.history[-1]["action"], again.history[-1]["appeal_id"]) == ("reopen", "ap-1")
    assert (again.version, again.state_since, again.notice_posted_on) == (rejected.version + 1, later.date(), None)
    assert again.township_deadline == dt.date(2027, 1, 26)  # 30 working days from the reopening
    with pytest.raises(TransitionRefused) as exc:
        reopen_on_appeal(again, appeal_id="ap-1", by="county:r", role="county", at=later)
    assert exc.value.rule == "not_rejected"
