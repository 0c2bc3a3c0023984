"""Use case: assess one household against the policy in force (POST /assessments), and the
mapping from the client's `HouseholdIn` to the domain's `Household` that every use case shares.

Public: `to_domain_household`, `household_field_errors`, `AssessHousehold`, `assess_household`
(→ `AssessedHousehold`). An assessment's JSON body is the api's (api/assessment_body.py).
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
    order names the single-person dibao members in the response body)."""

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
