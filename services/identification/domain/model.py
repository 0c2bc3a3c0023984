"""The household as the identification rules see it, and the shapes of their results.

Frozen dataclasses with Decimal money (yuan per year); validation of ID numbers and region codes
belongs to the API layer, the domain only asserts its own invariants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

__all__ = [
    "ZERO",
    "Assessment",
    "Assets",
    "DibaoStatus",
    "DisabilityKind",
    "Exclusion",
    "Expenses",
    "Explanation",
    "Household",
    "Income",
    "IncomeDropCause",
    "IncomeDropResult",
    "IncomeKindChange",
    "LaborCapacity",
    "LowIncomeCategory",
    "Member",
    "Residence",
    "ReturnCategory",
    "RiskType",
    "Schooling",
    "VillageOverride",
    "Warning",
    "residence_of_region",
]

ZERO = Decimal(0)


class LaborCapacity(StrEnum):
    """劳动能力 (000 employment §二(二))."""

    ORDINARY = "ordinary"  # 普通劳动力
    SKILLED = "skilled"  # 技能劳动力
    WEAK = "weak"  # 弱劳动力
    HALF = "half"  # 半劳动力
    NONE = "none"  # 无劳动能力


class DibaoStatus(StrEnum):
    """The household's standing in the civil-affairs programmes (民政)."""

    NONE = "none"
    DIBAO = "dibao"  # 低保
    TEKUN = "tekun"  # 特困
    EXITED = "exited"  # left dibao/特困 by procedure


class DisabilityKind(StrEnum):
    """Kinds on the 残疾人证."""

    VISUAL = "visual"
    HEARING = "hearing"
    SPEECH = "speech"
    PHYSICAL = "physical"
    INTELLECTUAL = "intellectual"
    MENTAL = "mental"
    MULTIPLE = "multiple"


class Schooling(StrEnum):
    """Schooling stage; everything after compulsory education is 非义务教育."""

    NONE = "none"
    PRESCHOOL = "preschool"
    COMPULSORY = "compulsory"
    SENIOR_HIGH = "senior_high"
    VOCATIONAL = "vocational"
    UNIVERSITY = "university"
    POSTGRADUATE = "postgraduate"

    @property
    def non_compulsory(self) -> bool:
        return self in _NON_COMPULSORY


_NON_COMPULSORY = frozenset({Schooling.SENIOR_HIGH, Schooling.VOCATIONAL, Schooling.UNIVERSITY, Schooling.POSTGRADUATE})


class Residence(StrEnum):
    """Which dibao standard applies: rural (村委会) or urban (居委会)."""

    RURAL = "rural"
    URBAN = "urban"


def residence_of_region(region_code: str) -> Residence:
    """Urban for a 12-digit code of a residents' committee (last three digits 001–199, the
    statistical division code), rural otherwise (村委会 200–399, or a code above village level)."""
    if len(region_code) == 12 and region_code[-3:].isdigit() and 1 <= int(region_code[-3:]) < 200:
        return Residence.URBAN
    return Residence.RURAL


class ReturnCategory(StrEnum):
    """监测对象 categories (002 篇八 §(一), 篇九 §二(二))."""

    UNSTABLE_ESCAPED = "unstable_escaped"  # 脱贫不稳定户
    MARGINAL = "marginal"  # 边缘易致贫户
    SUDDEN_HARDSHIP = "sudden_hardship"  # 突发严重困难户


class LowIncomeCategory(StrEnum):
    """低收入人口 categories (002 篇六 §一, 篇三, 篇五)."""

    DIBAO = "dibao"
    TEKUN = "tekun"
    DIBAO_EDGE = "dibao_edge"  # 低保边缘
    EXPENDITURE_HARDSHIP = "expenditure_hardship"  # 支出型困难


