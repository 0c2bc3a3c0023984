"""The negative list on a case (DOMAIN.md §3): exclusions stored at opening block the county's
approval to `monitored` until a county (or province, admin) officer overrides each one with a
reason and the village-assembly decision — tables of who may, in which state, with what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.identification.domain.cases import (
    Action,
    AssemblyDecision,
    Case,
    CaseExclusion,
    CaseState,
    ExclusionOverridden,
    Procedure,
    ProcedurePolicy,
    Role,
    Rule,
    TransitionRefused,
    TransitionRequest,
    allowed_actions,
    apply,
    open_case,
)

CST = dt.timezone(dt.timedelta(hours=8))
S, A, R = CaseState, Action, Role
POLICY = ProcedurePolicy(
    public_notice_days=5,
    identification_time_limit_days=15,
    elimination_min_months=3,
    elimination_income_floor=Decimal("5000"),
    scale_risk_threshold=Decimal("0.02"),
)
AT = dt.datetime(2024, 6, 1, 10, tzinfo=CST)
DECISION = AssemblyDecision(dt.date(2024, 5, 28), "村民代表会议纪要 2024-05")
CAR = CaseExclusion("car", "owns a car", "002 篇十二 §(三) 第4项", {"assets.car": True}, "anhui-2024", "1")
CADRE = CaseExclusion(
    "village_cadre", "a member is village cadre", "002 篇十二 §(三) 第2项", {"assets.village_cadre": True}
)


def case(state: CaseState = S.COUNTY_REVIEW, exclusions: tuple[CaseExclusion, ...] = (CAR,), **kw: Any) -> Case:
    fields: dict[str, Any] = {
        "id": "case-1",
        "household_id": "hh-1",
        "procedure": Procedure.IDENTIFICATION,
        "state": state,
        "submitted_at": dt.datetime(2024, 5, 1, 9, tzinfo=CST),
        "deadline": dt.date(2024, 7, 1),
        "notice_started_on": dt.date(2024, 5, 10),
        "notice_days": 5,
        "exclusions": exclusions,
    }
    fields.update(kw)
    return Case(**fields)


def override(role: Role = R.COUNTY, **kw: Any) -> TransitionRequest:
    fields: dict[str, Any] = {
        "action": A.OVERRIDE_EXCLUSION,
        "by": f"{role}-officer",
        "role": role,
        "at": AT,
        "reason": "车辆为残疾人代步车",
        "exclusion_code": "car",
        "assembly_decision": DECISION,
    }
    fields.update(kw)
    return TransitionRequest(**fields)


def approve(role: Role = R.COUNTY) -> TransitionRequest:
    return TransitionRequest(action=A.ADVANCE, by=f"{role}-officer", role=role, at=AT, note="县级审定")


def refused(c: Case, request: TransitionRequest) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as info:
        apply(c, request, policy=POLICY)
    return info.value


@pytest.mark.parametrize(
    ("exclusions", "expected"),
    [
        pytest.param((), S.MONITORED, id="no exclusion: approved"),
        pytest.param((CAR,), Rule.EXCLUSION_STANDING, id="one standing: refused"),
        pytest.param((CAR, CADRE), Rule.EXCLUSION_STANDING, id="two standing: refused"),
    ],
)
def test_county_approval_is_refused_while_an_exclusion_stands(
    exclusions: tuple[CaseExclusion, ...], expected: Any
) -> None:
    c = case(exclusions=exclusions)
    if expected is S.MONITORED:
        assert apply(c, approve(), policy=POLICY).case.state is S.MONITORED
        return
    exc = refused(c, approve())
    assert exc.rule is expected
    assert [e["code"] for e in exc.details["exclusions"]] == [e.code for e in exclusions]
    assert "篇十二" in exc.source


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (R.COUNTY, True),
        (R.PROVINCE, True),
        (R.ADMIN, True),
        (R.TOWNSHIP, False),
        (R.VILLAGE, False),
        (R.CITIZEN, False),
        (R.DEPARTMENT, False),
        (R.CONTACT, False),
    ],
)
def test_who_may_override(role: Role, allowed: bool) -> None:
    c = case()
    if not allowed:
        assert refused(c, override(role)).rule is Rule.ROLE_NOT_ALLOWED
        return
    result = apply(c, override(role), policy=POLICY)
    [stored] = result.case.exclusions
    assert stored.override is not None
    assert stored.override.role is role
    assert stored.override.reason == "车辆为残疾人代步车"
    assert stored.override.assembly_decision == DECISION
    assert stored.code == "car"  # stays on record
    assert result.case.state is S.COUNTY_REVIEW
    assert result.case.version == c.version + 1
    assert result.case.history[-1].action is A.OVERRIDE_EXCLUSION
    assert result.events == (
        ExclusionOverridden(
            case_id="case-1",
            household_id="hh-1",
            at=AT,
            exclusion_code="car",
            by=f"{role}-officer",
            role=role,
            reason="车辆为残疾人代步车",
            assembly_decision=DECISION,
        ),
    )


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        pytest.param({"reason": None}, Rule.REASON_REQUIRED, id="no reason"),
        pytest.param({"reason": "  "}, Rule.REASON_REQUIRED, id="blank reason"),
        pytest.param({"assembly_decision": None}, Rule.ASSEMBLY_DECISION_REQUIRED, id="no assembly decision"),
        pytest.param(
            {"assembly_decision": AssemblyDecision(dt.date(2024, 5, 28), " ")},
            Rule.ASSEMBLY_DECISION_REQUIRED,
            id="blank minutes",
        ),
        pytest.param({"exclusion_code": "company"}, Rule.EXCLUSION_NOT_FOUND, id="not on the case"),
    ],
)
def test_an_override_needs_reason_decision_and_a_standing_exclusion(changes: dict[str, Any], rule: Rule) -> None:
    assert refused(case(), override(**changes)).rule is rule


@pytest.mark.parametrize(
    ("state", "allowed"),
    [
        *[(s, True) for s in (S.SUBMITTED, S.VERIFICATION, S.PUBLIC_NOTICE, S.COUNTY_REVIEW)],
        *[(s, False) for s in (S.MONITORED, S.REJECTED, S.CLEARED)],
    ],
)
def test_override_in_open_states_only(state: CaseState, allowed: bool) -> None:
    c = case(state, monitored_since=dt.date(2024, 5, 1) if state is S.MONITORED else None)
    if allowed:
        assert apply(c, override(), policy=POLICY).case.exclusions[0].override is not None
    else:
        assert refused(c, override()).rule is Rule.STATE_NOT_ALLOWED


def test_each_exclusion_is_overridden_separately_then_approval_passes() -> None:
    c = case(exclusions=(CAR, CADRE))
    # two standing: the code must be named
    assert refused(c, override(exclusion_code=None)).rule is Rule.EXCLUSION_NOT_FOUND
    c = apply(c, override(), policy=POLICY).case
    exc = refused(c, approve())
    assert [e["code"] for e in exc.details["exclusions"]] == ["village_cadre"]
    assert allowed_actions(c, R.COUNTY, today=AT.date(), policy=POLICY) == ["reject", "override_exclusion"]
    # one standing: the code may be left out
    c = apply(c, override(exclusion_code=None), policy=POLICY).case
    assert allowed_actions(c, R.COUNTY, today=AT.date(), policy=POLICY) == ["advance", "reject"]
    assert apply(c, approve(), policy=POLICY).case.state is S.MONITORED
    # an overridden one cannot be overridden again
    assert refused(c, override()).rule is Rule.EXCLUSION_NOT_FOUND


def test_open_case_keeps_the_exclusions() -> None:
    opened = open_case(
        case_id="c",
        household_id="h",
        by="village-1",
        role="village",
        at=AT,
        policy=POLICY,
        category="marginal",
        exclusions=[CAR],
    )
    assert opened.case.exclusions == (CAR,)
    assert opened.case.standing_exclusions == (CAR,)
    assert allowed_actions(opened.case, R.VILLAGE, today=AT.date(), policy=POLICY) == ["advance", "reject"]
    assert "override_exclusion" in allowed_actions(opened.case, R.COUNTY, today=AT.date(), policy=POLICY)
