"""Contact roster and visits (走访): a roster per village (names and phones encrypted; a contact's
account only as the blind index notification addresses them by), visits recorded against the
household's plan under the id announced in `visit_scheduled`, then `visit_recorded` and the next
`visit_scheduled`; `assistance.income_updated` when a visit brings new income figures
(identification re-runs its rules)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from services.assistance.domain.contacts import ensure_same_village
from services.assistance.domain.errors import RuleViolation
from services.assistance.domain.schedule import MonitoringStatus, next_visit_due
from shared.auth import Principal
from shared.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from shared.pii import FieldCipher

from .common import Actor, assistance_event, conflict_from, contact_sub_hash, ensure_sees, policy_for, require_officer
from .plan_events import announce_visit
from .ports import Work
from .records import Contact, Household, Plan, Visit

__all__ = [
    "CreateContact",
    "LinkContactAccount",
    "RecordVisit",
    "RecordedVisit",
    "create_contact",
    "link_contact_account",
    "record_visit",
]


@dataclass(frozen=True, slots=True)
class CreateContact:
    region_code: str
    name: str
    phone: str | None = None
    unit: str | None = None
    sub: str | None = None  # the contact person's token subject, if they have an account


@dataclass(frozen=True, slots=True)
class LinkContactAccount:
    contact_id: str
    sub: str | None  # None unlinks


@dataclass(frozen=True, slots=True)
class RecordVisit:
    household_id: str
    visited_on: dt.date
    contact_id: str | None = None
    mode: str = "visit"  # visit | phone
    findings: str = ""
    income: dict[str, Decimal] | None = None
    attachments: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RecordedVisit:
    visit: Visit
    next_visit_due: dt.date


async def _contact(uow: Work, contact_id: str) -> Contact:
    contact = await uow.contacts.get(contact_id)
    if contact is None:
        raise NotFound("contact not found")
    return contact


async def create_contact(
    uow: Work, cipher: FieldCipher, principal: Principal, cmd: CreateContact, *, at: dt.datetime
) -> Contact:
    """A contact person on the village's roster (committed)."""
    require_officer(principal)
    ensure_sees(principal, cmd.region_code, "region")
    contact_id = str(uuid.uuid4())
    await uow.contacts.add(
        Contact(
            id=contact_id,
            region_code=cmd.region_code,
            name_enc=cipher.encrypt(cmd.name.strip(), context=b"contacts.name"),
            phone_enc=cipher.encrypt(cmd.phone.strip(), context=b"contacts.phone") if cmd.phone else None,
            unit=cmd.unit,
            sub_hash=contact_sub_hash(cipher, cmd.sub) if cmd.sub else None,
            active=True,
            created_by=Actor.of(principal).by,
            created_at=at,
        )
    )
    await uow.commit()
    return await _contact(uow, contact_id)


async def link_contact_account(
    uow: Work, cipher: FieldCipher, principal: Principal, cmd: LinkContactAccount, *, at: dt.datetime
) -> Contact:
    """Tie a roster entry to the contact person's account (the `sub` of their token; only its
    blind index is kept), or untie it (`sub` null); committed. The visits already announced for
    their households are announced again, so the reminders reach (or stop reaching) their inbox."""
    require_officer(principal)
    contact = await uow.contacts.get(cmd.contact_id)
    if contact is None or not principal.sees(contact.region_code):
        raise NotFound("contact not found")
    await uow.contacts.set_sub_hash(cmd.contact_id, contact_sub_hash(cipher, cmd.sub) if cmd.sub else None)
    for plan in await uow.plans.with_visit_announced(cmd.contact_id):
        if plan.next_visit_id is None or plan.next_visit_due is None:
            continue
        await announce_visit(
            uow,
            visit_id=plan.next_visit_id,
            plan_id=plan.id,
            household_id=plan.household_id,
            region_code=plan.region_code,
            due=plan.next_visit_due,
            contact_id=cmd.contact_id,
        )
    await uow.commit()
    return await _contact(uow, cmd.contact_id)


def _monitoring_status(household: Household | None, plan: Plan) -> MonitoringStatus:
    status = household.monitoring_status if household is not None else None
    if status == "stable":
        return MonitoringStatus.STABLE
    if status == "eliminated" or (plan.status == "closed" and status != "monitored"):
        return MonitoringStatus.ELIMINATED
    return MonitoringStatus.MONITORED


async def record_visit(
    uow: Work, principal: Principal, cmd: RecordVisit, *, today: dt.date, at: dt.datetime
) -> RecordedVisit:
    """A visit (or phone call) on the household's plan (committed)."""
    if principal.role not in ("province", "county", "township", "village", "admin", "contact"):
        raise Forbidden("officers and contact persons record visits", code="role_not_allowed")
    if cmd.visited_on > today:
        raise Unprocessable(
            "a visit cannot be dated in the future",
            errors=[FieldError("visited_on", f"must not be after {today.isoformat()}")],
        )
    household_id = cmd.household_id
    plan = await uow.plans.active(household_id) or await uow.plans.latest(household_id)
    if plan is None or not principal.sees(plan.region_code):
        raise NotFound("household has no plan")
    if plan.next_visit_due is None and plan.status == "closed":
        raise Conflict("the household was cleared out (清退); no visits are scheduled", code="not_visited")
    who = cmd.contact_id or plan.contact_id
    if cmd.contact_id is not None:
        contact = await uow.contacts.get(cmd.contact_id)
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
    if not await uow.plans.claim_next_visit(plan.id, plan.next_visit_id, next_id):
        raise Conflict("another visit was recorded for this household meanwhile; retry", code="stale_plan")
    income_text = {k: str(v) for k, v in (cmd.income or {}).items() if v is not None} or None
    actor = Actor.of(principal)
    visit = Visit(
        id=visit_id,
        plan_id=plan.id,
        household_id=household_id,
        region_code=plan.region_code,
        contact_id=who,
        visited_on=cmd.visited_on,
        mode=cmd.mode,
        findings=cmd.findings,
        income=income_text,
        attachments=list(cmd.attachments),
        recorded_by=actor.by,
        created_at=at,
    )
    await uow.visits.add(visit)
    household = await uow.households.get(household_id)
    policy = policy_for(plan.region_code, cmd.visited_on)
    last = max(filter(None, [plan.last_visit_on, cmd.visited_on]))
    due = next_visit_due(last, _monitoring_status(household, plan), policy.visits)
    await uow.plans.set_visits(plan.id, last, due, at)
    await uow.plans.add_history(
        plan.id, "visit", by=actor.by, role=actor.role, at=at, note=f"{cmd.mode} {cmd.visited_on}"
    )
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
                "visited_on": cmd.visited_on.isoformat(),
                "mode": cmd.mode,
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
                    "visited_on": cmd.visited_on.isoformat(),
                    "income": income_text,
                    **income_text,
                },
            )
        )
    await uow.commit()
    return RecordedVisit(visit, due)
