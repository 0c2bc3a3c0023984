"""The identification procedure (DOMAIN.md §3): every state × action × role, the request-field
guards, the public notice and its objections, the green channel, deadlines and the policy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from services.identification.domain.calendar import TimeLimitKind
from services.identification.domain.cases import (
    Action,
    Case,
    CaseOpened,
    CaseRejected,
    CaseState,
    CaseStatusChanged,
    GreenChannelOpened,
    HistoryEntry,
    HouseholdFacts,
    HouseholdIdentified,
    Objection,
    ObjectionRaised,
    ObjectionResolved,
    Procedure,
    ProcedurePolicy,
    Role,
    Rule,
    TransitionRefused,
    TransitionRequest,
    allowed_actions,
    apply,
    identification_deadline,
    is_overdue,
    next_state,
    open_case,
)

CST = dt.timezone(dt.timedelta(hours=8))
S = CaseState
A = Action
R = Role

# Documented defaults for the tests: Suining/Lingshou 5-day notice, Liaoning 15-day limit,
# 篇九's three months and 5,000 yuan, Liaoning's 2 %.
POLICY = ProcedurePolicy(
    public_notice_days=5,
    identification_time_limit_days=15,
    elimination_min_months=3,
    elimination_income_floor=Decimal("5000"),
    scale_risk_threshold=Decimal("0.02"),
)
GOOD_FACTS = HouseholdFacts(
    per_capita_income=Decimal("8000"),
    has_labor_capacity=True,
    measures_since=dt.date(2023, 6, 1),
)


def at(day: dt.date | str, hour: int = 10) -> dt.datetime:
    d = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dt.datetime.combine(d, dt.time(hour), tzinfo=CST)


SUBMITTED_AT = at("2024-03-01", 9)
LATER = at("2024-06-01")  # notice long over, three months of monitoring reached


def make_case(state: CaseState = S.SUBMITTED, **overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "id": "case-1",
        "household_id": "hh-1",
        "procedure": Procedure.IDENTIFICATION,
        "state": state,
        "submitted_at": SUBMITTED_AT,
        "category": "marginal",
        "risk_types": ("illness",),
        "deadline": dt.date(2024, 3, 16),
    }
    steps = list(S)
    if steps.index(state) >= steps.index(S.PUBLIC_NOTICE):
        fields.update(notice_started_on=dt.date(2024, 3, 1), notice_days=5)
    if state is S.MONITORED:
        fields["monitored_since"] = dt.date(2024, 1, 2)
    fields.update(overrides)
    return Case(**fields)


def req(action: Action, role: Role | str = R.ADMIN, when: dt.datetime = LATER, **kw: Any) -> Any:
    return TransitionRequest(action=action, by=f"{role}-officer", role=role, at=when, **kw)


def full(action: Action, role: Role | str, when: dt.datetime = LATER, **kw: Any) -> Any:
    """A request with every field an action may need."""
    fields: dict[str, Any] = {
        "note": "agreed",
        "reason": "not eligible",
        "investigators": ("wang", "li"),
    }
    fields.update(kw)
    return req(action, role, when, **fields)


def refused(case: Case, request: TransitionRequest, **kw: Any) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as info:
        apply(case, request, policy=kw.pop("policy", POLICY), **kw)
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
    S.COUNTY_REVIEW: S.MONITORED,
}
OFFICERS = {R.VILLAGE, R.TOWNSHIP, R.COUNTY, R.PROVINCE}

#: (state, action) → (resulting state, roles besides admin) for identification cases.
IDENTIFICATION_TABLE: dict[tuple[CaseState, Action], tuple[CaseState, set[Role]]] = {
    **{(s, A.ADVANCE): (NEXT[s], roles) for s, roles in STEP_ROLES.items()},
    **{(s, A.REJECT): (S.REJECTED, roles) for s, roles in STEP_ROLES.items()},
    (S.PUBLIC_NOTICE, A.OBJECT): (S.PUBLIC_NOTICE, OFFICERS),
    (S.PUBLIC_NOTICE, A.RESOLVE_OBJECTION): (S.PUBLIC_NOTICE, {R.VILLAGE, R.TOWNSHIP}),
    (S.MONITORED, A.PROPOSE_ELIMINATION): (S.MONITORED, {R.VILLAGE}),
    (S.MONITORED, A.CLEAR): (S.CLEARED, {R.PROVINCE}),
}
# override_exclusion needs a stored exclusion: its table is in test_case_exclusions.py
TRANSITION_ACTIONS = [a for a in Action if a not in (A.SUBMIT, A.OVERRIDE_EXCLUSION)]


def _expected_note(state: CaseState, action: Action) -> str:
    if action is A.ADVANCE and state is S.VERIFICATION:
        return "investigators: wang, li; agreed"
    if action in (A.REJECT, A.CLEAR, A.ROLLBACK):
        return "not eligible"
    if action is A.RESOLVE_OBJECTION:
        return "objection-1: agreed"
    if action is A.PROPOSE_ELIMINATION:
        return "elimination case case-1/elimination/1 opened; agreed"
    return "agreed"


def _table_params() -> list[Any]:
    params = []
    for state in S:
        for action in TRANSITION_ACTIONS:
            for role in R:
                params.append(pytest.param(state, action, role, id=f"{state}-{action}-{role}"))
    return params


@pytest.mark.parametrize(("state", "action", "role"), _table_params())
def test_identification_state_action_role_table(state: CaseState, action: Action, role: Role) -> None:
    objections: tuple[Objection, ...] = ()
    if action is A.RESOLVE_OBJECTION:
        objections = (Objection("objection-1", "village-officer", at("2024-03-02"), "rich"),)
    case = make_case(state, objections=objections)
    request = full(action, role)
    entry = IDENTIFICATION_TABLE.get((state, action))
    if entry is None:
        assert refused(case, request, facts=GOOD_FACTS).rule is Rule.STATE_NOT_ALLOWED
        return
    to_state, roles = entry
    if role not in roles | {R.ADMIN}:
        assert refused(case, request, facts=GOOD_FACTS).rule is Rule.ROLE_NOT_ALLOWED
        return
    result = apply(case, request, policy=POLICY, facts=GOOD_FACTS)
    assert result.case.state is to_state
    assert result.case.version == case.version + 1
    assert result.case.history == (
        HistoryEntry(action, state, to_state, f"{role}-officer", role, LATER, _expected_note(state, action)),
    )
    assert case.history == ()  # the input is untouched
    assert case.state is state
    if to_state is not state:
        assert result.events[0] == CaseStatusChanged(
            case_id="case-1",
            household_id="hh-1",
            at=LATER,
            procedure=Procedure.IDENTIFICATION,
            action=action,
            from_state=state,
            to_state=to_state,
            by=f"{role}-officer",
            role=role,
        )


# --------------------------------------------------------------------------- happy path


def test_full_identification_run_records_every_step() -> None:
    opened = open_case(
        case_id="case-1",
        household_id="hh-1",
        by="citizen-1",
        role="citizen",
        at=SUBMITTED_AT,
        policy=POLICY,
        category="marginal",
        risk_types=["illness"],
    )
    case = opened.case
    assert case.state is S.SUBMITTED
    assert case.deadline == dt.date(2024, 3, 16)
    assert opened.events == (
        CaseOpened(
            case_id="case-1",
            household_id="hh-1",
            at=SUBMITTED_AT,
            procedure=Procedure.IDENTIFICATION,
            state=S.SUBMITTED,
            urgent=False,
            deadline=dt.date(2024, 3, 16),
        ),
    )
    steps = [
        (req(A.ADVANCE, R.VILLAGE, at("2024-03-02")), S.VERIFICATION),
        (
            req(A.ADVANCE, R.TOWNSHIP, at("2024-03-03"), investigators=("zhang", "wang")),
            S.VILLAGE_REVIEW,
        ),
        (req(A.ADVANCE, R.VILLAGE, at("2024-03-04"), note="评议通过"), S.PUBLIC_NOTICE),
        (req(A.ADVANCE, R.VILLAGE, at("2024-03-09")), S.TOWNSHIP_REVIEW),
        (req(A.ADVANCE, R.TOWNSHIP, at("2024-03-10"), note="乡镇长签字"), S.COUNTY_REVIEW),
        (req(A.ADVANCE, R.COUNTY, at("2024-03-11"), note="比对通过"), S.MONITORED),
    ]
    events: list[Any] = []
    for request, expected in steps:
        result = apply(case, request, policy=POLICY)
        assert result.case.state is expected
        case = result.case
        events.extend(result.events)
    assert [e.to_state for e in case.history] == [
        S.SUBMITTED,
        S.VERIFICATION,
        S.VILLAGE_REVIEW,
        S.PUBLIC_NOTICE,
        S.TOWNSHIP_REVIEW,
        S.COUNTY_REVIEW,
        S.MONITORED,
    ]
    assert case.history[2].note == "investigators: zhang, wang"
    assert case.investigators == ("zhang", "wang")
    assert case.notice_started_on == dt.date(2024, 3, 4)
    assert case.notice_days == 5
    assert case.notice_ends_on == dt.date(2024, 3, 8)
    assert case.monitored_since == dt.date(2024, 3, 11)
    assert case.assistance_may_start_on == dt.date(2024, 3, 11)
    assert case.version == 7
    assert events[-1] == HouseholdIdentified(
        case_id="case-1",
        household_id="hh-1",
        at=at("2024-03-11"),
        category="marginal",
        risk_types=("illness",),
        monitored_since=dt.date(2024, 3, 11),
        within_time_limit=True,
    )
    assert sum(isinstance(e, CaseStatusChanged) for e in events) == 6
    assert not is_overdue(case, dt.date(2025, 1, 1))
    assert allowed_actions(case, R.VILLAGE, today=dt.date(2024, 3, 12), policy=POLICY) == []


@pytest.mark.parametrize(
    ("identified_on", "within"),
    [
        pytest.param("2024-03-16", True, id="on-deadline-day"),
        pytest.param("2024-03-17", False, id="day-after-deadline"),
    ],
)
def test_identified_event_says_whether_within_time_limit(identified_on: str, within: bool) -> None:
    case = make_case(S.COUNTY_REVIEW)
    result = apply(case, req(A.ADVANCE, R.COUNTY, at(identified_on), note="ok"), policy=POLICY)
    assert isinstance(result.events[1], HouseholdIdentified)
    assert result.events[1].within_time_limit is within


# --------------------------------------------------------------------------- request fields


@pytest.mark.parametrize(
    ("investigators", "rule"),
    [
        pytest.param((), Rule.INVESTIGATORS_REQUIRED, id="none"),
        pytest.param(("wang",), Rule.INVESTIGATORS_REQUIRED, id="one"),
        pytest.param(("wang", "wang"), Rule.INVESTIGATORS_REQUIRED, id="same-person-twice"),
        pytest.param(("wang", "  "), Rule.INVESTIGATORS_REQUIRED, id="one-blank"),
        pytest.param(("wang", "li"), None, id="two"),
        pytest.param(("wang", "li", "zhao"), None, id="three"),
    ],
)
def test_leaving_verification_needs_two_investigators(investigators: tuple[str, ...], rule: Rule | None) -> None:
    case = make_case(S.VERIFICATION)
    request = req(A.ADVANCE, R.VILLAGE, investigators=investigators)
    if rule is not None:
        assert refused(case, request).rule is rule
    else:
        result = apply(case, request, policy=POLICY)
        assert result.case.investigators == investigators
        assert result.case.history[-1].note == "investigators: " + ", ".join(investigators)


@pytest.mark.parametrize("note", [None, "", "   "], ids=["none", "empty", "blank"])
@pytest.mark.parametrize(
    ("state", "role"),
    [
        pytest.param(S.VILLAGE_REVIEW, R.VILLAGE, id="village-review"),
        pytest.param(S.TOWNSHIP_REVIEW, R.TOWNSHIP, id="township-review"),
        pytest.param(S.COUNTY_REVIEW, R.COUNTY, id="county-review"),
    ],
)
def test_every_review_needs_a_note(state: CaseState, role: Role, note: str | None) -> None:
    assert refused(make_case(state), req(A.ADVANCE, role, note=note)).rule is Rule.NOTE_REQUIRED


@pytest.mark.parametrize(
    ("state", "role"),
    [
        pytest.param(S.SUBMITTED, R.VILLAGE, id="submitted"),
        pytest.param(S.PUBLIC_NOTICE, R.VILLAGE, id="public-notice"),
    ],
)
def test_non_review_steps_advance_without_note(state: CaseState, role: Role) -> None:
    result = apply(make_case(state), req(A.ADVANCE, role), policy=POLICY)
    assert result.case.history[-1].note is None


@pytest.mark.parametrize("reason", [None, "", " "], ids=["none", "empty", "blank"])
@pytest.mark.parametrize("state", list(STEP_ROLES), ids=str)
def test_reject_needs_a_reason(state: CaseState, reason: str | None) -> None:
    request = req(A.REJECT, R.ADMIN, reason=reason)
    assert refused(make_case(state), request).rule is Rule.REASON_REQUIRED


@pytest.mark.parametrize(
    ("state", "roles"),
    list(STEP_ROLES.items()),
    ids=lambda v: str(v) if isinstance(v, str) else "-".join(sorted(map(str, v))),
)
def test_reject_at_any_step(state: CaseState, roles: set[Role]) -> None:
    role = sorted(roles)[0]
    result = apply(make_case(state), req(A.REJECT, role, reason="存款超标"), policy=POLICY)
    assert result.case.state is S.REJECTED
    assert result.case.reason == "存款超标"
    assert result.case.history[-1].note == "存款超标"
    assert result.events[1] == CaseRejected(
        case_id="case-1",
        household_id="hh-1",
        at=LATER,
        procedure=Procedure.IDENTIFICATION,
        from_state=state,
    )
    assert not result.case.is_open


@pytest.mark.parametrize("reason", [None, " "], ids=["none", "blank"])
def test_clear_needs_a_reason(reason: str | None) -> None:
    request = req(A.CLEAR, R.PROVINCE, reason=reason)
    assert refused(make_case(S.MONITORED), request).rule is Rule.REASON_REQUIRED


@pytest.mark.parametrize("role", ["mayor", "", "ADMIN"])
def test_unknown_role_is_refused(role: str) -> None:
    error = refused(make_case(S.SUBMITTED), req(A.ADVANCE, role))
    assert error.rule is Rule.ROLE_NOT_ALLOWED


def test_submit_is_not_a_transition() -> None:
    assert refused(make_case(), req(A.SUBMIT)).rule is Rule.STATE_NOT_ALLOWED


def test_refusal_carries_rule_source_and_message() -> None:
    error = refused(make_case(S.VERIFICATION), req(A.ADVANCE, R.VILLAGE, investigators=("a",)))
    assert error.rule == "investigators_required"
    assert "不少于2人" in error.source
    assert "at least 2 investigators" in error.message
    assert error.violations == (Rule.INVESTIGATORS_REQUIRED,)
    assert str(error).startswith("investigators_required: ")


def test_state_is_checked_before_role_and_role_before_fields() -> None:
    assert refused(make_case(S.REJECTED), req(A.ADVANCE, "citizen")).rule is Rule.STATE_NOT_ALLOWED
    request = req(A.ADVANCE, R.CITIZEN, investigators=())
    assert refused(make_case(S.VERIFICATION), request).rule is Rule.ROLE_NOT_ALLOWED


# --------------------------------------------------------------------------- public notice

NOTICE_CASE_START = dt.date(2024, 3, 1)


@pytest.mark.parametrize(
    ("notice_days", "day", "rule"),
    [
        pytest.param(5, 1, Rule.NOTICE_PERIOD_RUNNING, id="5-day-notice-day-1"),
        pytest.param(5, 5, Rule.NOTICE_PERIOD_RUNNING, id="5-day-notice-day-5"),
        pytest.param(5, 6, None, id="5-day-notice-day-6"),
        pytest.param(7, 7, Rule.NOTICE_PERIOD_RUNNING, id="7-day-notice-day-7"),
        pytest.param(7, 8, None, id="7-day-notice-day-8"),
    ],
)
def test_notice_cannot_advance_before_it_has_run(notice_days: int, day: int, rule: Rule | None) -> None:
    policy = ProcedurePolicy(
        public_notice_days=notice_days,
        identification_time_limit_days=15,
        elimination_min_months=3,
        elimination_income_floor=Decimal("5000"),
        scale_risk_threshold=Decimal("0.02"),
    )
    case = apply(
        make_case(S.VILLAGE_REVIEW),
        req(A.ADVANCE, R.VILLAGE, at(NOTICE_CASE_START), note="评议通过"),
        policy=policy,
    ).case
    assert case.notice_days == notice_days
    when = at(NOTICE_CASE_START + dt.timedelta(days=day - 1), 23)
    request = req(A.ADVANCE, R.VILLAGE, when)
    if rule is None:
        assert apply(case, request, policy=policy).case.state is S.TOWNSHIP_REVIEW
    else:
        error = refused(case, request, policy=policy)
        assert error.rule is rule
        ends = NOTICE_CASE_START + dt.timedelta(days=notice_days - 1)
        assert f"runs until {ends}" in error.message


def test_notice_days_fixed_when_notice_is_posted() -> None:
    case = apply(make_case(S.VILLAGE_REVIEW), req(A.ADVANCE, note="ok"), policy=POLICY).case
    longer = ProcedurePolicy(
        public_notice_days=7,
        identification_time_limit_days=15,
        elimination_min_months=3,
        elimination_income_floor=Decimal("5000"),
        scale_risk_threshold=Decimal("0.02"),
    )
    # a later policy version does not lengthen a notice already on the board
    day_6 = at(LATER.date() + dt.timedelta(days=5))
    assert apply(case, req(A.ADVANCE, when=day_6), policy=longer).case.state is S.TOWNSHIP_REVIEW


def _notice_case() -> Case:
    return make_case(S.PUBLIC_NOTICE, notice_started_on=dt.date(2024, 3, 1), notice_days=5)


def test_objection_lifecycle() -> None:
    case = _notice_case()
    raised = apply(case, req(A.OBJECT, R.VILLAGE, at("2024-03-02"), note="家有轿车"), policy=POLICY)
    case = raised.case
    assert case.state is S.PUBLIC_NOTICE
    assert case.open_objections == (Objection("objection-1", "village-officer", at("2024-03-02"), "家有轿车"),)
    assert raised.events == (
        ObjectionRaised(case_id="case-1", household_id="hh-1", at=at("2024-03-02"), objection_id="objection-1"),
    )
    assert case.history[-1] == HistoryEntry(
        A.OBJECT,
        S.PUBLIC_NOTICE,
        S.PUBLIC_NOTICE,
        "village-officer",
        R.VILLAGE,
        at("2024-03-02"),
        "家有轿车",
    )
    # the notice has run, but the objection is still open
    assert refused(case, req(A.ADVANCE, R.VILLAGE, at("2024-03-06"))).rule is Rule.OBJECTION_OPEN
    resolved = apply(
        case,
        req(A.RESOLVE_OBJECTION, R.VILLAGE, at("2024-03-06"), note="车辆已过户, 核实符合条件"),
        policy=POLICY,
    )
    case = resolved.case
    assert case.open_objections == ()
    assert case.objections[0].resolution == "车辆已过户, 核实符合条件"
    assert case.objections[0].resolved_at == at("2024-03-06")
    assert resolved.events == (
        ObjectionResolved(case_id="case-1", household_id="hh-1", at=at("2024-03-06"), objection_id="objection-1"),
    )
    assert case.history[-1].note == "objection-1: 车辆已过户, 核实符合条件"
    advanced = apply(case, req(A.ADVANCE, R.VILLAGE, at("2024-03-06")), policy=POLICY)
    assert advanced.case.state is S.TOWNSHIP_REVIEW


def test_notice_period_reported_before_open_objection() -> None:
    case = apply(_notice_case(), req(A.OBJECT, note="x"), policy=POLICY).case
    assert refused(case, req(A.ADVANCE, when=at("2024-03-05"))).rule is Rule.NOTICE_PERIOD_RUNNING


def test_upheld_objection_leads_to_rejection() -> None:
    case = apply(_notice_case(), req(A.OBJECT, R.TOWNSHIP, note="公职人员"), policy=POLICY).case
    result = apply(case, req(A.REJECT, R.VILLAGE, reason="异议属实: 公职人员"), policy=POLICY)
    assert result.case.state is S.REJECTED


def test_objection_needs_its_text() -> None:
    assert refused(_notice_case(), req(A.OBJECT, R.COUNTY)).rule is Rule.NOTE_REQUIRED
    assert refused(_notice_case(), req(A.OBJECT, R.COUNTY, note=" ")).rule is Rule.NOTE_REQUIRED
    # the text may come as `reason` too
    case = apply(_notice_case(), req(A.OBJECT, R.COUNTY, reason="家有轿车"), policy=POLICY).case
    assert case.objections[-1].text == "家有轿车"


def test_resolution_needs_a_finding() -> None:
    case = apply(_notice_case(), req(A.OBJECT, note="x"), policy=POLICY).case
    assert refused(case, req(A.RESOLVE_OBJECTION)).rule is Rule.NOTE_REQUIRED


@pytest.mark.parametrize(
    ("raised", "objection_id", "rule"),
    [
        pytest.param(0, None, Rule.OBJECTION_NOT_FOUND, id="none-open"),
        pytest.param(2, None, Rule.OBJECTION_NOT_FOUND, id="two-open-unnamed"),
        pytest.param(1, "objection-9", Rule.OBJECTION_NOT_FOUND, id="unknown-id"),
        pytest.param(2, "objection-2", None, id="two-open-named"),
        pytest.param(1, None, None, id="single-open-unnamed"),
    ],
)
def test_which_objection_is_resolved(raised: int, objection_id: str | None, rule: Rule | None) -> None:
    case = _notice_case()
    for n in range(raised):
        case = apply(case, req(A.OBJECT, note=f"objection {n}"), policy=POLICY).case
    request = req(A.RESOLVE_OBJECTION, note="查无实据", objection_id=objection_id)
    if rule is not None:
        assert refused(case, request).rule is rule
    else:
        result = apply(case, request, policy=POLICY).case
        assert len(result.open_objections) == raised - 1


def test_resolved_objection_cannot_be_resolved_twice() -> None:
    case = apply(_notice_case(), req(A.OBJECT, note="x"), policy=POLICY).case
    case = apply(case, req(A.RESOLVE_OBJECTION, note="ok"), policy=POLICY).case
    request = req(A.RESOLVE_OBJECTION, note="again", objection_id="objection-1")
    assert refused(case, request).rule is Rule.OBJECTION_NOT_FOUND


# --------------------------------------------------------------------------- green channel


@pytest.mark.parametrize(
    ("category", "risk_types", "ok"),
    [
        pytest.param("marginal", ("illness",), True, id="sudden-illness"),
        pytest.param("marginal", ("disaster",), True, id="disaster"),
        pytest.param("marginal", ("natural_disaster",), True, id="natural-disaster"),
        pytest.param("unstable_escaped", ("accident", "schooling"), True, id="accident"),
        pytest.param("sudden_hardship", (), True, id="sudden-hardship-category"),
        pytest.param("marginal", ("schooling",), False, id="schooling-only"),
        pytest.param(None, (), False, id="no-risk"),
    ],
)
def test_green_channel(category: str | None, risk_types: tuple[str, ...], ok: bool) -> None:
    def go() -> Any:
        return open_case(
            case_id="case-9",
            household_id="hh-9",
            by="village-1",
            role=R.VILLAGE,
            at=SUBMITTED_AT,
            policy=POLICY,
            category=category,
            risk_types=risk_types,
            urgent=True,
        )

    if not ok:
        with pytest.raises(TransitionRefused) as info:
            go()
        assert info.value.rule is Rule.GREEN_CHANNEL_NOT_APPLICABLE
        return
    result = go()
    assert result.case.urgent is True
    assert result.case.assistance_may_start_on == SUBMITTED_AT.date()
    assert result.events[1] == GreenChannelOpened(
        case_id="case-9", household_id="hh-9", at=SUBMITTED_AT, risk_types=risk_types
    )
    # the procedure still runs afterwards
    after = apply(result.case, req(A.ADVANCE, R.VILLAGE), policy=POLICY)
    assert after.case.state is S.VERIFICATION
    assert after.case.urgent is True


def test_without_green_channel_assistance_waits_for_identification() -> None:
    case = make_case(S.TOWNSHIP_REVIEW)
    assert case.assistance_may_start_on is None


@pytest.mark.parametrize(
    ("role", "ok"),
    [
        pytest.param(R.CITIZEN, True, id="citizen-self-application"),
        pytest.param(R.VILLAGE, True, id="village"),
        pytest.param(R.TOWNSHIP, True, id="township"),
        pytest.param(R.COUNTY, True, id="county"),
        pytest.param(R.PROVINCE, True, id="province-big-data"),
        pytest.param(R.ADMIN, True, id="admin"),
        pytest.param(R.CONTACT, False, id="contact"),
        pytest.param(R.DEPARTMENT, False, id="department-uses-signals"),
    ],
)
def test_who_may_open_a_case(role: Role, ok: bool) -> None:
    kwargs: dict[str, Any] = {
        "case_id": "c",
        "household_id": "h",
        "by": "someone",
        "role": role,
        "at": SUBMITTED_AT,
        "policy": POLICY,
        "note": " 自主申报 ",
    }
    if ok:
        case = open_case(**kwargs).case
        assert case.history == (HistoryEntry(A.SUBMIT, None, S.SUBMITTED, "someone", role, SUBMITTED_AT, "自主申报"),)
    else:
        with pytest.raises(TransitionRefused) as info:
            open_case(**kwargs)
        assert info.value.rule is Rule.ROLE_NOT_ALLOWED


# --------------------------------------------------------------------------- deadlines


@pytest.mark.parametrize(
    ("days", "kind", "holidays", "expected"),
    [
        pytest.param(15, TimeLimitKind.CALENDAR, (), dt.date(2024, 3, 16), id="liaoning-15-days"),
        pytest.param(20, TimeLimitKind.WORKING, (), dt.date(2024, 3, 29), id="hebei-20-working"),
        pytest.param(
            20,
            TimeLimitKind.WORKING,
            (dt.date(2024, 3, 4),),
            dt.date(2024, 4, 1),
            id="hebei-with-holiday",
        ),
    ],
)
def test_identification_deadline(
    days: int, kind: TimeLimitKind, holidays: tuple[dt.date, ...], expected: dt.date
) -> None:
    policy = ProcedurePolicy.from_mapping(
        {
            "public_notice_days": 5,
            "identification_time_limit_days": days,
            "identification_time_limit_kind": str(kind),
            "elimination_min_months": 3,
            "elimination_income_floor": "5000",
            "scale_risk_threshold": "0.02",
        }
    )
    assert identification_deadline(dt.date(2024, 3, 1), policy, frozenset(holidays)) == expected
    opened = open_case(
        case_id="c",
        household_id="h",
        by="v",
        role=R.VILLAGE,
        at=SUBMITTED_AT,
        policy=policy,
        holidays=frozenset(holidays),
    )
    assert opened.case.deadline == expected


@pytest.mark.parametrize(
    ("state", "today", "overdue"),
    [
        pytest.param(S.TOWNSHIP_REVIEW, dt.date(2024, 3, 16), False, id="open-on-deadline"),
        pytest.param(S.TOWNSHIP_REVIEW, dt.date(2024, 3, 17), True, id="open-day-after"),
        pytest.param(S.SUBMITTED, dt.date(2024, 4, 30), True, id="submitted-long-ago"),
        pytest.param(S.MONITORED, dt.date(2024, 3, 17), False, id="done-in-time-or-not"),
        pytest.param(S.REJECTED, dt.date(2024, 3, 17), False, id="rejected"),
    ],
)
def test_is_overdue(state: CaseState, today: dt.date, overdue: bool) -> None:
    assert is_overdue(make_case(state), today) is overdue


def test_case_without_deadline_is_never_overdue() -> None:
    assert is_overdue(make_case(S.SUBMITTED, deadline=None), dt.date(2030, 1, 1)) is False


def test_entering_county_review_starts_the_ten_day_department_comparison() -> None:
    """DOMAIN.md §3: the county's department comparison takes at most 10 days (002 篇二 §四(二)),
    counted in calendar days from the day the case enters county review."""
    entered = at("2024-03-12")
    case = apply(make_case(S.TOWNSHIP_REVIEW), full(A.ADVANCE, R.TOWNSHIP, entered), policy=POLICY).case
    assert case.state is S.COUNTY_REVIEW
    assert case.comparison_due == dt.date(2024, 3, 22)
    no_deadline = replace(case, deadline=None)  # the comparison's own limit, apart from the case's
    assert is_overdue(no_deadline, dt.date(2024, 3, 22)) is False  # day 10
    assert is_overdue(no_deadline, dt.date(2024, 3, 23)) is True  # day 11
    approved = apply(case, full(A.ADVANCE, R.COUNTY, at("2024-03-25")), policy=POLICY).case
    assert approved.state is S.MONITORED
    assert is_overdue(replace(approved, deadline=None), dt.date(2024, 3, 30)) is False
    longer = replace(POLICY, department_comparison_days=15)
    slower = apply(make_case(S.TOWNSHIP_REVIEW), full(A.ADVANCE, R.TOWNSHIP, entered), policy=longer).case
    assert slower.comparison_due == dt.date(2024, 3, 27)


def test_department_comparison_days_come_from_the_policy() -> None:
    base = {
        "public_notice_days": 5,
        "identification_time_limit_days": 15,
        "elimination_min_months": 3,
        "elimination_income_floor": 5000,
        "scale_risk_threshold": Decimal("0.02"),
    }
    assert ProcedurePolicy.from_mapping(base).department_comparison_days == 10
    assert ProcedurePolicy.from_mapping({**base, "department_comparison_days": 7}).department_comparison_days == 7
    with pytest.raises(ValueError, match="department_comparison_days"):
        ProcedurePolicy.from_mapping({**base, "department_comparison_days": 0})


# --------------------------------------------------------------------------- allowed actions


@pytest.mark.parametrize(
    ("case", "role", "today", "expected"),
    [
        pytest.param(
            make_case(S.SUBMITTED), R.VILLAGE, dt.date(2024, 3, 2), ["advance", "reject"], id="submitted-village"
        ),
        pytest.param(make_case(S.SUBMITTED), R.COUNTY, dt.date(2024, 3, 2), [], id="submitted-county"),
        pytest.param(make_case(S.SUBMITTED), R.CITIZEN, dt.date(2024, 3, 2), [], id="submitted-citizen"),
        pytest.param(_notice_case(), R.VILLAGE, dt.date(2024, 3, 5), ["object", "reject"], id="notice-running-village"),
        pytest.param(
            _notice_case(), R.VILLAGE, dt.date(2024, 3, 6), ["advance", "object", "reject"], id="notice-over-village"
        ),
        pytest.param(_notice_case(), R.PROVINCE, dt.date(2024, 3, 6), ["object"], id="notice-province"),
        pytest.param(_notice_case(), R.DEPARTMENT, dt.date(2024, 3, 6), [], id="notice-department"),
        pytest.param(
            apply(_notice_case(), req(A.OBJECT, note="x"), policy=POLICY).case,
            R.TOWNSHIP,
            dt.date(2024, 3, 6),
            ["object", "resolve_objection"],
            id="notice-objection-township",
        ),
        pytest.param(
            apply(_notice_case(), req(A.OBJECT, note="x"), policy=POLICY).case,
            R.VILLAGE,
            dt.date(2024, 3, 6),
            ["object", "resolve_objection", "reject"],
            id="notice-objection-village",
        ),
        pytest.param(
            make_case(S.COUNTY_REVIEW), R.COUNTY, dt.date(2024, 3, 6), ["advance", "reject"], id="county-review-county"
        ),
        pytest.param(make_case(S.MONITORED), R.PROVINCE, dt.date(2024, 6, 1), ["clear"], id="monitored-province"),
        pytest.param(make_case(S.MONITORED), R.ADMIN, dt.date(2024, 6, 1), ["clear"], id="monitored-admin-no-facts"),
        pytest.param(make_case(S.REJECTED), R.ADMIN, dt.date(2024, 6, 1), [], id="rejected-admin"),
        pytest.param(make_case(S.SUBMITTED), "nobody", dt.date(2024, 3, 2), [], id="unknown-role"),
    ],
)
def test_allowed_actions(case: Case, role: Role, today: dt.date, expected: list[str]) -> None:
    assert allowed_actions(case, role, today=today, policy=POLICY) == expected


def test_allowed_actions_with_facts() -> None:
    case = make_case(S.MONITORED)
    today = dt.date(2024, 6, 1)
    actions = allowed_actions(case, R.ADMIN, today=today, policy=POLICY, facts=GOOD_FACTS)
    assert actions == ["propose_elimination", "clear"]
    assert allowed_actions(case, R.VILLAGE, today=today, policy=POLICY, facts=GOOD_FACTS) == ["propose_elimination"]


# --------------------------------------------------------------------------- policy


def test_policy_from_mapping_defaults_and_types() -> None:
    policy = ProcedurePolicy.from_mapping(
        {
            "monitoring_line": Decimal("6000"),  # other parameters are ignored
            "public_notice_days": 7,
            "identification_time_limit_days": Decimal("20"),
            "elimination_min_months": "3",
            "elimination_income_floor": 5000,
            "scale_risk_threshold": 0.02,
        }
    )
    assert policy == ProcedurePolicy(
        public_notice_days=7,
        identification_time_limit_days=20,
        elimination_min_months=3,
        elimination_income_floor=Decimal("5000"),
        scale_risk_threshold=Decimal("0.02"),
        elimination_public_notice_days=7,
        identification_time_limit_kind=TimeLimitKind.CALENDAR,
        elimination_min_measure_months=0,  # the half-year rule is Liaoning's: off unless a policy names it
        elimination_requires_stable_year=False,
        elimination_stable_months=12,
    )
    assert policy.notice_days_for(Procedure.IDENTIFICATION) == 7


def test_policy_from_mapping_extensions() -> None:
    policy = ProcedurePolicy.from_mapping(
        {
            "public_notice_days": 5,
            "identification_time_limit_days": 20,
            "identification_time_limit_kind": "working",
            "elimination_min_months": 3,
            "elimination_income_floor": "5000",
            "scale_risk_threshold": "0.02",
            "elimination_public_notice_days": 10,
            "elimination_min_measure_months": 0,
            "elimination_requires_stable_year": "true",
            "elimination_stable_months": 18,
        }
    )
    assert policy.identification_time_limit_kind is TimeLimitKind.WORKING
    assert policy.notice_days_for(Procedure.ELIMINATION) == 10
    assert policy.elimination_min_measure_months == 0
    assert policy.elimination_requires_stable_year is True
    assert policy.elimination_stable_months == 18


BASE_PARAMS: dict[str, Any] = {
    "public_notice_days": 5,
    "identification_time_limit_days": 15,
    "elimination_min_months": 3,
    "elimination_income_floor": "5000",
    "scale_risk_threshold": "0.02",
}


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        pytest.param({"public_notice_days": 0}, ValueError, id="zero-notice"),
        pytest.param({"public_notice_days": "5.5"}, ValueError, id="fractional-days"),
        pytest.param({"public_notice_days": True}, ValueError, id="bool-days"),
        pytest.param({"elimination_income_floor": "abc"}, ValueError, id="bad-floor"),
        pytest.param({"elimination_income_floor": "-1"}, ValueError, id="negative-floor"),
        pytest.param({"scale_risk_threshold": 2}, ValueError, id="percent-threshold"),
        pytest.param({"identification_time_limit_kind": "weekly"}, ValueError, id="bad-kind"),
        pytest.param({"elimination_requires_stable_year": "yes"}, ValueError, id="bad-bool"),
        pytest.param({"elimination_public_notice_days": 0}, ValueError, id="zero-elim-notice"),
    ],
)
def test_policy_rejects_bad_values(overrides: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        ProcedurePolicy.from_mapping({**BASE_PARAMS, **overrides})


@pytest.mark.parametrize("missing", list(BASE_PARAMS))
def test_policy_requires_the_design_parameters(missing: str) -> None:
    params = {k: v for k, v in BASE_PARAMS.items() if k != missing}
    with pytest.raises(KeyError, match=missing):
        ProcedurePolicy.from_mapping(params)


@pytest.mark.parametrize(
    ("procedure", "state", "expected"),
    [
        pytest.param(Procedure.IDENTIFICATION, S.COUNTY_REVIEW, S.MONITORED, id="id-end"),
        pytest.param(Procedure.ELIMINATION, S.COUNTY_REVIEW, S.ELIMINATED, id="elim-end"),
        pytest.param(Procedure.ELIMINATION, S.SUBMITTED, S.VERIFICATION, id="elim-start"),
        pytest.param(Procedure.IDENTIFICATION, S.MONITORED, None, id="at-an-end"),
    ],
)
def test_next_state(procedure: Procedure, state: CaseState, expected: CaseState | None) -> None:
    assert next_state(procedure, state) is expected
