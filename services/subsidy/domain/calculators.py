"""The subsidy calculators, one pure function per kind, and `calculate`, the dispatcher over an
explicit registry. Money is Decimal throughout and rounded half-up to the fen once, at the end.

Each calculator reads its figures from a `ResolvedPolicy` (never from constants), records every
figure and clause it used, and explains what was counted, what was not and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Generic, TypeVar

from shared.policy import PolicyError, ResolvedPolicy

from . import parsing
from .model import (
    BreakdownLine,
    CareLevel,
    DibaoMonthlyInputs,
    DibaoPhase,
    DibaoTopupInputs,
    EnterpriseEmploymentRewardInputs,
    EntrepreneurshipSubsidyInputs,
    Explanation,
    FundingSource,
    HousingRenovationInputs,
    HousingType,
    MedicalAssistanceInputs,
    PublicWelfarePostInputs,
    ReliefLevel,
    SubsidyInputError,
    SubsidyKind,
    SubsidyResult,
    TechnicalSchoolInputs,
    TekunMonthlyInputs,
    TemporaryReliefInputs,
    TieredWageSubsidyInputs,
    TransportAllowanceInputs,
    WorkForTrainingInputs,
    WorkLocation,
    WorkshopAwardInputs,
)
from .rounding import ZERO, format_yuan, to_fen

__all__ = [
    "KINDS",
    "KindSpec",
    "calculate",
    "calculate_dibao_monthly",
    "calculate_dibao_topup",
    "calculate_enterprise_employment_reward",
    "calculate_entrepreneurship_subsidy",
    "calculate_housing_renovation",
    "calculate_medical_assistance",
    "calculate_public_welfare_post",
    "calculate_technical_school",
    "calculate_tekun_monthly",
    "calculate_temporary_relief",
    "calculate_tiered_wage_subsidy",
    "calculate_transport_allowance",
    "calculate_work_for_training",
    "calculate_workshop_award",
    "funding_source_for_age",
    "parse_inputs",
]

_HUNDRED = Decimal(100)


def _pct(share: Decimal) -> str:
    return f"{(share * _HUNDRED).normalize():f}%"


def _n(value: int | Decimal) -> str:
    return f"{Decimal(value).normalize():,f}"


class _Sheet:
    """The working sheet of one calculation: the figures read from the policy, the breakdown
    lines and the explanations; `result` sums the lines and rounds once."""

    def __init__(self, kind: SubsidyKind, policy: ResolvedPolicy) -> None:
        self.kind = kind
        self.policy = policy
        self.lines: list[BreakdownLine] = []
        self.explanations: list[Explanation] = []
        self.used: dict[str, str] = {}

    def value(self, name: str) -> Any:
        value = self.policy[name]
        self.used[name] = str(value)
        return value

    def dec(self, name: str) -> Decimal:
        return _as_decimal(self.value(name), name)

    def whole(self, name: str) -> int:
        value = self.dec(name)
        if value != value.to_integral_value():
            raise PolicyError(f"policy parameter {name!r} must be a whole number")
        return int(value)

    def src(self, name: str) -> str:
        return self.policy.source_of(name)

    def add(self, line: BreakdownLine) -> None:
        self.lines.append(line)

    def say(self, rule: str, source_param: str, detail: str) -> None:
        self.explanations.append(Explanation(rule, self.src(source_param), detail))

    def result(
        self, clause_param: str, funding: FundingSource | None = None, *, from_lines: bool = False
    ) -> SubsidyResult:
        total = sum((line.amount for line in self.lines), ZERO)
        amount = to_fen(max(total, ZERO))
        if from_lines:
            funding = _combined_funding(self.lines)
        pv = self.policy.param(clause_param)
        self.say("total", clause_param, f"The amount payable is {format_yuan(amount)}.")
        return SubsidyResult(
            kind=self.kind,
            amount=amount,
            breakdown=tuple(self.lines),
            policy_id=pv.version_id,
            policy_version=pv.version,
            clause=pv.source,
            explanations=tuple(self.explanations),
            funding_source=funding if amount > 0 else None,
            parameters=tuple(sorted(self.used.items())),
        )


def _as_decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise PolicyError(f"policy parameter {name!r} must be a number, got {value!r}")


def funding_source_for_age(age: int | None, policy: ResolvedPolicy) -> FundingSource | None:
    """Employment fund for laborers aged 16–59, county finance for 60 and over (000 就业扶贫
    §四(三)); None when the age is unknown or the policy in force has no such rule."""
    if age is None or "employment_fund_max_age" not in policy:
        return None
    low = _as_decimal(policy["employment_fund_min_age"], "employment_fund_min_age")
    high = _as_decimal(policy["employment_fund_max_age"], "employment_fund_max_age")
    if age < low:
        return None
    return FundingSource.EMPLOYMENT_FUND if age <= high else FundingSource.COUNTY_FINANCE


def _combined_funding(lines: list[BreakdownLine]) -> FundingSource | None:
    paying = [line for line in lines if line.counted and line.amount > 0]
    sources = {line.funding_source for line in paying}
    if not paying or None in sources:
        return None
    if len(sources) == 1:
        return sources.pop()
    return FundingSource.MIXED


def _funding_note(sheet: _Sheet, age: int | None, who: str) -> FundingSource | None:
    source = funding_source_for_age(age, sheet.policy)
    if source is not None and age is not None:
        budget = "the employment fund" if source is FundingSource.EMPLOYMENT_FUND else ("county finance")
        sheet.say(
            "funding_source",
            "employment_fund_max_age",
            f"{who} is {age} years old, so this subsidy is paid from {budget}.",
        )
    return source


# --- 1. enterprise employment reward (000 §三(一)) ---------------------------------------------


def calculate_enterprise_employment_reward(
    inputs: EnterpriseEmploymentRewardInputs, policy: ResolvedPolicy
) -> SubsidyResult:
    s = _Sheet(SubsidyKind.ENTERPRISE_EMPLOYMENT_REWARD, policy)
    min_months = s.whole("enterprise_reward_min_contract_months")
    per_hire = s.dec("enterprise_reward_per_hire")
    per_poor = s.dec("enterprise_reward_per_poor_hire")
    cap = s.dec("enterprise_reward_cap")
    rewarded = ZERO
    for hire in inputs.hires:
        funding = funding_source_for_age(hire.age, policy)
        if hire.contract_months < min_months:
            s.add(
                BreakdownLine(
                    "hire_reward",
                    f"{hire.person_id}: contract of {hire.contract_months} months, not counted",
                    ZERO,
                    person_id=hire.person_id,
                    quantity=Decimal(hire.contract_months),
                    counted=False,
                )
            )
            s.say(
                "contract_too_short",
                "enterprise_reward_min_contract_months",
                f"{hire.person_id} was not counted: the labour contract runs "
                f"{hire.contract_months} months and the reward needs at least {min_months}.",
            )
            continue
        rate = per_poor if hire.poor_laborer else per_hire
        who = "a poor laborer" if hire.poor_laborer else "a member of a two-category household"
        s.add(
            BreakdownLine(
                "hire_reward",
                f"{hire.person_id}: {who}, {hire.contract_months}-month contract",
                rate,
                person_id=hire.person_id,
                quantity=Decimal(1),
                rate=rate,
                funding_source=funding,
            )
        )
        rewarded += rate
        s.say(
            "hire_counted",
            "enterprise_reward_per_poor_hire" if hire.poor_laborer else "enterprise_reward_per_hire",
            f"{hire.person_id} was counted as {who} on a {hire.contract_months}-month contract: {format_yuan(rate)}.",
        )
    if rewarded > cap:
        s.add(
            BreakdownLine(
                "cap",
                f"cap of {format_yuan(cap)} per enterprise",
                cap - rewarded,
                rate=cap,
            )
        )
        s.say(
            "enterprise_cap",
            "enterprise_reward_cap",
            f"The hires add up to {format_yuan(rewarded)}, but an enterprise receives at most "
            f"{format_yuan(cap)}, so {format_yuan(rewarded - cap)} is not paid.",
        )
    if inputs.stable_6m_persons:
        if inputs.workshop:
            per = s.dec("workshop_stable_reward_per_person")
            ids: tuple[str | None, ...] = inputs.stable_6m_person_ids or (None,)
            count = Decimal(1) if inputs.stable_6m_person_ids else Decimal(inputs.stable_6m_persons)
            for pid in ids:
                s.add(
                    BreakdownLine(
                        "workshop_stable_6m",
                        (f"{pid}: " if pid else f"{inputs.stable_6m_persons} persons: ")
                        + "stably employed 6 months or more in a poverty workshop",
                        per * count,
                        person_id=pid,
                        quantity=count,
                        rate=per,
                    )
                )
            s.say(
                "workshop_stable_6m",
                "workshop_stable_reward_per_person",
                f"The workshop kept {inputs.stable_6m_persons} persons stably employed for 6 "
                f"months or more: {inputs.stable_6m_persons} × {format_yuan(per)} = "
                f"{format_yuan(per * inputs.stable_6m_persons)}, paid on top of the cap.",
            )
        else:
            s.say(
                "not_a_workshop",
                "workshop_stable_reward_per_person",
                f"The {inputs.stable_6m_persons} stably employed persons were not counted: the "
                "extra per-person reward is only for recognised poverty workshops (就业扶贫车间).",
            )
    if not inputs.hires and not inputs.stable_6m_persons:
        s.say("nothing_to_count", "enterprise_reward_per_hire", "No hires were given.")
    return s.result("enterprise_reward_per_hire", from_lines=True)


# --- 2. transport allowance (000 §三(二)) -------------------------------------------------------

_LOCATION_PARAM = {
    WorkLocation.IN_COUNTY: "transport_in_county",
    WorkLocation.OUT_OF_COUNTY_IN_CITY: "transport_out_of_county_in_city",
    WorkLocation.OUT_OF_CITY_IN_PROVINCE: "transport_out_of_city_in_province",
    WorkLocation.OUT_OF_PROVINCE: "transport_out_of_province",
}
_LOCATION_WORDS = {
    WorkLocation.IN_COUNTY: "inside the home county",
    WorkLocation.OUT_OF_COUNTY_IN_CITY: "outside the county but inside the city",
    WorkLocation.OUT_OF_CITY_IN_PROVINCE: "outside the city but inside the province",
    WorkLocation.OUT_OF_PROVINCE: "outside the province",
}


def calculate_transport_allowance(inputs: TransportAllowanceInputs, policy: ResolvedPolicy) -> SubsidyResult:
    s = _Sheet(SubsidyKind.TRANSPORT_ALLOWANCE, policy)
    min_months = s.whole("transport_min_contract_months")
    min_stable = s.whole("transport_epidemic_min_stable_months")
    param = _LOCATION_PARAM[inputs.work_location]
    rate = s.dec(param)
    where = _LOCATION_WORDS[inputs.work_location]
    regular = inputs.contract_months >= min_months and inputs.social_insurance
    epidemic = inputs.epidemic_period and inputs.contract_months > 0 and inputs.stable_months >= min_stable
    if regular:
        s.say(
            "contract_and_insurance",
            "transport_min_contract_months",
            f"The laborer has a {inputs.contract_months}-month contract (at least {min_months} "
            "needed) and social insurance is paid.",
        )
    elif epidemic:
        s.say(
            "epidemic_rule",
            "transport_epidemic_min_stable_months",
            "During the epidemic a signed contract and at least "
            f"{min_stable} months of stable work are enough; the laborer has worked stably for "
            f"{inputs.stable_months} months.",
        )
    else:
        reasons = []
        if inputs.contract_months < min_months:
            reasons.append(f"the contract runs {inputs.contract_months} months (at least {min_months} needed)")
        if not inputs.social_insurance:
            reasons.append("social insurance is not paid")
        if inputs.epidemic_period:
            reasons.append(
                f"under the epidemic rule, {inputs.stable_months} months of stable work is less than {min_stable}"
                if inputs.contract_months > 0
                else "under the epidemic rule a signed contract is still needed"
            )
        s.say(
            "not_eligible",
            "transport_min_contract_months",
            "No transport allowance: " + "; ".join(reasons) + ".",
        )
    funding = _funding_note(s, inputs.age, inputs.person_id or "The laborer")
    if regular or epidemic:
        s.add(
            BreakdownLine(
                "transport",
                f"work {where}",
                rate,
                person_id=inputs.person_id,
                rate=rate,
                funding_source=funding,
            )
        )
        s.say(
            "work_location",
            param,
            f"The place of work is {where}: {format_yuan(rate)}."
            + (" The rule pays nothing for work inside the county." if rate == 0 else ""),
        )
    return s.result(param, funding)


# --- 3. entrepreneurship (000 §三(三)) ----------------------------------------------------------


def calculate_entrepreneurship_subsidy(inputs: EntrepreneurshipSubsidyInputs, policy: ResolvedPolicy) -> SubsidyResult:
    s = _Sheet(SubsidyKind.ENTREPRENEURSHIP_SUBSIDY, policy)
    amount = s.dec("entrepreneurship_subsidy_amount")
    min_months = s.whole("entrepreneurship_min_months_operating")
    min_staff = s.whole("entrepreneurship_min_employees")
    missing = []
    if not inputs.first_business:
        missing.append("it is not the person's first business")
    if inputs.months_operating < min_months:
        missing.append(f"the business has run {inputs.months_operating} months (at least {min_months} needed)")
    if inputs.employees_1y_contract < min_staff:
        missing.append(
            f"it employs {inputs.employees_1y_contract} people on contracts of a year or more "
            f"(at least {min_staff} needed)"
        )
    funding = _funding_note(s, inputs.age, inputs.person_id or "The founder")
    if missing:
        s.say("not_eligible", "entrepreneurship_subsidy_amount", "No subsidy: " + "; ".join(missing) + ".")
    else:
        s.add(
            BreakdownLine(
                "entrepreneurship",
                "one-off subsidy for a first business",
                amount,
                person_id=inputs.person_id,
                rate=amount,
                funding_source=funding,
            )
        )
        s.say(
            "eligible",
            "entrepreneurship_subsidy_amount",
            f"A first business running {inputs.months_operating} months and employing "
            f"{inputs.employees_1y_contract} people on contracts of a year or more receives a "
            f"one-off {format_yuan(amount)}.",
        )
    if "entrepreneurship_loan_max" in policy:
        loan = s.dec("entrepreneurship_loan_max")
        s.say(
            "guaranteed_loan",
            "entrepreneurship_loan_max",
            f"The founder may also apply for a guaranteed business loan of up to "
            f"{format_yuan(loan)} with an interest subsidy (decided separately by the bank).",
        )
    return s.result("entrepreneurship_subsidy_amount", funding)


# --- 4. public-welfare post (000 §三(四)) -------------------------------------------------------


def calculate_public_welfare_post(inputs: PublicWelfarePostInputs, policy: ResolvedPolicy) -> SubsidyResult:
    s = _Sheet(SubsidyKind.PUBLIC_WELFARE_POST, policy)
    floor = s.dec("public_welfare_min_wage")
    upper = s.dec("public_welfare_upper_wage")
    cap = s.dec("public_welfare_annual_cap")
    wage = inputs.annual_wage
    funding = _funding_note(s, inputs.age, inputs.person_id or "The post holder")
    if wage < floor:
        s.say(
            "below_floor",
            "public_welfare_min_wage",
            f"The annual post wage of {format_yuan(wage)} is below {format_yuan(floor)}, so no post subsidy is paid.",
        )
        return s.result("public_welfare_min_wage", funding)
    param = "public_welfare_lower_share" if wage < upper else "public_welfare_upper_share"
    share = s.dec(param)
    raw = wage * share
    band = f"between {format_yuan(floor)} and {format_yuan(upper)}" if wage < upper else f"{format_yuan(upper)} or more"
    s.add(
        BreakdownLine(
            "post_subsidy",
            f"{_pct(share)} of the annual post wage",
            raw,
            person_id=inputs.person_id,
            quantity=wage,
            rate=share,
            funding_source=funding,
        )
    )
    s.say(
        "wage_band",
        param,
        f"The annual post wage of {format_yuan(wage)} is {band}: {_pct(share)} of it is {format_yuan(raw)}.",
    )
    if raw > cap:
        s.add(BreakdownLine("cap", f"annual cap of {format_yuan(cap)}", cap - raw, rate=cap))
        s.say(
            "annual_cap",
            "public_welfare_annual_cap",
            f"The subsidy is at most {format_yuan(cap)} a year, so {format_yuan(raw - cap)} is not paid.",
        )
    return s.result(param, funding)


# --- 5. work-for-training (000 §三(五)) ---------------------------------------------------------


def calculate_work_for_training(inputs: WorkForTrainingInputs, policy: ResolvedPolicy) -> SubsidyResult:
    s = _Sheet(SubsidyKind.WORK_FOR_TRAINING, policy)
    per_month = s.dec("work_for_training_per_month")
    max_months = s.whole("work_for_training_max_months")
    for t in inputs.trainees:
        if t.pre_job_training_claimed:
            s.add(
                BreakdownLine(
                    "trainee",
                    f"{t.person_id}: pre-job training subsidy already claimed, not counted",
                    ZERO,
                    person_id=t.person_id,
                    quantity=Decimal(t.months),
                    counted=False,
                )
            )
            s.say(
                "pre_job_training_claimed",
                "work_for_training_per_month",
                f"{t.person_id} was not counted: the pre-job training subsidy was claimed for "
                "this new hire, and the two cannot both be paid.",
            )
            continue
        months = min(t.months, max_months)
        amount = per_month * months
        s.add(
            BreakdownLine(
                "trainee",
                f"{t.person_id}: {months} months × {format_yuan(per_month)}",
                amount,
                person_id=t.person_id,
                quantity=Decimal(months),
                rate=per_month,
                funding_source=funding_source_for_age(t.age, policy),
            )
        )
        extra = f" ({t.months} months were claimed; at most {max_months} are paid)" if t.months > max_months else ""
        s.say(
            "trainee_counted",
            "work_for_training_max_months" if t.months > max_months else "work_for_training_per_month",
            f"{t.person_id}: {months} months × {format_yuan(per_month)} = {format_yuan(amount)}{extra}.",
        )
    if not inputs.trainees:
        s.say("nothing_to_count", "work_for_training_per_month", "No trainees were given.")
    return s.result("work_for_training_per_month", from_lines=True)


# --- 6. technical school students (000 §三(六)) -------------------------------------------------


def calculate_technical_school(inputs: TechnicalSchoolInputs, policy: ResolvedPolicy) -> SubsidyResult:
    s = _Sheet(SubsidyKind.TECHNICAL_SCHOOL, policy)
    living = s.dec("technical_school_living_per_year")
    grant = s.dec("technical_school_national_grant_per_year")
    family = s.dec("technical_school_family_subsidy_per_year")
    years = Decimal(inputs.years)
    if inputs.yulu_plan:
        s.add(
            BreakdownLine(
                "living_transport",
                "living and transport subsidy: not paid (雨露计划 already received)",
                ZERO,
                person_id=inputs.person_id,
                quantity=years,
                counted=False,
            )
        )
        s.say(
            "yulu_plan",
            "technical_school_living_per_year",
            "The living and transport subsidy is not paid because the student receives the "
            "雨露计划 (Rain and Dew Plan) subsidy; the two cannot both be paid.",
        )
    else:
        s.add(
            BreakdownLine(
                "living_transport",
                f"living and transport subsidy: {inputs.years} years × {format_yuan(living)}",
                living * years,
                person_id=inputs.person_id,
                quantity=years,
                rate=living,
            )
        )
        s.say(
            "living_transport",
            "technical_school_living_per_year",
            f"Living and transport subsidy: {inputs.years} years × {format_yuan(living)} = "
            f"{format_yuan(living * years)}.",
        )
    for component, rate, param, words in (
        ("national_grant", grant, "technical_school_national_grant_per_year", "national grant"),
        ("family_subsidy", family, "technical_school_family_subsidy_per_year", "family subsidy"),
    ):
        s.add(
            BreakdownLine(
                component,
                f"{words}: {inputs.years} years × {format_yuan(rate)}",
                rate * years,
                person_id=inputs.person_id,
                quantity=years,
                rate=rate,
            )
        )
        s.say(
            component,
            param,
            f"{words.capitalize()}: {inputs.years} years × {format_yuan(rate)} = {format_yuan(rate * years)}.",
        )
    return s.result("technical_school_living_per_year")


# --- 7. tiered wage subsidy (000 §三(七)) -------------------------------------------------------


def _tier(tiers: Any, count: int, key: str, name: str) -> tuple[int, Decimal] | None:
    """The highest tier whose `from` is at most `count`: (from, value) or None below them all."""
    if not isinstance(tiers, list) or not tiers:
        raise PolicyError(f"policy parameter {name!r} must be a non-empty list of tiers")
    best: tuple[int, Decimal] | None = None
    for tier in tiers:
        low = int(_as_decimal(tier["from"], name))
        if low <= count and (best is None or low > best[0]):
            best = (low, _as_decimal(tier[key], name))
    return best


def calculate_tiered_wage_subsidy(inputs: TieredWageSubsidyInputs, policy: ResolvedPolicy) -> SubsidyResult:
    s = _Sheet(SubsidyKind.TIERED_WAGE_SUBSIDY, policy)
    tier = _tier(s.value("tiered_wage_tiers"), inputs.poor_laborers, "share", "tiered_wage_tiers")
    if tier is None or inputs.poor_laborers == 0:
        s.say(
            "no_poor_laborers",
            "tiered_wage_tiers",
            f"The entity employs {inputs.poor_laborers} poor laborers, so no wage subsidy is due.",
        )
        return s.result("tiered_wage_tiers")
    share = tier[1]
    raw = inputs.total_wages * share
    s.add(
        BreakdownLine(
            "wage_subsidy",
            f"{_pct(share)} of wages paid to {inputs.poor_laborers} poor laborers",
            raw,
            quantity=inputs.total_wages,
            rate=share,
        )
    )
    s.say(
        "tier",
        "tiered_wage_tiers",
        f"The entity employs {inputs.poor_laborers} poor laborers, which puts it in the tier "
        f"from {tier[0]} people: {_pct(share)} of the {format_yuan(inputs.total_wages)} in wages "
        f"actually paid is {format_yuan(raw)}.",
    )
    return s.result("tiered_wage_tiers")


# --- 8. workshop award (002 篇一 §5) ------------------------------------------------------------


def calculate_workshop_award(inputs: WorkshopAwardInputs, policy: ResolvedPolicy) -> SubsidyResult:
    s = _Sheet(SubsidyKind.WORKSHOP_AWARD, policy)
    min_wage = s.dec("workshop_award_min_average_wage")
    per_12m = s.dec("workshop_stable_12m_per_person")
    funding = FundingSource(s.value("workshop_award_funding"))
    tiers = s.value("workshop_award_tiers")
    if inputs.average_monthly_wage < min_wage:
        s.say(
            "wage_too_low",
            "workshop_award_min_average_wage",
            f"The average monthly wage of {format_yuan(inputs.average_monthly_wage)} is below "
            f"{format_yuan(min_wage)}, so neither the award nor the job-keeping subsidy is paid.",
        )
        return s.result("workshop_award_tiers", funding)
    tier = _tier(tiers, inputs.stable_6m_count, "amount", "workshop_award_tiers")
    if tier is None:
        lowest = min(int(_as_decimal(t["from"], "workshop_award_tiers")) for t in tiers)
        s.say(
            "below_first_tier",
            "workshop_award_tiers",
            f"{inputs.stable_6m_count} people were employed stably for 6 months or more; the award starts at {lowest}.",
        )
    else:
        s.add(
            BreakdownLine(
                "workshop_award",
                f"award for {inputs.stable_6m_count} people stably employed 6 months or more",
                tier[1],
                quantity=Decimal(inputs.stable_6m_count),
                rate=tier[1],
                funding_source=funding,
            )
        )
        s.say(
            "award_tier",
            "workshop_award_tiers",
            f"{inputs.stable_6m_count} people were employed stably for 6 months or more at an "
            f"average of {format_yuan(inputs.average_monthly_wage)} a month, which is the tier "
            f"from {tier[0]} people: {format_yuan(tier[1])}.",
        )
    if inputs.stable_12m_count:
        amount = per_12m * inputs.stable_12m_count
        s.add(
            BreakdownLine(
                "stable_12m",
                f"job-keeping subsidy: {inputs.stable_12m_count} × {format_yuan(per_12m)}",
                amount,
                quantity=Decimal(inputs.stable_12m_count),
                rate=per_12m,
                funding_source=funding,
            )
        )
        s.say(
            "stable_12m",
            "workshop_stable_12m_per_person",
            f"{inputs.stable_12m_count} people were employed stably for 12 months or more: "
            f"{inputs.stable_12m_count} × {format_yuan(per_12m)} = {format_yuan(amount)}.",
        )
    s.say(
        "funding_source",
        "workshop_award_funding",
        "The award is paid from the special employment fund.",
    )
    return s.result("workshop_award_tiers", funding)


# --- 9. medical assistance (002 篇十一 §(一)6(2)) -----------------------------------------------


def calculate_medical_assistance(inputs: MedicalAssistanceInputs, policy: ResolvedPolicy) -> SubsidyResult:
    s = _Sheet(SubsidyKind.MEDICAL_ASSISTANCE, policy)
    share_param = "medical_share_in_province" if inputs.in_province else "medical_share_out_of_province"
    share = s.dec(share_param)
    cap = s.dec("medical_annual_cap")
    funding = FundingSource(s.value("medical_assistance_funding"))
    where = "inside the province" if inputs.in_province else "outside the province"
    s.say(
        "treatment_place",
        share_param,
        f"Treatment {where} is assisted at {_pct(share)} of the compliant out-of-pocket cost.",
    )
    if not inputs.tiered_referral:
        cut = s.dec("medical_no_referral_reduction")
        share = max(share - cut, ZERO)
        s.say(
            "no_tiered_referral",
            "medical_no_referral_reduction",
            "The tiered-referral rule (分级诊疗) was not followed, so the rate is "
            f"{(cut * _HUNDRED).normalize():f} percentage points lower: {_pct(share)}.",
        )
    raw = inputs.compliant_oop * share
    s.add(
        BreakdownLine(
            "medical_assistance",
            f"{_pct(share)} of {format_yuan(inputs.compliant_oop)} compliant out-of-pocket cost",
            raw,
            person_id=inputs.person_id,
            quantity=inputs.compliant_oop,
            rate=share,
            funding_source=funding,
        )
    )
    s.say(
        "assistance",
        share_param,
        f"{_pct(share)} of {format_yuan(inputs.compliant_oop)} is {format_yuan(raw)}.",
    )
    room = max(cap - inputs.paid_this_year, ZERO)
    if raw > room:
        s.add(
            BreakdownLine(
                "cap",
                f"annual cap of {format_yuan(cap)}, {format_yuan(inputs.paid_this_year)} already paid this year",
                room - raw,
                rate=cap,
            )
        )
        s.say(
            "annual_cap",
            "medical_annual_cap",
            f"Medical assistance is at most {format_yuan(cap)} a year; "
            f"{format_yuan(inputs.paid_this_year)} has already been paid this year, so at most "
            f"{format_yuan(room)} can be paid now.",
        )
    return s.result(share_param, funding)


# --- 10. housing renovation (002 篇十一 §(一)5) -------------------------------------------------


def calculate_housing_renovation(inputs: HousingRenovationInputs, policy: ResolvedPolicy) -> SubsidyResult:
    s = _Sheet(SubsidyKind.HOUSING_RENOVATION, policy)
    if inputs.type is HousingType.REBUILD:
        param, words = "housing_rebuild_per_household", "rebuilding the house"
    else:
        param, words = "housing_repair_per_household", "repairing and reinforcing the house"
    amount = s.dec(param)
    s.add(BreakdownLine(str(inputs.type), words, amount, rate=amount))
    s.say(
        "renovation_type",
        param,
        f"The household receives {format_yuan(amount)} for {words} (one payment per household).",
    )
    return s.result(param)


# --- 11. dibao top-up (002 篇五 §(三)) ----------------------------------------------------------


def calculate_dibao_topup(inputs: DibaoTopupInputs, policy: ResolvedPolicy) -> SubsidyResult:
    s = _Sheet(SubsidyKind.DIBAO_TOPUP, policy)
    _dibao_topup_lines(s, inputs)
    return s.result("dibao_standard_annual")


def _dibao_topup_lines(s: _Sheet, inputs: DibaoTopupInputs) -> Decimal | None:
    """The annual top-up's lines and explanations on `s`; returns the per-person top-up a year
    (None when income is not below the standard and nothing is due)."""
    standard = s.dec("dibao_standard_annual")
    minimum = s.dec("dibao_minimum_topup_annual")
    income = inputs.per_capita_income_annual
    if income >= standard:
        s.say(
            "income_above_standard",
            "dibao_standard_annual",
            f"Per-capita income of {format_yuan(income)} a year is not below the dibao standard "
            f"of {format_yuan(standard)}, so no top-up is due.",
        )
        return None
    gap = standard - income
    per_person = max(gap, minimum)
    members = Decimal(inputs.members)
    s.add(
        BreakdownLine(
            "gap_topup",
            f"{inputs.members} members × {format_yuan(per_person)}",
            per_person * members,
            quantity=members,
            rate=per_person,
        )
    )
    s.say(
        "gap",
        "dibao_standard_annual",
        f"The dibao standard is {format_yuan(standard)} a person a year and per-capita income is "
        f"{format_yuan(income)}: the gap is {format_yuan(gap)} a person.",
    )
    if gap < minimum:
        s.say(
            "minimum_topup",
            "dibao_minimum_topup_annual",
            f"The gap is below the minimum top-up, so {format_yuan(minimum)} a person is paid.",
        )
    s.say(
        "members",
        "dibao_standard_annual",
        f"{inputs.members} members × {format_yuan(per_person)} = {format_yuan(per_person * members)}.",
    )
    for count, param, words in (
        (
            inputs.severely_ill_or_disabled,
            "dibao_addon_share_severely_ill_or_disabled",
            "severely ill or severely disabled",
        ),
        (inputs.aged_70_plus, "dibao_addon_share_aged_70_plus", "aged 70 or over"),
        (inputs.minors, "dibao_addon_share_minor", "under 18"),
    ):
        if not count:
            continue
        share = s.dec(param)
        per = standard * share
        s.add(
            BreakdownLine(
                "addon_" + param.removeprefix("dibao_addon_share_"),
                f"{count} {words} × {_pct(share)} of the standard",
                per * count,
                quantity=Decimal(count),
                rate=share,
            )
        )
        s.say(
            "addon",
            param,
            f"{count} member(s) {words}: {_pct(share)} of the standard for each, "
            f"{count} × {format_yuan(per)} = {format_yuan(per * count)} extra.",
        )
    return per_person


# --- 12. dibao for a benefit month (000 safety-net §三(二)1; 002 篇五 §(三)) ----------------------

_MONTHS_A_YEAR = Decimal(12)
_EXIT_SOURCE = "000 safety-net §三(二)1: 给予12个月的渐退期; 主动申请退出低保的给予1至3月的低保金"
_REFUSAL_SOURCE = (
    "000 safety-net §三(二)1: 无正当理由连续3次拒绝接受介绍与其健康状况相适应工作的,核减或停发其本人低保资金"
)


def calculate_dibao_monthly(inputs: DibaoMonthlyInputs, policy: ResolvedPolicy) -> SubsidyResult:
    """The annual top-up of `dibao_topup` (same lines, same policy figures) ÷ 12 × `months`, less
    each excluded member's own share, rounded once at the end."""
    s = _Sheet(SubsidyKind.DIBAO_MONTHLY, policy)
    funding = FundingSource(s.value("dibao_funding"))
    per_person = _dibao_topup_lines(s, inputs.topup)
    months = Decimal(inputs.months)
    share = months / _MONTHS_A_YEAR
    s.lines = [
        replace(
            line,
            description=f"{line.description} a year, ÷ 12 × {inputs.months} month(s)",
            amount=line.amount * share,
            funding_source=funding,
        )
        for line in s.lines
    ]
    if per_person is not None:
        s.say(
            "benefit_months",
            "dibao_standard_annual",
            f"The benefit is paid for {inputs.months} month(s): the annual top-up ÷ 12 × {inputs.months}.",
        )
        if inputs.excluded_members:
            cut = per_person * inputs.excluded_members * share
            s.add(
                BreakdownLine(
                    "excluded_members",
                    f"{inputs.excluded_members} member(s) whose own benefit is stopped: "
                    f"{format_yuan(per_person)} a year each, ÷ 12 × {inputs.months}",
                    -cut,
                    quantity=Decimal(inputs.excluded_members),
                    rate=per_person,
                    funding_source=funding,
                )
            )
            s.explanations.append(
                Explanation(
                    "excluded_members",
                    _REFUSAL_SOURCE,
                    f"{inputs.excluded_members} member(s) refused three suitable job offers without a valid "
                    f"reason, so their own share ({format_yuan(per_person)} a year each) is not paid: "
                    f"{format_yuan(cut)} less.",
                )
            )
    if inputs.phase is not DibaoPhase.REGULAR:
        words = (
            "in its gradual-exit period (渐退期)"
            if inputs.phase is DibaoPhase.GRADUAL_EXIT
            else "leaving dibao at its own request (主动退出), with its extra months"
        )
        s.explanations.append(
            Explanation(
                str(inputs.phase),
                _EXIT_SOURCE,
                f"The household is {words}: the benefit of these month(s) is worked out from the "
                "income the benefit was granted on, as civil affairs ordered it.",
            )
        )
    s.say("funding_source", "dibao_funding", "Dibao is paid from the dibao fund (低保资金).")
    return s.result("dibao_standard_annual", funding)


