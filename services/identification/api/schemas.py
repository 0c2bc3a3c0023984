"""Request and response schemas of the identification API (DESIGN.md "Core endpoints").

`HouseholdIn` is the household as DESIGN.md's `POST /assessments` body gives it; other use cases
(applications, imports) reuse it and map it to the domain with
`services.identification.application.assessments.to_domain_household`, which also runs the
checks a schema cannot express (one ID number twice in a household). Money is `Decimal`
(strings or numbers in JSON, never negative, at most 2 decimal places)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from services.identification.domain.model import (
    DibaoStatus,
    DisabilityKind,
    LaborCapacity,
    RiskType,
    Schooling,
)
from shared.identifiers import InvalidIdNumber, InvalidRegionCode, validate_id_number, validate_region_code

__all__ = [
    "SCHOOLING_ALIASES",
    "AssessmentCreate",
    "AssessmentRead",
    "AssetsIn",
    "ExpensesIn",
    "HouseholdImport",
    "HouseholdIn",
    "IncomeIn",
    "JobRead",
    "MemberIn",
    "Money",
    "ScreeningCreate",
    "SimulationCreate",
    "VillageOverrideIn",
    "validate_village_code",
]

#: A non-negative amount in yuan with at most two decimal places (fen).
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]

#: Schooling names used by the provincial platform (and `fangfan generate`) mapped to ours:
#: primary and junior school are compulsory education; "senior" is senior high school.
SCHOOLING_ALIASES = {"primary": "compulsory", "junior": "compulsory", "senior": "senior_high"}


def _schooling(value: Any) -> Any:
    if isinstance(value, str):
        return SCHOOLING_ALIASES.get(value, value)
    return value


def validate_village_code(value: str) -> str:
    """A 12-digit village code or ValueError (the message says what level was given)."""
    try:
        return validate_region_code(value, level="village")
    except InvalidRegionCode as exc:
        raise ValueError(str(exc)) from None


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberIn(_In):
    """One member of the household (户籍 register)."""

    id_number: str = Field(description="18-character resident ID number (GB 11643)")
    name: str = Field(min_length=1, max_length=100)
    relation: str = Field(min_length=1, max_length=16, examples=["head", "spouse", "child"])
    labor_capacity: LaborCapacity
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    disability_kind: DisabilityKind | None = None
    serious_illness: bool = False
    schooling: Annotated[Schooling, BeforeValidator(_schooling)] = Schooling.NONE

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, v: str) -> str:
        try:
            return validate_id_number(v)
        except InvalidIdNumber as exc:
            raise ValueError(str(exc)) from None


class IncomeIn(_In):
    """A year's household income by kind (yuan); omitted kinds are 0."""

    wage: Money = Decimal(0)
    business: Money = Decimal(0)
    property: Money = Decimal(0)
    transfer: Money = Decimal(0)
    insurance_claims: Money = Decimal(0)
    exempt: Money = Decimal(0)
    unverified_earners: int = Field(default=0, ge=0, le=50, description="dibao family: earners counted at minimum wage")


class ExpensesIn(_In):
    compliant_oop_medical: Money = Decimal(0)
    education: Money = Decimal(0)
    employment_costs: Money = Decimal(0)
    other_rigid: Money = Decimal(0)


class AssetsIn(_In):
    """Negative-list flags (DOMAIN.md §3); omitted flags are false."""

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


class HouseholdIn(_In):
    """The household of DESIGN.md's `POST /assessments` body (reused by applications and imports).

    Map it with `application.assessments.to_domain_household(household, region_code=..., path=...)`,
    which also refuses the same ID number twice (422 at `<path>.members.<i>.id_number`)."""

    members: list[MemberIn] = Field(min_length=1, max_length=50)
    escaped_poverty: bool = False
    income: IncomeIn = Field(default_factory=IncomeIn)
    expenses: ExpensesIn = Field(default_factory=ExpensesIn)
    last_year_income: IncomeIn | None = None
    assets: AssetsIn = Field(default_factory=AssetsIn)
    dibao_status: DibaoStatus = DibaoStatus.NONE
    declared_risks: list[RiskType] = Field(
        default_factory=list, description="risks the figures cannot show (disaster, accident, housing …)"
    )


class HouseholdImport(HouseholdIn):
    """One household of a bulk import (`fangfan generate`'s NDJSON line)."""

    household_number: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")
    region_code: str
    phone: str | None = Field(default=None, pattern=r"^1[3-9][0-9]{9}$")

    @field_validator("region_code")
    @classmethod
    def _village(cls, v: str) -> str:
        return validate_village_code(v)


class VillageOverrideIn(_In):
    """A recorded village-assembly decision identifying a household despite the negative list."""

    decision_ref: str = Field(min_length=1, max_length=200)
    decided_on: dt.date
    note: str = ""


PolicyOverrides = dict[str, Any]


class AssessmentCreate(_In):
    """Body of `POST /api/v1/assessments`."""

    region_code: str = Field(description="12-digit village code", examples=["341221001201"])
    as_of: dt.date
    household: HouseholdIn
    policy_overrides: PolicyOverrides = Field(
        default_factory=dict, description="what-if: parameter name (as in /admin/policies) → value"
    )
    village_override: VillageOverrideIn | None = None

    @field_validator("region_code")
    @classmethod
    def _village(cls, v: str) -> str:
        return validate_village_code(v)


class ExclusionRead(BaseModel):
    code: str
    detail: str
    source: str = ""


class ExplanationRead(BaseModel):
    rule: str
    source: str
    detail: str
    inputs: dict[str, Any] = Field(default_factory=dict)


class PolicyRef(BaseModel):
    id: str
    version: str


class AssessmentRead(BaseModel):
    """Response of `POST /api/v1/assessments` (money as decimal strings, 2 places)."""

    per_capita_income: str
    monitoring_line: str
    dibao_standard: str
    category: Literal["unstable_escaped", "marginal", "sudden_hardship"] | None
    low_income_category: Literal["dibao", "tekun", "dibao_edge", "expenditure_hardship"] | None
    warning: Literal["red", "orange", "yellow"] | None
    risk_types: list[str]
    exclusions: list[ExclusionRead]
    eligible: bool
    explanations: list[ExplanationRead]
    policy: PolicyRef
    income_drop: dict[str, Any] | None = None
    single_person_dibao_members: list[int] = Field(
        default_factory=list, description="indexes of members who may get dibao alone (单人保)"
    )


class SimulationCreate(_In):
    """Body of `POST /api/v1/assessments:simulate`."""

    region: str = Field(description="region prefix (2–12 digits)")
    as_of: dt.date
    policy_overrides: PolicyOverrides = Field(default_factory=dict)


class ScreeningCreate(_In):
    """Body of `POST /api/v1/screenings`."""

    region: str = Field(description="region prefix (2–12 digits)")
    as_of: dt.date


class JobRead(BaseModel):
    id: str
    kind: str
    status: str
    region: str
    rows_done: int
    rows_total: int | None
    rows_failed: int
    rate_per_s: float | None
    errors: list[dict[str, Any]]
    error_count: int
    result: dict[str, Any] = Field(default_factory=dict)
    #: why a `failed` job stopped: {code, detail, line} (the last stored line; re-send to resume)
    failure: dict[str, Any] | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None
