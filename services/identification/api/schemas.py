"""Request and response schemas of the identification API (DESIGN.md "Core endpoints").

`HouseholdIn` is the household as DESIGN.md's `POST /assessments` body gives it; other use cases
(applications, imports) reuse it and map it to the domain with
`services.identification.application.assessments.to_domain_household`, which also runs the
checks a schema cannot express (one ID number twice in a household). Money is `Decimal`
(strings or numbers in JSON, never negative, at most 2 decimal places)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# the household's validation rules live with the application (the bulk import shares them)
from services.identification.application.household_input import (
    SCHOOLING_ALIASES,
    AssetsIn,
    ExpensesIn,
    HouseholdImport,
    HouseholdIn,
    IncomeIn,
    MemberIn,
    Money,
    validate_village_code,
)

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


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
