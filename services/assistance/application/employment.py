"""Employment services (就业帮扶): per-laborer survey records (000 employment 附件3), the guidance,
training and job recommendations given, placements and public-welfare post wages — the last two
published for the subsidy service. Persons are opaque `person_ref`s, never ID numbers."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.auth import Principal
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.events import PersonalDataInEvent, assert_no_personal_data

from .common import Actor, assistance_event, ensure_sees, require_officer
from .ports import Work
from .records import EmploymentRecord, EmploymentService, Placement, PostWage

__all__ = [
    "AddService",
    "RecordPlacement",
    "RecordPostWage",
    "UpsertRecord",
    "UpsertedRecord",
    "add_service",
    "record_for",
    "record_placement",
    "record_post_wage",
    "upsert_record",
]


@dataclass(frozen=True, slots=True)
class UpsertRecord:
    person_ref: str
    household_id: str
    survey: dict[str, Any] = field(default_factory=dict)  # the 附件3 fields given


@dataclass(frozen=True, slots=True)
class UpsertedRecord:
    record: EmploymentRecord
    created: bool


@dataclass(frozen=True, slots=True)
class AddService:
    record_id: str
    kind: str  # guidance | training | job_recommendation
    provided_on: dt.date
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class RecordPlacement:
    person_ref: str
    employer: str
    contract_months: int
    social_insurance: bool
    work_location: str
    epidemic_period: bool
    stable_months: int
    age: int
    placed_on: dt.date


@dataclass(frozen=True, slots=True)
class RecordPostWage:
    person_ref: str
    year: int
    annual_wage: Decimal
    post: str | None = None


def _check_person_ref(ref: str) -> None:
    try:
        assert_no_personal_data(ref, "person_ref")
    except PersonalDataInEvent:
        raise Unprocessable(
            "person_ref must be an opaque reference, not an ID or phone number",
            errors=[FieldError("person_ref", "must not be a resident ID number or a phone number")],
        ) from None


def _visible(principal: Principal, row: EmploymentRecord | None) -> EmploymentRecord:
    if row is None or not principal.sees(row.region_code):
        raise NotFound("employment record not found")
    return row


async def record_for(uow: Work, principal: Principal, record_id: str) -> EmploymentRecord:
    """The laborer's record, if the caller's jurisdiction holds it (404 otherwise)."""
    return _visible(principal, await uow.employment.record(record_id))


async def upsert_record(uow: Work, principal: Principal, cmd: UpsertRecord, *, at: dt.datetime) -> UpsertedRecord:
    """Create or update the laborer's record by `person_ref` (committed)."""
    require_officer(principal)
    _check_person_ref(cmd.person_ref)
    household = await uow.households.get(cmd.household_id)
    if household is None:
        raise NotFound("household not found (no assistance file)")
    ensure_sees(principal, household.region_code, "household")
    jsonable = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in cmd.survey.items()}
    row = await uow.employment.record_of(cmd.person_ref)
    if row is not None:
        if row.household_id != cmd.household_id:
            raise Conflict("this person_ref belongs to another household", code="person_other_household")
        await uow.employment.update_survey(row.id, jsonable, at)
        rid, created = str(row.id), False
    else:
        rid, created = str(uuid.uuid4()), True
        await uow.employment.add_record(
            EmploymentRecord(
                id=rid,
                person_ref=cmd.person_ref,
                household_id=cmd.household_id,
                region_code=household.region_code,
                survey=jsonable,
                created_by=Actor.of(principal).by,
                created_at=at,
                updated_at=at,
            )
        )
    await uow.commit()
    return UpsertedRecord(await record_for(uow, principal, rid), created)


async def add_service(
    uow: Work, principal: Principal, cmd: AddService, *, today: dt.date, at: dt.datetime
) -> EmploymentRecord:
    """Log a service given to the laborer (committed); returns their record."""
    require_officer(principal)
    row = await record_for(uow, principal, cmd.record_id)
    if cmd.provided_on > today:
        raise Unprocessable(
            "a service cannot be dated in the future",
            errors=[FieldError("provided_on", f"must not be after {today.isoformat()}")],
        )
    await uow.employment.add_service(
        EmploymentService(
            record_id=row.id,
            kind=cmd.kind,
            provided_on=cmd.provided_on,
            detail=cmd.detail,
            by=Actor.of(principal).by,
            created_at=at,
        )
    )
    await uow.commit()
    return await record_for(uow, principal, cmd.record_id)


async def record_placement(
    uow: Work, principal: Principal, cmd: RecordPlacement, *, at: dt.datetime
) -> tuple[Placement, dict[str, Any]]:
    """A job placement; `assistance.placement_recorded` for the transport allowance (committed).
    Returns the placement and the event's data."""
    require_officer(principal)
    _check_person_ref(cmd.person_ref)
    row = _visible(principal, await uow.employment.record_of(cmd.person_ref))
    placement = Placement(
        id=str(uuid.uuid4()),
        person_ref=cmd.person_ref,
        household_id=row.household_id,
        region_code=row.region_code,
        employer=cmd.employer,
        contract_months=cmd.contract_months,
        social_insurance=cmd.social_insurance,
        work_location=cmd.work_location,
        epidemic_period=cmd.epidemic_period,
        stable_months=cmd.stable_months,
        age=cmd.age,
        placed_on=cmd.placed_on,
        by=Actor.of(principal).by,
        created_at=at,
    )
    await uow.employment.add_placement(placement)
    data = {
        "person_ref": row.person_ref,
        "household_id": row.household_id,
        "region_code": row.region_code,
        "work_location": str(cmd.work_location),
        "contract_months": cmd.contract_months,
        "social_insurance": cmd.social_insurance,
        "epidemic_period": cmd.epidemic_period,
        "stable_months": cmd.stable_months,
        "age": cmd.age,
        "placed_on": cmd.placed_on.isoformat(),
    }
    uow.add_event(assistance_event("placement_recorded", row.household_id, row.region_code, data))
    await uow.commit()
    return placement, data


async def record_post_wage(
    uow: Work, principal: Principal, cmd: RecordPostWage, *, at: dt.datetime
) -> tuple[PostWage, dict[str, Any]]:
    """A public-welfare post's annual wage, once per person and year;
    `assistance.post_wage_recorded` (committed). Returns the wage and the event's data."""
    require_officer(principal)
    _check_person_ref(cmd.person_ref)
    row = _visible(principal, await uow.employment.record_of(cmd.person_ref))
    if await uow.employment.post_wage_recorded(row.person_ref, cmd.year):
        raise Conflict("the post wage of this person and year is already recorded", code="post_wage_exists")
    wage = PostWage(
        id=str(uuid.uuid4()),
        person_ref=row.person_ref,
        household_id=row.household_id,
        region_code=row.region_code,
        year=cmd.year,
        annual_wage=Decimal(cmd.annual_wage).quantize(Decimal("0.01")),
        post=cmd.post,
        by=Actor.of(principal).by,
        created_at=at,
    )
    await uow.employment.add_post_wage(wage)
    data = {
        "person_ref": row.person_ref,
        "household_id": row.household_id,
        "region_code": row.region_code,
        "annual_wage": str(wage.annual_wage),
        "year": cmd.year,
    }
    uow.add_event(assistance_event("post_wage_recorded", row.household_id, row.region_code, data))
    await uow.commit()
    return wage, data
