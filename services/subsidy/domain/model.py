"""The subsidy service's vocabulary: kinds, typed inputs per kind, the result of a calculation
(amount, breakdown, policy clause, explanations, funding source) and the domain's errors.

Errors::

    SubsidyError
    ├── SubsidyInputError   inputs break an invariant (API: 422 with `field_path`)
    └── DomainRefusal       a rule across decisions refuses (API: 409 with `code`)

Every value object is a frozen dataclass; money is `Decimal` in yuan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .rounding import exact_str

__all__ = [
    "BreakdownLine",
    "CareLevel",
    "DibaoMonthlyInputs",
    "DibaoPhase",
    "DibaoTopupInputs",
    "DomainRefusal",
    "EnterpriseEmploymentRewardInputs",
    "EntrepreneurshipSubsidyInputs",
    "Explanation",
    "FundingSource",
    "Hire",
    "HousingRenovationInputs",
    "HousingType",
    "MedicalAssistanceInputs",
    "PublicWelfarePostInputs",
    "ReliefLevel",
    "SubsidyError",
    "SubsidyInputError",
    "SubsidyKind",
    "SubsidyResult",
    "TechnicalSchoolInputs",
    "TekunMonthlyInputs",
    "TemporaryReliefInputs",
    "TieredWageSubsidyInputs",
    "Trainee",
    "TransportAllowanceInputs",
    "WorkForTrainingInputs",
    "WorkLocation",
    "WorkshopAwardInputs",
]


class SubsidyKind(StrEnum):
    """The kinds `POST /subsidies/calculate` accepts (DESIGN.md)."""

    ENTERPRISE_EMPLOYMENT_REWARD = "enterprise_employment_reward"  # 吸纳就业奖补
    TRANSPORT_ALLOWANCE = "transport_allowance"  # 交通补贴
    ENTREPRENEURSHIP_SUBSIDY = "entrepreneurship_subsidy"  # 创业补贴
    PUBLIC_WELFARE_POST = "public_welfare_post"  # 公益性岗位补贴
    WORK_FOR_TRAINING = "work_for_training"  # 以工代训
    TECHNICAL_SCHOOL = "technical_school"  # 技工教育补助
    TIERED_WAGE_SUBSIDY = "tiered_wage_subsidy"  # 经营实体吸纳贫困劳动力就业补贴
    WORKSHOP_AWARD = "workshop_award"  # 就业帮扶车间以奖代补 / 稳岗补贴
    MEDICAL_ASSISTANCE = "medical_assistance"  # 边缘户医疗救助
    HOUSING_RENOVATION = "housing_renovation"  # 农村危房改造
    DIBAO_TOPUP = "dibao_topup"  # 低保金 (差额补助 + 增发)
    #: Ordered by civil affairs (`social_assistance.payment_ordered`), or calculated like the rest.
    DIBAO_MONTHLY = "dibao_monthly"  # 低保金 for a benefit month (the annual top-up ÷ 12)
    TEKUN_MONTHLY = "tekun_monthly"  # 特困人员救助供养金 (基本生活标准 + 照料护理标准)
    TEMPORARY_RELIEF = "temporary_relief"  # 临时救助金


class WorkLocation(StrEnum):
    """Where a transferred laborer works, relative to the home county (务工地)."""

    IN_COUNTY = "in_county"
    OUT_OF_COUNTY_IN_CITY = "out_of_county_in_city"  # 县外市内
    OUT_OF_CITY_IN_PROVINCE = "out_of_city_in_province"  # 市外省内
    OUT_OF_PROVINCE = "out_of_province"  # 省外


class HousingType(StrEnum):
    REBUILD = "rebuild"  # 重建
    REPAIR = "repair"  # 修缮加固


class FundingSource(StrEnum):
    """Which budget pays (000 就业扶贫 §四(三); 002 篇一 §5; 002 篇十一 §6(2))."""

    EMPLOYMENT_FUND = "employment_fund"  # 就业资金 (laborers aged 16–59; workshop awards)
    COUNTY_FINANCE = "county_finance"  # 县级财政 (laborers aged 60 and over)
    COUNTY_MEDICAL_ASSISTANCE_FUND = "county_medical_assistance_fund"  # 边缘户医疗救助专项资金
    MIXED = "mixed"  # per-person lines come from different budgets: see the breakdown
    DIBAO_FUND = "dibao_fund"  # 低保资金
    TEKUN_FUND = "tekun_fund"  # 特困供养资金
    TEMPORARY_RELIEF_FUND = "temporary_relief_fund"  # 临时救助资金 (乡镇备用金 included)


class DibaoPhase(StrEnum):
    """Where a dibao household is in its benefit (000 safety-net §三(二)1)."""

    REGULAR = "regular"
    GRADUAL_EXIT = "gradual_exit"  # 渐退期: income above the standard, benefit kept for a while
    VOLUNTARY_EXIT = "voluntary_exit"  # 主动申请退出: 1–3 more months of benefit


class CareLevel(StrEnum):
    """特困人员生活自理能力 (the care standard follows it)."""

    SELF_CARE = "self_care"  # 生活自理
    PARTIAL = "partial"  # 部分失能
    FULL = "full"  # 完全失能


class ReliefLevel(StrEnum):
    """Who approved a temporary relief (000 safety-net §三(二)3: 乡镇审批额度; 分级审批)."""

    TOWNSHIP = "township"
    COUNTY = "county"


# --- errors -----------------------------------------------------------------------------------


class SubsidyError(Exception):
    """Base of the subsidy domain's errors."""