class Warning(StrEnum):
    """Three-colour early warning (002 篇十四 §(一))."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"


class RiskType(StrEnum):
    """返贫致贫风险 types (DOMAIN.md §3)."""

    ILLNESS = "illness"  # 因病
    SCHOOLING = "schooling"  # 因学
    DISABILITY = "disability"  # 因残
    DISASTER = "disaster"  # 因灾
    ACCIDENT = "accident"  # 因意外事故
    INDUSTRY_FAILURE = "industry_failure"  # 因产业项目失败
    UNSTABLE_EMPLOYMENT = "unstable_employment"  # 因务工就业不稳
    LACK_OF_LABOR = "lack_of_labor"  # 缺劳动力
    HOUSING = "housing"  # 住房安全
    DRINKING_WATER = "drinking_water"  # 饮水安全
    OTHER = "other"


class IncomeDropCause(StrEnum):
    """The ten causes of an income drop (002 篇一 §(二) 1–10)."""

    FARMING_REDUCED = "farming_reduced"  # 1 种养业规模缩小、失败
    INDUSTRY_DIVIDEND_CUT = "industry_dividend_cut"  # 2 帮扶产业收益分配减少
    PHOTOVOLTAIC_DIVIDEND_CUT = "photovoltaic_dividend_cut"  # 3 光伏收益分配调整
    WAGE_WORK_LOST = "wage_work_lost"  # 4 未务工或工资降低、时间缩短
    PUBLIC_WELFARE_POST_LOST = "public_welfare_post_lost"  # 5 公益性岗位/帮扶车间
    DIBAO_CANCELLED = "dibao_cancelled"  # 6 低保被取消
    SUBSIDY_CUT = "subsidy_cut"  # 7 政策性补贴减少或取消
    NATURAL_DISASTER = "natural_disaster"  # 8 自然灾害
    ASSISTANCE_NOT_DELIVERED = "assistance_not_delivered"  # 9 帮扶工作不到位
    OTHER = "other"  # 10 其它


@dataclass(frozen=True, slots=True)
class Member:
    id_number: str
    name: str
    relation: str
    labor_capacity: LaborCapacity = LaborCapacity.ORDINARY
    disability_grade: int | None = None  # 残疾人证 grade 1 (most severe) … 4
    disability_kind: DisabilityKind | None = None
    serious_illness: bool = False  # a designated major / serious chronic disease
    schooling: Schooling = Schooling.NONE

    def __post_init__(self) -> None:
        if self.disability_grade is not None and not 1 <= self.disability_grade <= 4:
            raise ValueError(f"disability_grade must be 1–4, got {self.disability_grade}")

    @property
    def severely_disabled(self) -> bool:
        """重残: certificate grade 1 or 2 of any kind, or grade 3 intellectual/mental
        (002 篇六 §(一)2; 篇十四)."""
        if self.disability_grade is None:
            return False
        if self.disability_grade <= 2:
            return True
        return self.disability_grade == 3 and self.disability_kind in _MIND


_MIND = frozenset({DisabilityKind.INTELLECTUAL, DisabilityKind.MENTAL})


def _money(*values: Decimal) -> None:
    for v in values:
        if not isinstance(v, Decimal):
            raise TypeError(f"money must be Decimal, got {type(v).__name__}")


@dataclass(frozen=True, slots=True)
class Income:
    """A year's household income by kind (002 篇一 §(二)); `exempt` is income received but not
    counted (收入豁免), kept so the explanation can show it."""

    # The methods come before the fields: the field `property` would shadow the builtin.
    @property
    def counted_total(self) -> Decimal:
        """The four kinds plus insurance claims; exempt income is never counted."""
        return self.wage + self.business + self.property + self.transfer + self.insurance_claims

    def by_kind(self) -> dict[str, Decimal]:
        return {
            "business": self.business,
            "wage": self.wage,
            "property": self.property,
            "transfer": self.transfer,
        }

    wage: Decimal = ZERO  # 工资性
    business: Decimal = ZERO  # 经营性
    property: Decimal = ZERO  # 财产性
    transfer: Decimal = ZERO  # 转移性 (exempt items excluded)
    insurance_claims: Decimal = ZERO  # 理赔收入
    exempt: Decimal = ZERO
    #: Members of a dibao family whose employment income cannot be verified; each is counted at
    #: the local minimum wage (002 篇三 §(一)). An extension of DESIGN.md's body.
    unverified_earners: int = 0

    def __post_init__(self) -> None:
        _money(
            self.wage,
            self.business,
            self.property,
            self.transfer,
            self.insurance_claims,
            self.exempt,
        )
        if self.exempt < ZERO or self.unverified_earners < 0:
            raise ValueError("exempt income and unverified_earners cannot be negative")


@dataclass(frozen=True, slots=True)
class Expenses:
    compliant_oop_medical: Decimal = ZERO  # 合规自付医疗支出
    education: Decimal = ZERO
    employment_costs: Decimal = ZERO  # 就业成本, job-search travel/lodging/living
    other_rigid: Decimal = ZERO  # other rigid spending: care, disaster, accident

    def __post_init__(self) -> None:
        _money(self.compliant_oop_medical, self.education, self.employment_costs, self.other_rigid)
        if min(self.compliant_oop_medical, self.education, self.employment_costs, self.other_rigid) < 0:
            raise ValueError("expenses cannot be negative")

    @property
    def rigid_total(self) -> Decimal:
        """刚性支出: medical, education and other rigid spending (employment costs are not)."""
        return self.compliant_oop_medical + self.education + self.other_rigid


@dataclass(frozen=True, slots=True)
class Assets:
    """Negative-list flags (002 篇八, 篇十二 §(三)); names are DESIGN.md's."""

    public_employee: bool = False
    village_cadre: bool = False
    commercial_property: bool = False
    car: bool = False
    company: bool = False
    large_deposits: bool = False
    private_school: bool = False
    supporters_able: bool = False
    illegal_conduct: bool = False
    refuses_work: bool = False
    refuses_asset_check: bool = False
    absent_over_year: bool = False


