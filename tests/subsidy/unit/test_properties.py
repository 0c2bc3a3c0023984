"""Property tests: amounts are never negative, always two places, and never exceed the caps —
within one calculation and across a run of decisions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.subsidy.domain import (
    DecisionState,
    DomainRefusal,
    PriorDecision,
    calculate,
    evaluate_decision,
)
from services.subsidy.domain.model import SubsidyResult

from . import D2020, D2021, FUNAN, LINQUAN, policy

LINQUAN_2020 = policy(LINQUAN, D2020)
LINQUAN_2021 = policy(LINQUAN, D2021)
FUNAN_2021 = policy(FUNAN, D2021)

money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)
months = st.integers(min_value=0, max_value=60)
counts = st.integers(min_value=0, max_value=200)


def _check(result: SubsidyResult) -> Decimal:
    assert result.amount >= 0
    assert result.amount == result.amount.quantize(Decimal("0.01"))
    return result.amount


hire = st.fixed_dictionaries({"contract_months": months, "poor_laborer": st.booleans(), "age": st.integers(16, 80)})


@given(st.lists(hire, max_size=60), st.booleans(), counts)
def test_enterprise_reward_within_cap(hs: list[dict[str, Any]], workshop: bool, stable: int) -> None:
    inputs = {
        "hires": [h | {"person_id": f"p{i}"} for i, h in enumerate(hs)],
        "workshop": workshop,
        "stable_6m_persons": stable,
    }
    amount = _check(calculate("enterprise_employment_reward", inputs, LINQUAN_2020))
    outside = Decimal(3000 * stable) if workshop else Decimal(0)
    assert amount - outside <= 40000


@given(money, st.integers(16, 90))
def test_public_welfare_within_cap(wage: Decimal, age: int) -> None:
    amount = _check(calculate("public_welfare_post", {"annual_wage": wage, "age": age}, LINQUAN_2020))
    assert amount <= 6000
    assert amount <= wage


@given(money, st.booleans(), st.booleans(), money)
def test_medical_within_cap(oop: Decimal, in_province: bool, referral: bool, paid: Decimal) -> None:
    inputs = {"compliant_oop": oop, "in_province": in_province, "tiered_referral": referral, "paid_this_year": paid}
    amount = _check(calculate("medical_assistance", inputs, FUNAN_2021))
    assert amount <= max(Decimal(10000) - paid, Decimal(0))
    assert amount <= oop / 2 + Decimal("0.005")


@given(
    st.sampled_from(["in_county", "out_of_county_in_city", "out_of_city_in_province", "out_of_province"]),
    months,
    st.booleans(),
    st.booleans(),
    months,
)
def test_transport_within_the_largest_band(
    where: str, contract: int, insured: bool, epidemic: bool, stable: int
) -> None:
    inputs = {
        "work_location": where,
        "contract_months": contract,
        "social_insurance": insured,
        "epidemic_period": epidemic,
        "stable_months": stable,
    }
    assert _check(calculate("transport_allowance", inputs, LINQUAN_2020)) <= 500


@given(st.lists(st.tuples(months, st.booleans()), max_size=30))
def test_work_for_training_within_six_months_each(trainees: list[tuple[int, bool]]) -> None:
    inputs = {
        "trainees": [
            {"person_id": f"t{i}", "months": m, "pre_job_training_claimed": c} for i, (m, c) in enumerate(trainees)
        ]
    }
    result = calculate("work_for_training", inputs, LINQUAN_2020)
    assert _check(result) <= 1200 * len(trainees)
    assert all(line.amount <= 1200 for line in result.breakdown)


@given(counts, money)
def test_tiered_wage_at_most_forty_percent(laborers: int, wages: Decimal) -> None:
    amount = _check(calculate("tiered_wage_subsidy", {"poor_laborers": laborers, "total_wages": wages}, LINQUAN_2020))
    assert amount <= wages * Decimal("0.40") + Decimal("0.005")


@given(counts, counts, money)
def test_workshop_award_bounded(six: int, twelve: int, wage: Decimal) -> None:
    inputs = {"stable_6m_count": six, "stable_12m_count": twelve, "average_monthly_wage": wage}
    assert _check(calculate("workshop_award", inputs, LINQUAN_2021)) <= 30000 + 1000 * twelve


@given(st.integers(0, 10), st.booleans())
def test_technical_school_bounded(years: int, yulu: bool) -> None:
    assert _check(calculate("technical_school", {"years": years, "yulu_plan": yulu}, LINQUAN_2020)) <= 8000 * years


@given(money, st.integers(1, 12), st.data())
def test_dibao_never_negative(income: Decimal, members: int, data: st.DataObject) -> None:
    inputs = {
        "per_capita_income_annual": income,
        "members": members,
        "severely_ill_or_disabled": data.draw(st.integers(0, members)),
        "aged_70_plus": data.draw(st.integers(0, members)),
        "minors": data.draw(st.integers(0, members)),
    }
    amount = _check(calculate("dibao_topup", inputs, LINQUAN_2020))
    if income >= 6000:
        assert amount == 0


@settings(max_examples=60)
@given(st.lists(money, min_size=1, max_size=8), st.lists(st.integers(1, 365), min_size=8, max_size=8))
def test_medical_cap_holds_over_any_run_of_decisions(oops: list[Decimal], days: list[int]) -> None:
    ledger: list[PriorDecision] = []
    refusals: set[str] = set()
    for i, oop in enumerate(oops):
        as_of = dt.date(2021, 1, 1) + dt.timedelta(days=days[i] - 1)
        inputs = {"compliant_oop": oop, "in_province": True, "tiered_referral": True, "person_id": "M"}
        result = calculate("medical_assistance", inputs, FUNAN_2021)
        try:
            outcome = evaluate_decision(
                kind="medical_assistance", subject_id="M", as_of=as_of, result=result, ledger=ledger
            )
        except DomainRefusal as refusal:
            refusals.add(refusal.code)
            continue
        assert 0 <= outcome.allowed <= result.amount
        ledger.append(PriorDecision(f"D{i}", "medical_assistance", "M", outcome.allowed, as_of))
    assert refusals <= {"cap_reached"}
    assert sum((p.amount for p in ledger), Decimal(0)) <= 10000


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5)), min_size=1, max_size=6))
def test_enterprise_cap_holds_over_any_run_of_decisions(requests: list[tuple[int, int]]) -> None:
    ledger: list[PriorDecision] = []
    refusals: set[str] = set()
    outside = Decimal(0)
    for r, (n, stable) in enumerate(requests):
        inputs = {
            "hires": [{"person_id": f"r{r}p{i}", "contract_months": 12, "poor_laborer": i % 2 == 0} for i in range(n)],
            "workshop": True,
            "stable_6m_persons": stable,
        }
        result = calculate("enterprise_employment_reward", inputs, LINQUAN_2020)
        try:
            outcome = evaluate_decision(
                kind="enterprise_employment_reward", subject_id="E", as_of=D2020, result=result, ledger=ledger
            )
        except DomainRefusal as refusal:
            refusals.add(refusal.code)
            continue
        outside += 3000 * stable
        ledger.append(PriorDecision.from_outcome(f"D{r}", outcome, DecisionState.CALCULATED))
    assert refusals <= {"cap_reached"}
    assert sum((p.amount for p in ledger), Decimal(0)) - outside <= 40000