class SubsidyInputError(SubsidyError, ValueError):
    """Inputs that break an invariant; `field_path` is dotted with list indexes
    (`inputs.hires[2].contract_months`) so the API can answer 422 with the path."""

    def __init__(self, field_path: str, message: str) -> None:
        self.field_path = field_path
        self.message = message
        super().__init__(f"{field_path}: {message}")


class DomainRefusal(SubsidyError):
    """A rule across decisions refuses the request: `code` is stable for machines, `message`
    names the earlier decision(s) in `decision_ids`."""

    def __init__(self, code: str, message: str, decision_ids: tuple[str, ...] = ()) -> None:
        self.code = code
        self.message = message
        self.decision_ids = decision_ids
        super().__init__(message)


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hire:
    person_id: str
    contract_months: int
    poor_laborer: bool
    #: Age on the policy date, when known (funding source). Added field.
    age: int | None = None


@dataclass(frozen=True, slots=True)
class EnterpriseEmploymentRewardInputs:
    hires: tuple[Hire, ...]
    workshop: bool = False
    #: Persons stably employed ≥ 6 months in a poverty workshop (count).
    stable_6m_persons: int = 0
    #: Their ids when given as a list (one-off per person across decisions). Added field.
    stable_6m_person_ids: tuple[str, ...] = ()
    enterprise_id: str | None = None  # added field


@dataclass(frozen=True, slots=True)
class TransportAllowanceInputs:
    work_location: WorkLocation
    contract_months: int
    social_insurance: bool
    epidemic_period: bool = False
    stable_months: int = 0
    person_id: str | None = None  # added field
    age: int | None = None  # added field


@dataclass(frozen=True, slots=True)
class EntrepreneurshipSubsidyInputs:
    first_business: bool
    months_operating: int
    employees_1y_contract: int
    person_id: str | None = None  # added field
    age: int | None = None  # added field


@dataclass(frozen=True, slots=True)
class PublicWelfarePostInputs:
    annual_wage: Decimal
    person_id: str | None = None  # added field
    age: int | None = None  # added field


@dataclass(frozen=True, slots=True)
class Trainee:
    person_id: str
    months: int
    pre_job_training_claimed: bool
    age: int | None = None  # added field


@dataclass(frozen=True, slots=True)
class WorkForTrainingInputs:
    trainees: tuple[Trainee, ...]
    enterprise_id: str | None = None  # added field


