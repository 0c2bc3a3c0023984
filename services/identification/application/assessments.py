"""Use case: assess one household against the policy in force (POST /assessments), and the
mapping from the client's `HouseholdIn` to the domain's `Household` that every use case shares.

Public: `to_domain_household`, `household_field_errors`, `AssessHousehold`, `assess_household`
(→ `AssessedHousehold`), `assessment_read` (an assessment as DESIGN.md's body: the router's and
the registry's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.identification.application.household_input import HouseholdIn, IncomeIn
from services.identification.domain.assessment import assess
from services.identification.domain.model import (
    Assessment,
    Assets,
    Expenses,
    Household,
    Income,
    Member,
    VillageOverride,
    residence_of_region,
)
from services.identification.domain.params import quantize_money
from shared.auth import Principal
from shared.errors import FieldError, NotFound, Unprocessable
from shared.policy import PolicyParameterMissing
from shared.policy_store import PolicyStore

from .policies import PolicyWork, resolve_or_422

__all__ = [
    "AssessHousehold",
    "AssessedHousehold",
    "assess_household",
    "assessment_read",
    "household_field_errors",
    "money_str",
    "to_domain_household",
    "to_domain_income",
]


def money_str(value: Decimal | None) -> str | None:
    """A decimal string with two places (half-up), the API's money format."""
    return None if value is None else str(quantize_money(value))


def household_field_errors(household: HouseholdIn, *, path: str = "household") -> list[FieldError]:
    """Checks beyond the schema: the same resident ID number twice in one household."""
    seen: dict[str, int] = {}
    errors: list[FieldError] = []
    for i, m in enumerate(household.members):
        if m.id_number in seen:
            errors.append(
                FieldError(
                    f"{path}.members.{i}.id_number",
                    f"the same ID number as members[{seen[m.id_number]}]",
                    "duplicate_id_number",
                )
            )
        else:
            seen[m.id_number] = i
    return errors


def to_domain_income(income: IncomeIn) -> Income:
    return Income(
        wage=income.wage,
        business=income.business,
        property=income.property,
        transfer=income.transfer,
        insurance_claims=income.insurance_claims,
        exempt=income.exempt,
        unverified_earners=income.unverified_earners,
    )


def to_domain_household(household: HouseholdIn, *, region_code: str, path: str = "household") -> Household:
    """The domain `Household` for a validated `HouseholdIn` in village `region_code` (which
    decides rural/urban dibao standard). Raises `Unprocessable` (422) with field paths under
    `path` for what the schema cannot check (duplicate ID numbers)."""
    errors = household_field_errors(household, path=path)
    if errors:
        raise Unprocessable("invalid household", errors=errors)
    members = tuple(
        Member(
            id_number=m.id_number,
            name=m.name,
            relation=m.relation,
            labor_capacity=m.labor_capacity,
            disability_grade=m.disability_grade,
            disability_kind=m.disability_kind,
            serious_illness=m.serious_illness,
            schooling=m.schooling,
        )
        for m in household.members
    )
    e, a = household.expenses, household.assets
    return Household(
        members=members,
        income=to_domain_income(household.income),
        expenses=Expenses(
            compliant_oop_medical=e.compliant_oop_medical,
            education=e.education,
            employment_costs=e.employment_costs,
            other_rigid=e.other_rigid,
        ),
        assets=Assets(**a.model_dump()),
        escaped_poverty=household.escaped_poverty,
        dibao_status=household.dibao_status,
        last_year_income=to_domain_income(household.last_year_income) if household.last_year_income else None,
        residence=residence_of_region(region_code),
        declared_risks=frozenset(household.declared_risks),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def assessment_read(result: Assessment, household: Household | None = None) -> dict[str, Any]:
    """DESIGN.md's response body for an `Assessment` (money as 2-place decimal strings)."""
    drop = result.income_drop
    single = (
        [i for i, m in enumerate(household.members) if m.id_number in result.single_person_dibao] if household else []
    )
    return {
        "per_capita_income": money_str(result.per_capita_income),
        "monitoring_line": money_str(result.monitoring_line),
        "dibao_standard": money_str(result.dibao_standard),
        "category": None if result.category is None else str(result.category),
        "low_income_category": None if result.low_income_category is None else str(result.low_income_category),
        "warning": None if result.warning is None else str(result.warning),
        "risk_types": [str(r) for r in result.risk_types],
        "exclusions": [{"code": x.code, "detail": x.detail, "source": x.source} for x in result.exclusions],
        "eligible": result.eligible,
        "explanations": [
            {"rule": x.rule, "source": x.source, "detail": x.detail, "inputs": _plain(x.inputs)}
            for x in result.explanations
        ],
        "policy": {"id": result.policy_id, "version": result.policy_version},
        "income_drop": None
        if drop is None
        else {
            "kinds": [
                {
                    "kind": k.kind,
                    "this_year": money_str(k.this_year),
                    "last_year": money_str(k.last_year),
                    "change": money_str(k.change),
                    "dropped": k.dropped,
                    "cause": None if k.cause is None else str(k.cause),
                }
                for k in drop.kinds
            ],
            "total_this_year": money_str(drop.total_this_year),
            "total_last_year": money_str(drop.total_last_year),
            "total_change": money_str(drop.total_change),
            "growth_ratio": None if drop.growth_ratio is None else str(drop.growth_ratio),
            "meets_growth_target": drop.meets_growth_target,
        },
        "single_person_dibao_members": single,
    }


@dataclass(frozen=True, slots=True)
class AssessHousehold:
    """Assess `household` in village `region_code` as of `as_of`; `policy_overrides`: what-if
    parameter values (by their /admin/policies names); `village_override`: a recorded
    village-assembly decision identifying it despite the negative list."""

    region_code: str
    as_of: dt.date
    household: HouseholdIn
    policy_overrides: Mapping[str, Any] = field(default_factory=dict)
    village_override: VillageOverride | None = None


@dataclass(frozen=True, slots=True)
class AssessedHousehold:
    """The rules' result for a household, and the household as the rules saw it (its members'
    order names the single-person dibao members: `assessment_read`)."""

    assessment: Assessment
    household: Household


async def assess_household(
    *,
    work: PolicyWork,
    store: PolicyStore,
    principal: Principal,
    body: AssessHousehold,
) -> AssessedHousehold:
    """Run `POST /assessments`: jurisdiction (404 outside), policy (422 policy_not_found),
    what-if overrides (422 at `policy_overrides.<name>`), the rules."""
    if not principal.sees(body.region_code):
        raise NotFound("no such region in your jurisdiction")
    household = to_domain_household(body.household, region_code=body.region_code)
    overrides = store.check_parameters(body.policy_overrides, path="policy_overrides") if body.policy_overrides else {}
    policy = await resolve_or_422(store, work, body.region_code, body.as_of)
    try:
        result = assess(
            household, policy, as_of=body.as_of, village_override=body.village_override, policy_overrides=overrides
        )
    except PolicyParameterMissing as exc:
        raise Unprocessable(str(exc), code="policy_incomplete", errors=[FieldError("region_code", str(exc))]) from None
    return AssessedHousehold(result, household)
