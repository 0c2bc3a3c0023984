"""Employment services (就业帮扶): per-laborer survey records (000 employment 附件3), the guidance,
training and job recommendations given, placements and public-welfare post wages — the last two
published for the subsidy service. Persons are opaque `person_ref`s, never ID numbers."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from services.assistance.adapters.orm import employment_records, employment_services, placements, post_wages
from services.assistance.adapters.repository import Repository
from shared.auth import Principal
from shared.db import UnitOfWork
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.events import PersonalDataInEvent, assert_no_personal_data

from .common import assistance_event, ensure_sees, require_officer
from .plans import Actor

__all__ = ["add_service", "record_placement", "record_post_wage", "upsert_record"]


def _check_person_ref(ref: str) -> None:
    try:
        assert_no_personal_data(ref, "person_ref")
    except PersonalDataInEvent:
        raise Unprocessable(
            "person_ref must be an opaque reference, not an ID or phone number",
            errors=[FieldError("person_ref", "must not be a resident ID number or a phone number")],
        ) from None


async def upsert_record(
    uow: UnitOfWork, principal: Principal, *, survey: dict[str, Any], at: dt.datetime
) -> tuple[str, bool]:
    require_officer(principal)
    person_ref, household_id = survey.pop("person_ref"), survey.pop("household_id")
    _check_person_ref(person_ref)
    household = await Repository(uow.session).household(household_id)
    if household is None:
        raise NotFound("household not found (no assistance file)")
    ensure_sees(principal, household.region_code, "household")
    jsonable = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in survey.items()}
    s = uow.session
    row = (await s.execute(sa.select(employment_records).where(employment_records.c.person_ref == person_ref))).first()
    if row is not None:
        if row.household_id != household_id:
            raise Conflict("this person_ref belongs to another household", code="person_other_household")
        await s.execute(
            employment_records.update().where(employment_records.c.id == row.id).values(survey=jsonable, updated_at=at)
        )
        return str(row.id), False
    rid = str(uuid.uuid4())
    await s.execute(
        employment_records.insert().values(
            id=rid,
            person_ref=person_ref,
            household_id=household_id,
            region_code=household.region_code,
            survey=jsonable,
            created_by=Actor.of(principal).by,
            created_at=at,
            updated_at=at,
        )
    )
    return rid, True


async def record_for(
    uow: UnitOfWork, principal: Principal, *, record_id: str | None = None, person_ref: str | None = None
) -> Any:
    q = sa.select(employment_records)
    q = (
        q.where(employment_records.c.id == record_id)
        if record_id
        else q.where(employment_records.c.person_ref == person_ref)
    )
    row = (await uow.session.execute(q)).first()
    if row is None or not principal.sees(row.region_code):
        raise NotFound("employment record not found")
    return row


async def add_service(
    uow: UnitOfWork,
    principal: Principal,
    *,
    record_id: str,
    kind: str,
    provided_on: dt.date,
    detail: str | None,
    today: dt.date,
    at: dt.datetime,
) -> None:
    require_officer(principal)
    row = await record_for(uow, principal, record_id=record_id)
    if provided_on > today:
        raise Unprocessable(
            "a service cannot be dated in the future",
            errors=[FieldError("provided_on", f"must not be after {today.isoformat()}")],
        )
    await uow.session.execute(
        employment_services.insert().values(
            record_id=row.id,
            kind=kind,
            provided_on=provided_on,
            detail=detail,
            by=Actor.of(principal).by,
            created_at=at,
        )
    )


async def record_placement(
    uow: UnitOfWork, principal: Principal, *, body: dict[str, Any], at: dt.datetime
) -> dict[str, Any]:
    require_officer(principal)
    _check_person_ref(body["person_ref"])
    row = await record_for(uow, principal, person_ref=body["person_ref"])
    pid = str(uuid.uuid4())
    await uow.session.execute(
        placements.insert().values(
            id=pid,
            household_id=row.household_id,
            region_code=row.region_code,
            by=Actor.of(principal).by,
            created_at=at,
            **body,
        )
    )
    data = {
        "person_ref": row.person_ref,
        "household_id": row.household_id,
        "region_code": row.region_code,
        "work_location": str(body["work_location"]),
        "contract_months": body["contract_months"],
        "social_insurance": body["social_insurance"],
        "epidemic_period": body["epidemic_period"],
        "stable_months": body["stable_months"],
        "age": body["age"],
        "placed_on": body["placed_on"].isoformat(),
    }
    uow.add_event(assistance_event("placement_recorded", row.household_id, row.region_code, data))
    return {"id": pid, **data, "employer": body["employer"]}


async def record_post_wage(
    uow: UnitOfWork, principal: Principal, *, body: dict[str, Any], at: dt.datetime
) -> dict[str, Any]:
    require_officer(principal)
    _check_person_ref(body["person_ref"])
    row = await record_for(uow, principal, person_ref=body["person_ref"])
    existing = (
        await uow.session.execute(
            sa.select(post_wages.c.id).where(
                post_wages.c.person_ref == row.person_ref, post_wages.c.year == body["year"]
            )
        )
    ).first()
    if existing is not None:
        raise Conflict("the post wage of this person and year is already recorded", code="post_wage_exists")
    wid = str(uuid.uuid4())
    wage = Decimal(body["annual_wage"]).quantize(Decimal("0.01"))
    await uow.session.execute(
        post_wages.insert().values(
            id=wid,
            person_ref=row.person_ref,
            household_id=row.household_id,
            region_code=row.region_code,
            year=body["year"],
            annual_wage=wage,
            post=body.get("post"),
            by=Actor.of(principal).by,
            created_at=at,
        )
    )
    data = {
        "person_ref": row.person_ref,
        "household_id": row.household_id,
        "region_code": row.region_code,
        "annual_wage": str(wage),
        "year": body["year"],
    }
    uow.add_event(assistance_event("post_wage_recorded", row.household_id, row.region_code, data))
    return {"id": wid, **data}