# --- 13. 特困 support for a month (000 safety-net §三(二)2) -------------------------------------

_CARE_PARAM = {
    CareLevel.SELF_CARE: "tekun_care_self_care_monthly",
    CareLevel.PARTIAL: "tekun_care_partial_monthly",
    CareLevel.FULL: "tekun_care_full_monthly",
}
_CARE_WORDS = {
    CareLevel.SELF_CARE: "able to look after themselves (生活自理)",
    CareLevel.PARTIAL: "partly unable to look after themselves (部分失能)",
    CareLevel.FULL: "fully unable to look after themselves (完全失能)",
}


def calculate_tekun_monthly(inputs: TekunMonthlyInputs, policy: ResolvedPolicy) -> SubsidyResult:
    """(basic living standard + care standard of the level) × persons × months. The basic
    standard is `tekun_basic_standard_monthly` where the region sets one, otherwise
    `tekun_basic_multiple_of_dibao` × the dibao standard ÷ 12."""
    s = _Sheet(SubsidyKind.TEKUN_MONTHLY, policy)
    funding = FundingSource(s.value("tekun_funding"))
    if "tekun_basic_standard_monthly" in policy:
        basic_param = "tekun_basic_standard_monthly"
        basic = s.dec(basic_param)
        s.say("basic_standard", basic_param, f"The basic living standard is {format_yuan(basic)} a person a month.")
    else:
        basic_param = "tekun_basic_multiple_of_dibao"
        multiple = s.dec(basic_param)
        standard = s.dec("dibao_standard_annual")
        basic = multiple * standard / _MONTHS_A_YEAR
        s.say(
            "basic_standard",
            basic_param,
            f"The basic living standard is {_n(multiple)} × the dibao standard of {format_yuan(standard)} "
            f"a year ÷ 12 = {format_yuan(basic)} a person a month.",
        )
    care_param = _CARE_PARAM[inputs.care_level]
    care = s.dec(care_param)
    persons, months = Decimal(inputs.persons), Decimal(inputs.months)
    s.add(
        BreakdownLine(
            "basic_living",
            f"{inputs.persons} person(s) × {inputs.months} month(s) × {format_yuan(basic)}",
            basic * persons * months,
            quantity=persons * months,
            rate=basic,
            funding_source=funding,
        )
    )
    s.add(
        BreakdownLine(
            "care_" + str(inputs.care_level),
            f"care: {inputs.persons} person(s) × {inputs.months} month(s) × {format_yuan(care)}",
            care * persons * months,
            quantity=persons * months,
            rate=care,
            funding_source=funding,
        )
    )
    s.say(
        "care_standard",
        care_param,
        f"For a person {_CARE_WORDS[inputs.care_level]} the care standard is {format_yuan(care)} a month.",
    )
    s.say("funding_source", "tekun_funding", "特困 support is paid from the 特困 support fund (特困供养资金).")
    return s.result(basic_param, funding)