@dataclass(frozen=True, slots=True)
class Household:
    members: tuple[Member, ...]
    income: Income = field(default_factory=Income)
    expenses: Expenses = field(default_factory=Expenses)
    assets: Assets = field(default_factory=Assets)
    escaped_poverty: bool = False
    dibao_status: DibaoStatus = DibaoStatus.NONE
    last_year_income: Income | None = None
    residence: Residence = Residence.RURAL
    #: Risks reported by the applicant or an officer that the figures cannot show (disaster,
    #: accident, housing, drinking water …). An extension of DESIGN.md's body.
    declared_risks: frozenset[RiskType] = frozenset()

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a household has at least one member")
        if not isinstance(self.members, tuple):
            object.__setattr__(self, "members", tuple(self.members))

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass(frozen=True, slots=True)
class VillageOverride:
    """A recorded village-assembly (村民代表会议) decision to identify a household despite the
    negative list (002 篇十二 §(三); 篇八)."""

    decision_ref: str  # minutes / record number
    decided_on: dt.date
    note: str = ""

    def __post_init__(self) -> None:
        if not self.decision_ref.strip():
            raise ValueError("a village override needs the reference of the recorded decision")


@dataclass(frozen=True, slots=True)
class Exclusion:
    code: str
    detail: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Explanation:
    """One rule that fired or blocked: its clause and the numbers it used."""

    rule: str
    source: str
    detail: str
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IncomeKindChange:
    kind: str
    this_year: Decimal
    last_year: Decimal
    change: Decimal
    dropped: bool
    cause: IncomeDropCause | None = None


@dataclass(frozen=True, slots=True)
class IncomeDropResult:
    kinds: tuple[IncomeKindChange, ...]
    total_this_year: Decimal
    total_last_year: Decimal
    total_change: Decimal
    #: (this − last) / last, rounded to 0.0001; None when last year's total is not positive.
    growth_ratio: Decimal | None
    meets_growth_target: bool | None

    @property
    def any_drop(self) -> bool:
        return any(k.dropped for k in self.kinds)

    @property
    def causes(self) -> tuple[IncomeDropCause, ...]:
        return tuple(k.cause for k in self.kinds if k.cause is not None)


@dataclass(frozen=True, slots=True)
class Assessment:
    """Every field of DESIGN.md's POST /assessments response, plus the income-drop screening."""

    per_capita_income: Decimal
    monitoring_line: Decimal
    dibao_standard: Decimal
    category: ReturnCategory | None
    low_income_category: LowIncomeCategory | None
    warning: Warning | None
    risk_types: tuple[RiskType, ...]
    exclusions: tuple[Exclusion, ...]
    eligible: bool
    explanations: tuple[Explanation, ...]
    policy_id: str
    policy_version: str
    income_drop: IncomeDropResult | None = None
    #: id_numbers of members of a dibao-edge household who may get dibao alone (单人保).
    single_person_dibao: tuple[str, ...] = ()

    def rules_fired(self) -> list[str]:
        return [e.rule for e in self.explanations]