@dataclass(frozen=True, slots=True)
class TechnicalSchoolInputs:
    years: int
    yulu_plan: bool
    person_id: str | None = None  # added field


@dataclass(frozen=True, slots=True)
class TieredWageSubsidyInputs:
    poor_laborers: int
    total_wages: Decimal
    enterprise_id: str | None = None  # added field


@dataclass(frozen=True, slots=True)
class WorkshopAwardInputs:
    stable_6m_count: int
    stable_12m_count: int
    average_monthly_wage: Decimal
    enterprise_id: str | None = None  # added field (the workshop)


@dataclass(frozen=True, slots=True)
class MedicalAssistanceInputs:
    compliant_oop: Decimal
    in_province: bool
    tiered_referral: bool
    paid_this_year: Decimal = Decimal(0)
    person_id: str | None = None  # added field


@dataclass(frozen=True, slots=True)
class HousingRenovationInputs:
    type: HousingType
    household_id: str | None = None  # added field


@dataclass(frozen=True, slots=True)
class DibaoTopupInputs:
    per_capita_income_annual: Decimal
    members: int
    severely_ill_or_disabled: int = 0
    aged_70_plus: int = 0
    minors: int = 0
    household_id: str | None = None  # added field


@dataclass(frozen=True, slots=True)
class DibaoMonthlyInputs:
    """One benefit month (or `months`) of dibao: the annual top-up (the `dibao_topup` inputs)
    ÷ 12 × months, less the per-person share of `excluded_members` (a member whose own benefit
    is stopped after three refused job offers, 000 safety-net §三(二)1)."""

    topup: DibaoTopupInputs
    months: int = 1
    excluded_members: int = 0
    phase: DibaoPhase = DibaoPhase.REGULAR

    @property
    def household_id(self) -> str | None:
        return self.topup.household_id


@dataclass(frozen=True, slots=True)
class TekunMonthlyInputs:
    persons: int
    care_level: CareLevel
    months: int = 1
    household_id: str | None = None


@dataclass(frozen=True, slots=True)
class TemporaryReliefInputs:
    """An amount civil affairs approved; `limit` is the township approval limit in force there."""

    amount: Decimal
    reason: str
    approved_level: ReliefLevel
    limit: Decimal
    household_id: str | None = None


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BreakdownLine:
    """One component or one person of a calculation. `amount` is exact (not yet rounded); a
    result's amount is the sum of its lines rounded once. A person listed but not counted has
    `counted=False` and amount 0; a cap shows as its own negative `cap` line."""

    component: str
    description: str
    amount: Decimal
    person_id: str | None = None
    quantity: Decimal | None = None  # months, years or persons behind the amount
    rate: Decimal | None = None  # per-unit amount or share applied
    funding_source: FundingSource | None = None
    counted: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "description": self.description,
            "amount": exact_str(self.amount),
            "person_id": self.person_id,
            "quantity": None if self.quantity is None else str(self.quantity),
            "rate": None if self.rate is None else str(self.rate),
            "funding_source": None if self.funding_source is None else str(self.funding_source),
            "counted": self.counted,
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """A sentence an officer can read to a family; `rule` names the test, `source` the clause."""

    rule: str
    source: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "source": self.source, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class SubsidyResult:
    kind: SubsidyKind
    amount: Decimal  # yuan, two places, rounded half-up once
    breakdown: tuple[BreakdownLine, ...]
    policy_id: str
    policy_version: str
    clause: str
    explanations: tuple[Explanation, ...]
    funding_source: FundingSource | None = None
    #: The values of the policy parameters used, by name (for the decision record).
    parameters: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def policy(self) -> dict[str, str]:
        return {"id": self.policy_id, "version": self.policy_version, "clause": self.clause}

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "amount": f"{self.amount:.2f}",
            "breakdown": [line.as_dict() for line in self.breakdown],
            "policy": self.policy,
            "explanations": [e.as_dict() for e in self.explanations],
            "funding_source": None if self.funding_source is None else str(self.funding_source),
        }