# --- 14. temporary relief (000 safety-net §三(二)3) ---------------------------------------------


def calculate_temporary_relief(inputs: TemporaryReliefInputs, policy: ResolvedPolicy) -> SubsidyResult:
    """The amount civil affairs approved, exactly; a township may approve up to its limit (a
    multiple of the urban dibao standard, worked out and sent by civil affairs), above it only
    the county."""
    s = _Sheet(SubsidyKind.TEMPORARY_RELIEF, policy)
    funding = FundingSource(s.value("temporary_relief_funding"))
    if inputs.approved_level is ReliefLevel.TOWNSHIP and inputs.amount > inputs.limit:
        raise SubsidyInputError(
            "inputs.amount",
            f"{format_yuan(inputs.amount)} is above the township approval limit of "
            f"{format_yuan(inputs.limit)}; an amount above it needs county approval "
            "(000 safety-net §三(二)3: 乡镇审批额度提高到城市低保标准的2~6倍)",
        )
    s.add(
        BreakdownLine(
            "temporary_relief",
            f"temporary relief ({inputs.reason}) approved by the {inputs.approved_level}",
            inputs.amount,
            rate=inputs.amount,
            funding_source=funding,
        )
    )
    within = (
        f"within the township limit of {format_yuan(inputs.limit)}"
        if inputs.amount <= inputs.limit
        else f"above the township limit of {format_yuan(inputs.limit)}, so approved by the county"
    )
    s.say(
        "approved_amount",
        "temporary_relief_funding",
        f"Temporary relief of {format_yuan(inputs.amount)} for {inputs.reason}, approved by the "
        f"{inputs.approved_level} ({within}), paid from the temporary relief fund (临时救助资金).",
    )
    return s.result("temporary_relief_funding", funding)


