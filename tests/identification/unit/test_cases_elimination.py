"""Risk elimination and exit (DOMAIN.md §5): "as it came in", the guards with their boundaries
(three months, no-labour households, income floor, half-year rule, Hebei's stable year),
rollback and clear-out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from services.identification.domain.cases import (
    Action,
    Case,
    CaseOpened,
    CaseState,
    CaseStatusChanged,
    EliminationProposed,
    HistoryEntry,
    HouseholdCleared,
    HouseholdFacts,
    HouseholdRolledBack,
    Objection,
    Procedure,
    ProcedurePolicy,
    RiskEliminated,
    Role,
    Rule,
    TransitionRefused,
    TransitionRequest,
    allowed_actions,
    apply,
    elimination_guards,
    is_overdue,
)

CST = dt.timezone(dt.timedelta(hours=8))
S = CaseState
A = Action
R = Role

# Documented test defaults: 5-day identification notice; elimination 7 days (篇九 §四(二)),
# three months (篇九), 5,000 yuan floor (Hunan), six months of measures (Liaoning).
POLICY = ProcedurePolicy(
    public_notice_days=5,
    identification_time_limit_days=15,
    elimination_min_months=3,
    elimination_income_floor=Decimal("5000"),
    scale_risk_threshold=Decimal("0.02"),
    elimination_public_notice_days=7,
    elimination_min_measure_months=6,
)
HEBEI = replace(POLICY, elimination_requires_stable_year=True)
NO_HALF_YEAR = replace(POLICY, elimination_min_measure_months=0)

MONITORED_SINCE = dt.date(2024, 1, 15)
FACTS = HouseholdFacts(
    per_capita_income=Decimal("8000"),
    has_labor_capacity=True,
    only_social_security=False,
    measures_since=dt.date(2023, 12, 1),
    risk_factors_removed=True,
    income_stable_since=dt.date(2023, 1, 1),
)


def at(day: dt.date | str, hour: int = 10) -> dt.datetime:
    d = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dt.datetime.combine(d, dt.time(hour), tzinfo=CST)


LATER = at("2024-07-01")


def monitored_case(**overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "id": "case-1",
        "household_id": "hh-1",
        "procedure": Procedure.IDENTIFICATION,
        "state": S.MONITORED,
        "submitted_at": at("2024-01-01"),
        "category": "marginal",
        "risk_types": ("illness",),
        "deadline": dt.date(2024, 1, 16),
        "monitored_since": MONITORED_SINCE,
    }
    fields.update(overrides)
    return Case(**fields)


def elimination_case(state: CaseState = S.SUBMITTED, **overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "id": "case-1/elimination/1",
        "household_id": "hh-1",
        "procedure": Procedure.ELIMINATION,
        "state": state,
        "submitted_at": at("2024-05-01"),
        "category": "marginal",
        "risk_types": ("illness",),
        "monitored_since": MONITORED_SINCE,
        "parent_case_id": "case-1",
    }
    steps = list(S)
    if steps.index(state) >= steps.index(S.PUBLIC_NOTICE):
        fields.update(notice_started_on=dt.date(2024, 5, 10), notice_days=7)
    if state is S.ELIMINATED:
        fields["eliminated_on"] = dt.date(2024, 6, 1)
    fields.update(overrides)
    return Case(**fields)


def req(action: Action, role: Role | str = R.ADMIN, when: dt.datetime = LATER, **kw: Any) -> Any:
    return TransitionRequest(action=action, by=f"{role}-officer", role=role, at=when, **kw)


def refused(case: Case, request: TransitionRequest, **kw: Any) -> TransitionRefused:
    policy = kw.pop("policy", POLICY)
    with pytest.raises(TransitionRefused) as info:
        apply(case, request, policy=policy, **kw)
    return info.value


# --------------------------------------------------------------------------- the full table

STEP_ROLES = {
    S.SUBMITTED: {R.VILLAGE, R.TOWNSHIP},
    S.VERIFICATION: {R.VILLAGE, R.TOWNSHIP},
    S.VILLAGE_REVIEW: {R.VILLAGE},
    S.PUBLIC_NOTICE: {R.VILLAGE},
    S.TOWNSHIP_REVIEW: {R.TOWNSHIP},
    S.COUNTY_REVIEW: {R.COUNTY},
}
NEXT = {
    S.SUBMITTED: S.VERIFICATION,
    S.VERIFICATION: S.VILLAGE_REVIEW,
    S.VILLAGE_REVIEW: S.PUBLIC_NOTICE,
    S.PUBLIC_NOTICE: S.TOWNSHIP_REVIEW,
    S.TOWNSHIP_REVIEW: S.COUNTY_REVIEW,
    S.COUNTY_REVIEW: S.ELIMINATED,
}
#: (state, action) → (resulting state, roles besides admin) for elimination cases.
ELIMINATION_TABLE: dict[tuple[CaseState, Action], tuple[CaseState, set[Role]]] = {
    **{(s, A.ADVANCE): (NEXT[s], roles) for s, roles in STEP_ROLES.items()},
    **{(s, A.REJECT): (S.REJECTED, roles) for s, roles in STEP_ROLES.items()},
    (S.PUBLIC_NOTICE, A.OBJECT): (S.PUBLIC_NOTICE, {R.VILLAGE, R.TOWNSHIP, R.COUNTY, R.PROVINCE}),
    (S.PUBLIC_NOTICE, A.RESOLVE_OBJECTION): (S.PUBLIC_NOTICE, {R.VILLAGE, R.TOWNSHIP}),
    (S.ELIMINATED, A.ROLLBACK): (S.ROLLED_BACK, {R.PROVINCE}),
    (S.ELIMINATED, A.CLEAR): (S.CLEARED, {R.PROVINCE}),
}


def _table_params() -> list[Any]:
    return [
        pytest.param(state, action, role, id=f"elimination-{state}-{action}-{role}")
        for state in S
        for action in Action
        if action is not A.SUBMIT
        for role in R
    ]


@pytest.mark.parametrize(("state", "action", "role"), _table_params())
def test_elimination_state_action_role_table(state: CaseState, action: Action, role: Role) -> None:
    objections: tuple[Objection, ...] = ()
    if action is A.RESOLVE_OBJECTION:
        objections = (Objection("objection-1", "v", at("2024-05-11"), "收入不稳"),)
    case = elimination_case(state, objections=objections)
    request = req(action, role, note="agreed", reason="unstable", investigators=("wang", "li"))
    entry = ELIMINATION_TABLE.get((state, action))
    if entry is None:
        assert refused(case, request, facts=FACTS).rule is Rule.STATE_NOT_ALLOWED
        return
    to_state, roles = entry
    if role not in roles | {R.ADMIN}:
        assert refused(case, request, facts=FACTS).rule is Rule.ROLE_NOT_ALLOWED
        return
    result = apply(case, request, policy=POLICY, facts=FACTS)
    assert result.case.state is to_state
    last = result.case.history[-1]
    assert (last.action, last.from_state, last.to_state, last.by, last.role, last.at) == (
        action,
        state,
        to_state,
        f"{role}-officer",
        role,
        LATER,
    )
    assert len(result.case.history) == 1


# --------------------------------------------------------------------------- as it came in


def test_elimination_runs_as_it_came_in() -> None:
    parent = monitored_case()
    proposed = apply(
        parent,
        req(A.PROPOSE_ELIMINATION, R.VILLAGE, at("2024-06-01"), note="收入稳定"),
        policy=POLICY,
        facts=FACTS,
    )
    assert proposed.case.state is S.MONITORED
    assert proposed.case.history[-1] == HistoryEntry(
        A.PROPOSE_ELIMINATION,
        S.MONITORED,
        S.MONITORED,
        "village-officer",
        R.VILLAGE,
        at("2024-06-01"),
        "elimination case case-1/elimination/1 opened; 收入稳定",
    )
    case = proposed.opened_case
    assert case is not None
    assert (case.id, case.procedure, case.state, case.parent_case_id) == (
        "case-1/elimination/1",
        Procedure.ELIMINATION,
        S.SUBMITTED,
        "case-1",
    )
    assert case.monitored_since == MONITORED_SINCE
    assert case.deadline is None
    assert case.history == (
        HistoryEntry(
            A.PROPOSE_ELIMINATION,
            None,
            S.SUBMITTED,
            "village-officer",
            R.VILLAGE,
            at("2024-06-01"),
            "收入稳定",
        ),
    )
    assert proposed.events == (
        EliminationProposed(
            case_id="case-1",
            household_id="hh-1",
            at=at("2024-06-01"),
            elimination_case_id="case-1/elimination/1",
        ),
        CaseOpened(
            case_id="case-1/elimination/1",
            household_id="hh-1",
            at=at("2024-06-01"),
            procedure=Procedure.ELIMINATION,
            state=S.SUBMITTED,
            urgent=False,
            deadline=None,
            parent_case_id="case-1",
        ),
    )
    steps = [
        (req(A.ADVANCE, R.VILLAGE, at("2024-06-02")), S.VERIFICATION),
        (
            req(A.ADVANCE, R.TOWNSHIP, at("2024-06-03"), investigators=("zhang", "wang")),
            S.VILLAGE_REVIEW,
        ),
        (req(A.ADVANCE, R.VILLAGE, at("2024-06-04"), note="评议通过"), S.PUBLIC_NOTICE),
        (req(A.ADVANCE, R.VILLAGE, at("2024-06-11")), S.TOWNSHIP_REVIEW),
        (req(A.ADVANCE, R.TOWNSHIP, at("2024-06-12"), note="审核通过"), S.COUNTY_REVIEW),
        (req(A.ADVANCE, R.COUNTY, at("2024-06-13"), note="审定"), S.ELIMINATED),
    ]
    last_events: tuple[Any, ...] = ()
    for request, expected in steps:
        result = apply(case, request, policy=POLICY, facts=FACTS)
        assert result.case.state is expected
        case = result.case
        last_events = result.events
    assert case.notice_days == 7
    assert case.notice_ends_on == dt.date(2024, 6, 10)
    assert case.eliminated_on == dt.date(2024, 6, 13)
    assert len(case.history) == 7
    assert last_events == (
        CaseStatusChanged(
            case_id=case.id,
            household_id="hh-1",
            at=at("2024-06-13"),
            procedure=Procedure.ELIMINATION,
            action=A.ADVANCE,
            from_state=S.COUNTY_REVIEW,
            to_state=S.ELIMINATED,
            by="county-officer",
            role=R.COUNTY,
        ),
        RiskEliminated(
            case_id=case.id,
            household_id="hh-1",
            at=at("2024-06-13"),
            eliminated_on=dt.date(2024, 6, 13),
            parent_case_id="case-1",
        ),
    )
    assert not is_overdue(case, dt.date(2030, 1, 1))
    assert case.assistance_may_start_on is None


@pytest.mark.parametrize(
    ("day", "rule"),
    [
        pytest.param(1, Rule.NOTICE_PERIOD_RUNNING, id="day-1"),
        pytest.param(5, Rule.NOTICE_PERIOD_RUNNING, id="day-5-identification-would-pass"),
        pytest.param(7, Rule.NOTICE_PERIOD_RUNNING, id="day-7"),
        pytest.param(8, None, id="day-8"),
    ],
)
def test_elimination_notice_is_seven_days(day: int, rule: Rule | None) -> None:
    posted = dt.date(2024, 6, 4)
    case = apply(
        elimination_case(S.VILLAGE_REVIEW),
        req(A.ADVANCE, R.VILLAGE, at(posted), note="评议通过"),
        policy=POLICY,
    ).case
    request = req(A.ADVANCE, R.VILLAGE, at(posted + dt.timedelta(days=day - 1), 23))
    if rule is None:
        assert apply(case, request, policy=POLICY).case.state is S.TOWNSHIP_REVIEW
    else:
        assert refused(case, request).rule is rule


def test_proposal_ids() -> None:
    parent = monitored_case()
    first = apply(parent, req(A.PROPOSE_ELIMINATION), policy=POLICY, facts=FACTS)
    assert first.opened_case is not None
    assert first.opened_case.id == "case-1/elimination/1"
    second = apply(first.case, req(A.PROPOSE_ELIMINATION), policy=POLICY, facts=FACTS)
    assert second.opened_case is not None
    assert second.opened_case.id == "case-1/elimination/2"
    named = apply(parent, req(A.PROPOSE_ELIMINATION, new_case_id="uuid-7"), policy=POLICY, facts=FACTS)
    assert named.opened_case is not None
    assert named.opened_case.id == "uuid-7"
    assert named.case.history[-1].note == "elimination case uuid-7 opened"


def test_one_elimination_at_a_time() -> None:
    facts = replace(FACTS, open_elimination_case_id="case-1/elimination/1")
    error = refused(monitored_case(), req(A.PROPOSE_ELIMINATION), facts=facts)
    assert error.rule is Rule.ELIMINATION_IN_PROGRESS


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(monitored_case(), id="propose"),
        pytest.param(elimination_case(S.COUNTY_REVIEW), id="county-approval"),
    ],
)
def test_guards_need_facts(case: Case) -> None:
    action = A.PROPOSE_ELIMINATION if case.state is S.MONITORED else A.ADVANCE
    assert refused(case, req(action, note="ok"), facts=None).rule is Rule.FACTS_REQUIRED


def test_elimination_rejected_keeps_household_monitored() -> None:
    result = apply(
        elimination_case(S.COUNTY_REVIEW),
        req(A.REJECT, R.COUNTY, reason="刚性支出不可控"),
        policy=POLICY,
    )
    assert result.case.state is S.REJECTED
    assert result.case.eliminated_on is None


# --------------------------------------------------------------------------- §5 guards

GUARD_ROWS = [
    # name, monitored_since, facts overrides, on, policy, expected rule (None = allowed)
    ("3-months-less-a-day", dt.date(2024, 1, 15), {}, "2024-04-14", NO_HALF_YEAR,
     Rule.ELIMINATION_MIN_MONTHS),
    ("exactly-3-months", dt.date(2024, 1, 15), {}, "2024-04-15", NO_HALF_YEAR, None),
    ("jan31-3-months-less-a-day", dt.date(2024, 1, 31), {}, "2024-04-29", NO_HALF_YEAR,
     Rule.ELIMINATION_MIN_MONTHS),
    ("jan31-3-months-is-apr30", dt.date(2024, 1, 31), {}, "2024-04-30", NO_HALF_YEAR, None),
    ("monitoring-start-unknown", None, {}, "2024-07-01", POLICY, Rule.ELIMINATION_MIN_MONTHS),
    ("restarted-after-rollback", dt.date(2023, 1, 1), {"monitored_since": dt.date(2024, 5, 1)},
     "2024-07-31", POLICY, Rule.ELIMINATION_MIN_MONTHS),
    ("restarted-3-months-reached", dt.date(2023, 1, 1), {"monitored_since": dt.date(2024, 5, 1)},
     "2024-08-01", POLICY, None),
    ("income-below-floor", MONITORED_SINCE, {"per_capita_income": Decimal("4999.99")},
     "2024-07-01", POLICY, Rule.ELIMINATION_INCOME_FLOOR),
    ("income-at-floor", MONITORED_SINCE, {"per_capita_income": Decimal("5000")},
     "2024-07-01", POLICY, None),
    ("no-labour-only-social-security", MONITORED_SINCE,
     {"has_labor_capacity": False, "only_social_security": True}, "2024-07-01", POLICY,
     Rule.NO_LABOR_SOCIAL_SECURITY),
    ("no-labour-other-measures-too", MONITORED_SINCE,
     {"has_labor_capacity": False, "only_social_security": False}, "2024-07-01", POLICY, None),
    ("labour-only-social-security", MONITORED_SINCE,
     {"has_labor_capacity": True, "only_social_security": True}, "2024-07-01", POLICY, None),
    ("measures-6-months-less-a-day", MONITORED_SINCE, {"measures_since": dt.date(2024, 1, 10)},
     "2024-07-09", POLICY, Rule.HALF_YEAR_RULE),
    ("measures-exactly-6-months", MONITORED_SINCE, {"measures_since": dt.date(2024, 1, 10)},
     "2024-07-10", POLICY, None),
    ("no-measures-recorded", MONITORED_SINCE, {"measures_since": None}, "2024-07-01", POLICY,
     Rule.HALF_YEAR_RULE),
    ("half-year-rule-off", MONITORED_SINCE, {"measures_since": None}, "2024-07-01", NO_HALF_YEAR,
     None),
    ("stable-year-off-by-default", MONITORED_SINCE,
     {"risk_factors_removed": False, "income_stable_since": None}, "2024-07-01", POLICY, None),
    ("hebei-factors-not-removed", MONITORED_SINCE, {"risk_factors_removed": False},
     "2024-07-01", HEBEI, Rule.STABLE_YEAR),
    ("hebei-income-not-stable", MONITORED_SINCE, {"income_stable_since": None},
     "2024-07-01", HEBEI, Rule.STABLE_YEAR),
    ("hebei-stable-exactly-1-year", MONITORED_SINCE, {"income_stable_since": dt.date(2023, 7, 1)},
     "2024-07-01", HEBEI, Rule.STABLE_YEAR),
    ("hebei-stable-1-year-and-a-day", MONITORED_SINCE,
     {"income_stable_since": dt.date(2023, 7, 1)}, "2024-07-02", HEBEI, None),
]  # fmt: skip


def _guard_params() -> list[Any]:
    params = []
    for name, since, overrides, on, policy, rule in GUARD_ROWS:
        for where in ("propose", "approve"):
            params.append(pytest.param(where, since, overrides, on, policy, rule, id=f"{where}-{name}"))
    return params


@pytest.mark.parametrize(("where", "since", "overrides", "on", "policy", "rule"), _guard_params())
def test_elimination_guards(
    where: str,
    since: dt.date | None,
    overrides: dict[str, Any],
    on: str,
    policy: ProcedurePolicy,
    rule: Rule | None,
) -> None:
    facts = replace(FACTS, **overrides)
    if where == "propose":
        case = monitored_case(monitored_since=since)
        request = req(A.PROPOSE_ELIMINATION, R.VILLAGE, at(on))
        expected_state = S.MONITORED
    else:
        case = elimination_case(S.COUNTY_REVIEW, monitored_since=since)
        request = req(A.ADVANCE, R.COUNTY, at(on), note="审定")
        expected_state = S.ELIMINATED
    if rule is None:
        result = apply(case, request, policy=policy, facts=facts)
        assert result.case.state is expected_state
    else:
        error = refused(case, request, policy=policy, facts=facts)
        assert error.rule is rule
        assert error.violations == (rule,)


def test_half_year_rule_message() -> None:
    facts = replace(FACTS, measures_since=dt.date(2024, 5, 1))
    error = refused(monitored_case(), req(A.PROPOSE_ELIMINATION, R.VILLAGE), facts=facts)
    assert error.rule == "half_year_rule"
    assert "half-year rule (Liaoning): keep as tracked" in error.message
    assert "跟踪关注" in error.source


def test_income_floor_source_and_all_violations_listed() -> None:
    facts = replace(
        FACTS,
        per_capita_income=Decimal("3000"),
        has_labor_capacity=False,
        only_social_security=True,
        measures_since=dt.date(2024, 6, 1),
    )
    case = monitored_case(monitored_since=dt.date(2024, 5, 1))
    error = refused(case, req(A.PROPOSE_ELIMINATION, R.VILLAGE), facts=facts, policy=HEBEI)
    assert error.rule is Rule.ELIMINATION_MIN_MONTHS
    assert error.violations == (
        Rule.ELIMINATION_MIN_MONTHS,
        Rule.NO_LABOR_SOCIAL_SECURITY,
        Rule.ELIMINATION_INCOME_FLOOR,
        Rule.HALF_YEAR_RULE,
    )


def test_guard_outcomes_explain_every_rule() -> None:
    outcomes = elimination_guards(monitored_since=MONITORED_SINCE, facts=FACTS, policy=HEBEI, on=dt.date(2024, 7, 1))
    assert [(o.rule, o.passed) for o in outcomes] == [
        (Rule.ELIMINATION_MIN_MONTHS, True),
        (Rule.NO_LABOR_SOCIAL_SECURITY, True),
        (Rule.ELIMINATION_INCOME_FLOOR, True),
        (Rule.HALF_YEAR_RULE, True),
        (Rule.STABLE_YEAR, True),
    ]
    assert outcomes[0].detail == (
        "monitored since 2024-01-15; at least 3 months of monitoring are reached on 2024-04-15"
    )
    assert outcomes[2].detail == "per-capita income 8000 against the floor 5000"
    assert "5000元" in outcomes[2].source


def test_guard_parameters_come_from_policy() -> None:
    strict = replace(POLICY, elimination_min_months=6, elimination_income_floor=Decimal("6000"))
    facts = replace(FACTS, per_capita_income=Decimal("5500"))
    case = monitored_case()
    request = req(A.PROPOSE_ELIMINATION, R.VILLAGE, at("2024-07-14"))
    error = refused(case, request, facts=facts, policy=strict)
    assert error.violations == (Rule.ELIMINATION_MIN_MONTHS, Rule.ELIMINATION_INCOME_FLOOR)


# --------------------------------------------------------------------------- rollback and clear


def test_rollback_by_province() -> None:
    case = elimination_case(S.ELIMINATED)
    result = apply(case, req(A.ROLLBACK, R.PROVINCE, reason="整户无劳动能力"), policy=POLICY)
    assert result.case.state is S.ROLLED_BACK
    assert result.case.reason == "整户无劳动能力"
    assert result.case.history[-1] == HistoryEntry(
        A.ROLLBACK,
        S.ELIMINATED,
        S.ROLLED_BACK,
        "province-officer",
        R.PROVINCE,
        LATER,
        "整户无劳动能力",
    )
    assert result.events[1] == HouseholdRolledBack(
        case_id=case.id, household_id="hh-1", at=LATER, parent_case_id="case-1"
    )


def test_clear_by_province() -> None:
    case = monitored_case()
    result = apply(case, req(A.CLEAR, R.PROVINCE, reason="识别错误"), policy=POLICY)
    assert result.case.state is S.CLEARED
    assert result.events[1] == HouseholdCleared(case_id="case-1", household_id="hh-1", at=LATER)
    assert refused(result.case, req(A.PROPOSE_ELIMINATION), facts=FACTS).rule is (Rule.STATE_NOT_ALLOWED)


def test_clear_an_eliminated_household_and_a_note_may_carry_the_reason() -> None:
    """DESIGN.md: "a monitored or eliminated household may later be rolled_back or cleared" —
    an eliminated household found wrongly identified is cleared out on its elimination case. A
    reason given as `note` is the reason (rollback / clear / reject name one of the two)."""
    case = elimination_case(S.ELIMINATED)
    result = apply(case, req(A.CLEAR, R.PROVINCE, note="识别错误"), policy=POLICY)
    assert result.case.state is S.CLEARED
    assert result.case.reason == "识别错误"
    assert result.events[1] == HouseholdCleared(case_id=case.id, household_id="hh-1", at=LATER)
    rolled = apply(case, req(A.ROLLBACK, R.PROVINCE, note="收入不稳定"), policy=POLICY)
    assert rolled.case.state is S.ROLLED_BACK
    assert rolled.case.reason == "收入不稳定"
    assert refused(case, req(A.CLEAR, R.COUNTY, note="识别错误")).rule is Rule.ROLE_NOT_ALLOWED


@pytest.mark.parametrize(
    ("case", "action", "rule"),
    [
        pytest.param(monitored_case(), A.ROLLBACK, Rule.STATE_NOT_ALLOWED, id="rollback-monitored"),
        pytest.param(
            elimination_case(S.ELIMINATED),
            A.PROPOSE_ELIMINATION,
            Rule.STATE_NOT_ALLOWED,
            id="propose-on-elimination-case",
        ),
        pytest.param(elimination_case(S.ROLLED_BACK), A.ROLLBACK, Rule.STATE_NOT_ALLOWED, id="twice"),
        pytest.param(elimination_case(S.ELIMINATED), A.ROLLBACK, Rule.REASON_REQUIRED, id="no-reason"),
    ],
)
def test_rollback_and_clear_refusals(case: Case, action: Action, rule: Rule) -> None:
    assert refused(case, req(action, R.PROVINCE), facts=FACTS).rule is rule


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        pytest.param(R.PROVINCE, ["rollback", "clear"], id="province"),
        pytest.param(R.ADMIN, ["rollback", "clear"], id="admin"),
        pytest.param(R.COUNTY, [], id="county"),
        pytest.param(R.VILLAGE, [], id="village"),
        pytest.param(R.CITIZEN, [], id="citizen"),
    ],
)
def test_allowed_actions_on_eliminated(role: Role, expected: list[str]) -> None:
    case = elimination_case(S.ELIMINATED)
    assert allowed_actions(case, role, today=dt.date(2024, 7, 1), policy=POLICY) == expected


@pytest.mark.parametrize(
    ("facts", "today", "expected"),
    [
        pytest.param(FACTS, dt.date(2024, 7, 1), ["advance", "reject"], id="guards-pass"),
        pytest.param(None, dt.date(2024, 7, 1), ["reject"], id="no-facts"),
        pytest.param(
            replace(FACTS, per_capita_income=Decimal("100")),
            dt.date(2024, 7, 1),
            ["reject"],
            id="below-floor",
        ),
    ],
)
def test_allowed_actions_county_approval(facts: HouseholdFacts | None, today: dt.date, expected: list[str]) -> None:
    case = elimination_case(S.COUNTY_REVIEW)
    assert allowed_actions(case, R.COUNTY, today=today, policy=POLICY, facts=facts) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(dt.date(2024, 4, 14), [], id="3-months-less-a-day"),
        pytest.param(dt.date(2024, 6, 1), ["propose_elimination"], id="after-3-months"),
    ],
)
def test_allowed_actions_propose(today: dt.date, expected: list[str]) -> None:
    facts = replace(FACTS, measures_since=dt.date(2023, 1, 1))
    actions = allowed_actions(monitored_case(), R.VILLAGE, today=today, policy=POLICY, facts=facts)
    assert actions == expected
