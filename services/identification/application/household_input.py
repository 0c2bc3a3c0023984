"""The household as clients send it (DESIGN.md "Core endpoints"): the validation rules that
the API's request schemas and the bulk import share, kept outside `api/` so that application
modules (the import's worker processes among them) use them without importing the web layer.

`HouseholdIn` is the household of `POST /assessments`; applications and imports reuse it and map
it to the domain with `services.identification.application.assessments.to_domain_household`,
which also runs the checks a schema cannot express (one ID number twice in a household).
`HouseholdImport` is one row of a bulk import. Money is `Decimal` (strings or numbers in JSON,
never negative, at most 2 decimal places). `services.identification.api.schemas` re-exports
every name here."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

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
    "ASSET_FIELDS",
    "EXPENSE_KINDS",
    "FACT_FIELDS",
    "HOUSEHOLD_FIELDS",
    "IMPORT_FIELDS",
    "INCOME_FIELDS",
    "INCOME_KINDS",
    "MEMBER_FIELDS",
    "SCHOOLING_ALIASES",
    "AssetsIn",
    "ExpensesIn",
    "HouseholdImport",
    "HouseholdIn",
    "IncomeIn",
    "MemberIn",
    "Money",
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


# --- the household's shape by name ------------------------------------------------------------
# Every module that reads or writes the household as JSON (the canonical import rows, the stored
# facts, the CSV columns, the fast encoder's checks) takes its field names from here — that is,
# from the models above, in their order, which is the order `model_dump` writes and so the order
# of the stored facts and of the content hash.

#: a member's fields (`MemberIn`)
MEMBER_FIELDS: tuple[str, ...] = tuple(MemberIn.model_fields)
#: a year's income (`IncomeIn`): the amounts by kind, then `unverified_earners`
INCOME_FIELDS: tuple[str, ...] = tuple(IncomeIn.model_fields)
#: the income amounts by kind (yuan)
INCOME_KINDS: tuple[str, ...] = tuple(n for n in INCOME_FIELDS if n != "unverified_earners")
#: the expense amounts by kind (`ExpensesIn`, yuan)
EXPENSE_KINDS: tuple[str, ...] = tuple(ExpensesIn.model_fields)
#: the negative-list flags (`AssetsIn`)
ASSET_FIELDS: tuple[str, ...] = tuple(AssetsIn.model_fields)
#: the household's fields (`HouseholdIn`)
HOUSEHOLD_FIELDS: tuple[str, ...] = tuple(HouseholdIn.model_fields)
#: one import row's fields (`HouseholdImport`: the household's, its number, village and phone)
IMPORT_FIELDS: tuple[str, ...] = tuple(HouseholdImport.model_fields)
#: the non-personal facts kept as the household's JSON (`households.facts`), in their order
FACT_FIELDS: tuple[str, ...] = ("income", "expenses", "last_year_income", "assets", "declared_risks")