# --- registry and dispatcher ------------------------------------------------------------------

_I = TypeVar("_I")


@dataclass(frozen=True, slots=True)
class KindSpec(Generic[_I]):
    """How to read and compute one kind."""

    kind: SubsidyKind
    parse: Callable[[Any, dt.date], _I]
    compute: Callable[[_I, ResolvedPolicy], SubsidyResult]

    def run(self, raw: Mapping[str, Any], policy: ResolvedPolicy) -> SubsidyResult:
        return self.compute(self.parse(raw, policy.as_of), policy)


KINDS: dict[SubsidyKind, KindSpec[Any]] = {
    SubsidyKind.ENTERPRISE_EMPLOYMENT_REWARD: KindSpec(
        SubsidyKind.ENTERPRISE_EMPLOYMENT_REWARD,
        parsing.parse_enterprise_employment_reward,
        calculate_enterprise_employment_reward,
    ),
    SubsidyKind.TRANSPORT_ALLOWANCE: KindSpec(
        SubsidyKind.TRANSPORT_ALLOWANCE,
        parsing.parse_transport_allowance,
        calculate_transport_allowance,
    ),
    SubsidyKind.ENTREPRENEURSHIP_SUBSIDY: KindSpec(
        SubsidyKind.ENTREPRENEURSHIP_SUBSIDY,
        parsing.parse_entrepreneurship_subsidy,
        calculate_entrepreneurship_subsidy,
    ),
    SubsidyKind.PUBLIC_WELFARE_POST: KindSpec(
        SubsidyKind.PUBLIC_WELFARE_POST,
        parsing.parse_public_welfare_post,
        calculate_public_welfare_post,
    ),
    SubsidyKind.WORK_FOR_TRAINING: KindSpec(
        SubsidyKind.WORK_FOR_TRAINING,
        parsing.parse_work_for_training,
        calculate_work_for_training,
    ),
    SubsidyKind.TECHNICAL_SCHOOL: KindSpec(
        SubsidyKind.TECHNICAL_SCHOOL,
        parsing.parse_technical_school,
        calculate_technical_school,
    ),
    SubsidyKind.TIERED_WAGE_SUBSIDY: KindSpec(
        SubsidyKind.TIERED_WAGE_SUBSIDY,
        parsing.parse_tiered_wage_subsidy,
        calculate_tiered_wage_subsidy,
    ),
    SubsidyKind.WORKSHOP_AWARD: KindSpec(
        SubsidyKind.WORKSHOP_AWARD,
        parsing.parse_workshop_award,
        calculate_workshop_award,
    ),
    SubsidyKind.MEDICAL_ASSISTANCE: KindSpec(
        SubsidyKind.MEDICAL_ASSISTANCE,
        parsing.parse_medical_assistance,
        calculate_medical_assistance,
    ),
    SubsidyKind.HOUSING_RENOVATION: KindSpec(
        SubsidyKind.HOUSING_RENOVATION,
        parsing.parse_housing_renovation,
        calculate_housing_renovation,
    ),
    SubsidyKind.DIBAO_TOPUP: KindSpec(SubsidyKind.DIBAO_TOPUP, parsing.parse_dibao_topup, calculate_dibao_topup),
    SubsidyKind.DIBAO_MONTHLY: KindSpec(
        SubsidyKind.DIBAO_MONTHLY, parsing.parse_dibao_monthly, calculate_dibao_monthly
    ),
    SubsidyKind.TEKUN_MONTHLY: KindSpec(
        SubsidyKind.TEKUN_MONTHLY, parsing.parse_tekun_monthly, calculate_tekun_monthly
    ),
    SubsidyKind.TEMPORARY_RELIEF: KindSpec(
        SubsidyKind.TEMPORARY_RELIEF, parsing.parse_temporary_relief, calculate_temporary_relief
    ),
}


def _spec(kind: str) -> KindSpec[Any]:
    try:
        return KINDS[SubsidyKind(kind)]
    except ValueError:
        allowed = ", ".join(k.value for k in SubsidyKind)
        raise SubsidyInputError("kind", f"unknown subsidy kind {kind!r}; one of: {allowed}") from None


def parse_inputs(kind: str, inputs: Mapping[str, Any], *, as_of: dt.date) -> object:
    """The typed inputs of `kind` (ages from `birth_date` are taken at `as_of`)."""
    return _spec(kind).parse(inputs, as_of)


def calculate(kind: str, inputs: Mapping[str, Any], policy: ResolvedPolicy) -> SubsidyResult:
    """Parse `inputs` for `kind` and compute it under `policy` (already resolved for the
    request's region and date). Raises `SubsidyInputError` (bad inputs) or
    `shared.policy.PolicyParameterMissing` (the policy in force lacks a figure the kind needs)."""
    return _spec(kind).run(inputs, policy)
