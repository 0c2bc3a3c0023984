"""Rules across decisions (one-off, caps, exclusions) and the decision state machine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from services.subsidy.domain import (
    PRE_JOB_TRAINING,
    YULU_PLAN,
    Decision,
    DecisionAction,
    DecisionOutcome,
    DecisionState,
    DomainRefusal,
    LedgerLine,
    PriorDecision,
    SubsidyInputError,
    SubsidyKind,
    calculate,
    check_external_benefit,
    decision_subject,
    evaluate_decision,
)

from . import D2020, D2021, FUNAN, hires, policy

NOW = dt.datetime(2021, 6, 1, 9, 30, tzinfo=dt.UTC)


def decide(
    kind: str,
    inputs: dict[str, Any],
    ledger: list[PriorDecision],
    *,
    region: str = "341221",
    as_of: dt.date = D2020,
) -> DecisionOutcome:
    result = calculate(kind, inputs, policy(region, as_of))
    subject = decision_subject(kind, inputs, as_of=as_of)
    return evaluate_decision(kind=kind, subject_id=subject, as_of=as_of, result=result, ledger=ledger)


def record(decision_id: str, outcome: DecisionOutcome, state: DecisionState = DecisionState.APPROVED) -> PriorDecision:
    return PriorDecision.from_outcome(decision_id, outcome, state)


def prior(decision_id: str, kind: str, subject: str, amount: str, **kw: Any) -> PriorDecision:
    kw.setdefault("as_of", D2020)
    return PriorDecision(decision_id, kind, subject, Decimal(amount), **kw)


# --- one-off ---------------------------------------------------------------------------------

BUSINESS = {"first_business": True, "months_operating": 6, "employees_1y_contract": 3, "person_id": "P1"}


def test_a_one_off_subsidy_is_refused_the_second_time_naming_the_first() -> None:
    first = decide("entrepreneurship_subsidy", BUSINESS, [])
    assert first.allowed == Decimal("5000.00")
    with pytest.raises(DomainRefusal) as err:
        decide("entrepreneurship_subsidy", BUSINESS, [record("D-1", first)])
    assert err.value.code == "already_granted"
    assert "D-1" in err.value.message
    assert err.value.decision_ids == ("D-1",)


@pytest.mark.parametrize(
    "earlier",
    [
        pytest.param(
            prior("D-1", "entrepreneurship_subsidy", "P1", "5000", state=DecisionState.REJECTED), id="rejected"
        ),
        pytest.param(prior("D-1", "entrepreneurship_subsidy", "P1", "0"), id="nothing was due"),
        pytest.param(prior("D-1", "entrepreneurship_subsidy", "P2", "5000"), id="another person"),
        pytest.param(prior("D-1", "transport_allowance", "P1", "500"), id="another kind"),
    ],
)
def test_earlier_decisions_that_do_not_block(earlier: PriorDecision) -> None:
    assert decide("entrepreneurship_subsidy", BUSINESS, [earlier]).allowed == Decimal("5000.00")


def test_housing_renovation_once_per_household() -> None:
    inputs = {"type": "repair", "household_id": "H1"}
    first = decide("housing_renovation", inputs, [], region=FUNAN)
    with pytest.raises(DomainRefusal, match="D-7"):
        decide("housing_renovation", {"type": "rebuild", "household_id": "H1"}, [record("D-7", first)], region=FUNAN)


def test_a_decision_needs_its_subject() -> None:
    with pytest.raises(SubsidyInputError) as err:
        decision_subject("enterprise_employment_reward", {"hires": hires(1)}, as_of=D2020)
    assert err.value.field_path == "inputs.enterprise_id"


# --- enterprise reward: once per person, cap across requests -----------------------------------


def _enterprise(n: int, prefix: str, **kw: Any) -> dict[str, Any]:
    return {"hires": hires(n, prefix=prefix), "enterprise_id": "E1"} | kw


def test_the_enterprise_cap_holds_across_requests() -> None:
    first = decide("enterprise_employment_reward", _enterprise(10, "a"), [])
    assert first.allowed == Decimal("20000.00")
    ledger = [record("D-1", first)]
    second = decide("enterprise_employment_reward", _enterprise(15, "b"), ledger)
    assert second.calculated == Decimal("30000.00")
    assert second.allowed == Decimal("20000.00")
    assert second.reduced
    assert "D-1" in second.explanations[0].detail
    ledger.append(record("D-2", second))
    with pytest.raises(DomainRefusal) as err:
        decide("enterprise_employment_reward", _enterprise(1, "c"), ledger)
    assert err.value.code == "cap_reached"
    assert set(err.value.decision_ids) == {"D-1", "D-2"}


def test_the_workshop_part_is_paid_when_the_cap_is_used_up() -> None:
    first = decide("enterprise_employment_reward", _enterprise(20, "a"), [])
    outcome = decide(
        "enterprise_employment_reward",
        _enterprise(2, "b", workshop=True, stable_6m_persons=2),
        [record("D-1", first)],
    )
    assert outcome.calculated == Decimal("10000.00")
    assert outcome.allowed == Decimal("6000.00")


def test_a_cap_reduced_decision_counts_its_reduced_amount() -> None:
    ledger: list[PriorDecision] = []
    for i, prefix in enumerate("abc"):
        outcome = decide(
            "enterprise_employment_reward", _enterprise(8, prefix, workshop=True, stable_6m_persons=1), ledger
        )
        ledger.append(record(f"D-{i}", outcome))
    # 16,000 + 16,000 + 8,000 (cap) for hires; 3 × 3,000 outside the cap.
    assert [p.amount for p in ledger] == [Decimal("19000.00"), Decimal("19000.00"), Decimal("11000.00")]


def test_a_hire_is_rewarded_once_per_enterprise() -> None:
    first = decide("enterprise_employment_reward", _enterprise(2, "a"), [])
    with pytest.raises(DomainRefusal) as err:
        decide("enterprise_employment_reward", _enterprise(3, "a"), [record("D-1", first)])
    assert err.value.code == "person_already_rewarded"
    assert "a0" in err.value.message
    assert "D-1" in err.value.message


def test_a_hire_may_be_rewarded_to_another_enterprise() -> None:
    first = decide("enterprise_employment_reward", _enterprise(2, "a"), [])
    other = _enterprise(2, "a") | {"enterprise_id": "E2"}
    assert decide("enterprise_employment_reward", other, [record("D-1", first)]).allowed == Decimal("4000.00")


# --- annual caps: medical assistance, public-welfare post --------------------------------------


def _medical(oop: str, as_of: dt.date, ledger: list[PriorDecision]) -> DecisionOutcome:
    inputs = {"compliant_oop": oop, "in_province": True, "tiered_referral": True, "person_id": "M1"}
    return decide("medical_assistance", inputs, ledger, region=FUNAN, as_of=as_of)


def test_the_medical_cap_holds_across_requests_in_a_calendar_year() -> None:
    first = _medical("12000", D2021, [])
    assert first.allowed == Decimal("6000.00")
    ledger = [record("D-1", first)]
    second = _medical("10000", dt.date(2021, 11, 30), ledger)
    assert second.allowed == Decimal("4000.00")
    assert "D-1" in second.explanations[0].detail
    ledger.append(record("D-2", second))
    with pytest.raises(DomainRefusal) as err:
        _medical("100", dt.date(2021, 12, 31), ledger)
    assert err.value.code == "cap_reached"
    assert set(err.value.decision_ids) == {"D-1", "D-2"}
    # A new calendar year starts afresh.
    assert _medical("100", dt.date(2022, 1, 1), ledger).allowed == Decimal("50.00")


def test_the_medical_cap_at_a_fen_boundary() -> None:
    ledger = [prior("D-1", "medical_assistance", "M1", "9999.99", as_of=D2021)]
    assert _medical("20000", D2021, ledger).allowed == Decimal("0.01")


def test_the_public_welfare_cap_holds_across_requests() -> None:
    inputs = {"annual_wage": "8000", "person_id": "W1"}
    first = decide("public_welfare_post", inputs, [])
    assert first.allowed == Decimal("4800.00")
    second = decide("public_welfare_post", inputs, [record("D-1", first)])
    assert second.allowed == Decimal("1200.00")


# --- work-for-training: months per person, exclusion with pre-job training ---------------------


def _training(months: int, *, enterprise: str = "E1") -> dict[str, Any]:
    return {
        "trainees": [{"person_id": "T1", "months": months, "pre_job_training_claimed": False}],
        "enterprise_id": enterprise,
    }


def test_training_months_are_capped_per_person_across_requests() -> None:
    first = decide("work_for_training", _training(4), [])
    assert first.allowed == Decimal("800.00")
    second = decide("work_for_training", _training(6, enterprise="E2"), [record("D-1", first)])
    assert second.allowed == Decimal("400.00")
    with pytest.raises(DomainRefusal) as err:
        decide("work_for_training", _training(1), [record("D-1", first), record("D-2", second)])
    assert err.value.code == "cap_reached"


def test_work_for_training_is_refused_after_pre_job_training() -> None:
    ledger = [prior("X-9", PRE_JOB_TRAINING, "T1", "600")]
    with pytest.raises(DomainRefusal) as err:
        decide("work_for_training", _training(3), ledger)
    assert err.value.code == "exclusive_benefit"
    assert "X-9" in err.value.message


def test_pre_job_training_is_refused_after_work_for_training() -> None:
    first = decide("work_for_training", _training(3), [])
    with pytest.raises(DomainRefusal, match="D-1"):
        check_external_benefit(PRE_JOB_TRAINING, "T1", [record("D-1", first)])
    check_external_benefit(PRE_JOB_TRAINING, "T2", [record("D-1", first)])  # someone else: fine


# --- technical school vs 雨露计划 ----------------------------------------------------------------


def test_technical_school_living_subsidy_is_refused_after_yulu_plan() -> None:
    ledger = [prior("Y-1", YULU_PLAN, "S1", "1500")]
    inputs = {"years": 1, "yulu_plan": False, "person_id": "S1"}
    with pytest.raises(DomainRefusal) as err:
        decide("technical_school", inputs, ledger)
    assert err.value.code == "exclusive_benefit"
    assert "Y-1" in err.value.message
    # Recalculated with the 雨露计划 marked, the rest is paid.
    assert decide("technical_school", inputs | {"yulu_plan": True}, ledger).allowed == Decimal("5000.00")


def test_yulu_plan_is_refused_after_the_living_subsidy() -> None:
    first = decide("technical_school", {"years": 1, "yulu_plan": False, "person_id": "S1"}, [])
    with pytest.raises(DomainRefusal, match="D-1"):
        check_external_benefit(YULU_PLAN, "S1", [record("D-1", first)])
    only_grants = decide("technical_school", {"years": 1, "yulu_plan": True, "person_id": "S2"}, [])
    check_external_benefit(YULU_PLAN, "S2", [record("D-2", only_grants)])


def test_the_outcome_must_match_the_kind() -> None:
    result = calculate("housing_renovation", {"type": "repair"}, policy(FUNAN))
    with pytest.raises(SubsidyInputError):
        evaluate_decision(kind="medical_assistance", subject_id="x", as_of=D2020, result=result, ledger=[])


def test_ledger_lines_keep_persons_and_quantities() -> None:
    outcome = decide("work_for_training", _training(7), [])
    entry = record("D-1", outcome)
    assert entry.lines == (LedgerLine("trainee", Decimal(1200), "T1", Decimal(6)),)


# --- state machine ---------------------------------------------------------------------------


def _decision() -> Decision:
    return Decision("D-1", SubsidyKind.HOUSING_RENOVATION, "H1", Decimal("6000.00"))


def test_calculated_approved_paid() -> None:
    d = _decision().approve(by="county:li", at=NOW).pay(by="finance:wang", at=NOW)
    assert d.state is DecisionState.PAID
    assert [(e.action, e.from_state, e.to_state, e.by) for e in d.history] == [
        (DecisionAction.APPROVE, DecisionState.CALCULATED, DecisionState.APPROVED, "county:li"),
        (DecisionAction.PAY, DecisionState.APPROVED, DecisionState.PAID, "finance:wang"),
    ]


@pytest.mark.parametrize(
    "steps",
    [pytest.param([], id="from calculated"), pytest.param([DecisionAction.APPROVE], id="from approved")],
)
def test_rejected_with_a_reason(steps: list[DecisionAction]) -> None:
    d = _decision()
    for action in steps:
        d = d.apply(action, by="u", at=NOW)
    d = d.reject(by="county:li", at=NOW, reason="house already rebuilt in 2019")
    assert d.state is DecisionState.REJECTED
    assert d.rejection_reason == "house already rebuilt in 2019"


def test_a_rejection_needs_a_reason() -> None:
    with pytest.raises(SubsidyInputError):
        _decision().reject(by="u", at=NOW, reason="  ")


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        pytest.param([], DecisionAction.PAY, id="pay before approval"),
        pytest.param([DecisionAction.APPROVE], DecisionAction.APPROVE, id="approve twice"),
        pytest.param([DecisionAction.APPROVE, DecisionAction.PAY], DecisionAction.REJECT, id="reject when paid"),
        pytest.param([DecisionAction.APPROVE, DecisionAction.PAY], DecisionAction.PAY, id="pay twice"),
    ],
)
def test_invalid_transitions(steps: list[DecisionAction], action: DecisionAction) -> None:
    d = _decision()
    for step in steps:
        d = d.apply(step, by="u", at=NOW)
    with pytest.raises(DomainRefusal) as err:
        d.apply(action, by="u", at=NOW, reason="r")
    assert err.value.code == "invalid_transition"
