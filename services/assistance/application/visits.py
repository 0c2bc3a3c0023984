"""Contact roster and visits (走访): a roster per village (names and phones encrypted; a contact's
account only as the blind index notification addresses them by), visits recorded against the
household's plan under the id announced in `visit_scheduled`, then `visit_recorded` and the next
`visit_scheduled`; `assistance.income_updated` when a visit brings new income figures
(identification re-runs its rules)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from services.assistance.adapters.orm import contacts, plans, visits
from services.assistance.adapters.repository import Repository
from services.assistance.domain.contacts import ensure_same_village
from services.assistance.domain.errors import RuleViolation
from services.assistance.domain.schedule import MonitoringStatus, next_visit_due
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import UnitOfWork
from shared.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable

from .common import assistance_event, conflict_from, contact_sub_hash, ensure_sees, policy_for, require_officer
from .plans import Actor, announce_visit

__all__ = ["create_contact", "link_contact_account", "record_visit"]


async def create_contact(
    ctx: ServiceContext,
    uow: UnitOfWork,
    principal: Principal,
    *,
    region_code: str,
    name: str,
    phone: str | None,
    unit: str | None,
    at: dt.datetime,
    sub: str | None = None,
) -> str:
    require_officer(principal)
    ensure_sees(principal, region_code, "region")
    contact_id = str(uuid.uuid4())
    await uow.session.execute(
        contacts.insert().values(
            id=contact_id,
            region_code=region_code,
            name_enc=ctx.cipher.encrypt(name.strip(), context=b"contacts.name"),
            phone_enc=ctx.cipher.encrypt(phone.strip(), context=b"contacts.phone") if phone else None,
            unit=unit,
            sub_hash=contact_sub_hash(ctx.cipher, sub) if sub else None,
            active=True,
            created_by=Actor.of(principal).by,
            created_at=at,
        )
    )
    return contact_id


async def link_contact_account(
    ctx: ServiceContext, uow: UnitOfWork, principal: Principal, *, contact_id: str, sub: str | None, at: dt.datetime
) -> Any:
    """Tie a roster entry to the contact person's account (the `sub` of their token; only its
    blind index is kept), or untie it (`sub` null). The visits already announced for their
    households are announced again, so the reminders reach (or stop reaching) their inbox."""
    require_officer(principal)
    repo = Repository(uow.session)
    contact = await repo.contact(contact_id)
    if contact is None or not principal.sees(contact.region_code):
        raise NotFound("contact not found")
    await uow.session.execute(
        contacts.update()
        .where(contacts.c.id == contact_id)
        .values(sub_hash=contact_sub_hash(ctx.cipher, sub) if sub else None)
    )
    p = plans.c
    q = sa.select(plans).where(p.contact_id == contact_id, p.next_visit_due.is_not(None), p.next_visit_id.is_not(None))
    scheduled = (await uow.session.execute(q)).all()
    for row in scheduled:
        await announce_visit(
            uow,
            visit_id=row.next_visit_id,
            plan_id=row.id,
            household_id=row.household_id,
            region_code=row.region_code,
            due=row.next_visit_due,
            contact_id=contact_id,
        )
    return await repo.contact(contact_id)


def _monitoring_status(household: Any, plan: Any) -> MonitoringStatus:
    status = household.monitoring_status if household is not None else None
    if status == "stable":
        return MonitoringStatus.STABLE
    if status == "eliminated" or (plan.status == "closed" and status != "monitored"):
        return MonitoringStatus.ELIMINATED
    return MonitoringStatus.MONITORED


async def record_visit(
    uow: UnitOfWork,
    principal: Principal,
    *,
    household_id: str,
    visited_on: dt.date,
    contact_id: str | None,
    mode: str,
    findings: str,
    income: dict[str, Decimal] | None,
    attachments: list[str],
    today: dt.date,
    at: dt.datetime,
) -> dict[str, Any]:
    if principal.role not in ("province", "county", "township", "village", "admin", "contact"):
        raise Forbidden("officers and contact persons record visits", code="role_not_allowed")
    if visited_on > today:
        raise Unprocessable(
            "a visit cannot be dated in the future",
            errors=[FieldError("visited_on", f"must not be after {today.isoformat()}")],
        )
    repo = Repository(uow.session)
    plan = await repo.active_plan(household_id) or await repo.latest_plan(household_id)
    if plan is None or not principal.sees(plan.region_code):
        raise NotFound("household has no plan")
    if plan.next_visit_due is None and plan.status == "closed":
        raise Conflict("the household was cleared out (清退); no visits are scheduled", code="not_visited")
    who = contact_id or plan.contact_id
    if contact_id is not None:
        contact = await repo.contact(contact_id)
        if contact is None or not principal.sees(contact.region_code):
            raise NotFound("contact not found")
        try:
            ensure_same_village(contact.region_code, plan.region_code)
        except RuleViolation as err:
            raise conflict_from(err) from None
    # The visit fulfils the one announced in `visit_scheduled` and is recorded under its id; the
    # plan moves on to a freshly announced one. The swap is conditional, so two visits recorded
    # at once cannot both claim the announced id (the loser answers 409 and is retried).
    visit_id = plan.next_visit_id or str(uuid.uuid4())
    next_id = str(uuid.uuid4())
    swapped = await uow.session.execute(
        plans.update()
        .where(
            plans.c.id == plan.id,
            plans.c.next_visit_id.is_(None) if plan.next_visit_id is None else plans.c.next_visit_id == visit_id,
        )
        .values(next_visit_id=next_id)
    )
    if swapped.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("another visit was recorded for this household meanwhile; retry", code="stale_plan")
    income_text = {k: str(v) for k, v in (income or {}).items() if v is not None} or None
    actor = Actor.of(principal)
    await uow.session.execute(
        visits.insert().values(
            id=visit_id,
            plan_id=plan.id,
            household_id=household_id,
            region_code=plan.region_code,
            contact_id=who,
            visited_on=visited_on,
            mode=mode,
            findings=findings,
            income=income_text,
            attachments=list(attachments),
            recorded_by=actor.by,
            created_at=at,
        )
    )
    household = await repo.household(household_id)
    policy = policy_for(plan.region_code, visited_on)
    last = max(filter(None, [plan.last_visit_on, visited_on]))
    due = next_visit_due(last, _monitoring_status(household, plan), policy.visits)
    await uow.session.execute(
        plans.update().where(plans.c.id == plan.id).values(last_visit_on=last, next_visit_due=due, updated_at=at)
    )
    await repo.plan_history(plan.id, "visit", by=actor.by, role=actor.role, at=at, note=f"{mode} {visited_on}")
    uow.add_event(
        assistance_event(
            "visit_recorded",
            household_id,
            plan.region_code,
            {
                "visit_id": visit_id,
                "plan_id": plan.id,
                "household_id": household_id,
                "region_code": plan.region_code,
                "visited_on": visited_on.isoformat(),
                "mode": mode,
                "contact_id": who,
                "next_visit_due": due.isoformat(),
            },
        )
    )
    await announce_visit(
        uow,
        visit_id=next_id,
        plan_id=plan.id,
        household_id=household_id,
        region_code=plan.region_code,
        due=due,
        contact_id=plan.contact_id,
    )
    if income_text:
        uow.add_event(
            assistance_event(
                "income_updated",
                household_id,
                plan.region_code,
                {
                    "household_id": household_id,
                    "visit_id": visit_id,
                    "plan_id": plan.id,
                    "region_code": plan.region_code,
                    "visited_on": visited_on.isoformat(),
                    "income": income_text,
                    **income_text,
                },
            )
        )
    return {
        "id": visit_id,
        "plan_id": plan.id,
        "household_id": household_id,
        "region_code": plan.region_code,
        "contact_id": who,
        "visited_on": visited_on.isoformat(),
        "mode": mode,
        "findings": findings,
        "income": income_text,
        "attachments": list(attachments),
        "next_visit_due": due.isoformat(),
    }
