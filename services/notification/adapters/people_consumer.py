"""People (通知到人): the consumer that turns events into inbox items (and SMS) for citizens,
contact persons and officers, remembers which citizen submitted which application, and
schedules or cancels reminders."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.notification.adapters.orm import application_links, reminders
from services.notification.adapters.unit_of_work import write_notices
from services.notification.application.common import subject_hash
from services.notification.domain.routing import ReminderCancel, ReminderPolicy, ReminderSchedule, route_event
from shared.consumer import EventHandler
from shared.db import UnitOfWork, insert_ignoring_duplicates, utcnow
from shared.events import Event
from shared.pii import FieldCipher
from shared.policy import PolicyNotFound, PolicyVersion, load_policy_dir, resolve_policy

__all__ = ["POLICY_DIR", "ReminderPolicies", "people_handler"]

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"


class ReminderPolicies:
    """Reminder lead times in force for a region at a date (dated policy, shared/policy.py)."""

    def __init__(self, versions: list[PolicyVersion] | None = None) -> None:
        self.versions = versions if versions is not None else load_policy_dir(POLICY_DIR)
        self._resolved: dict[tuple[str, Any], ReminderPolicy] = {}

    def at(self, region: str, as_of: Any) -> ReminderPolicy:
        """Resolved once per (region, day): the versions are loaded at start and never change."""
        key = (region, as_of)
        found = self._resolved.get(key)
        if found is None:
            if len(self._resolved) > 10_000:
                self._resolved.clear()
            found = self._resolved[key] = self._resolve(region, as_of)
        return found

    def _resolve(self, region: str, as_of: Any) -> ReminderPolicy:
        try:
            p = resolve_policy(self.versions, service="notification", region_code=region, as_of=as_of)
        except PolicyNotFound:
            return ReminderPolicy()
        names = ReminderPolicy.__dataclass_fields__
        return ReminderPolicy(**{k: int(p[k]) for k in names if k in p})


async def upsert_reminder(uow: UnitOfWork, r: ReminderSchedule, event_id: str) -> None:
    """One reminder per (kind, thing). A newer event moves it; a reminder that already fired
    fires again only if the date it is about changed."""
    rc = reminders.c
    now = utcnow()
    row = (await uow.session.execute(sa.select(reminders).where(rc.kind == r.kind, rc.ref_id == r.ref_id))).first()
    values = {
        "region": r.region,
        "household_id": r.household_id,
        "due_date": r.due_date,
        "fire_at": r.fire_at,
        "recipient_hash": r.audience.person,
        "recipient_roles": list(r.audience.roles),
        "data": {k: v for k, v in r.data.items() if v is not None},
        "source_event_id": event_id,
        "updated_at": now,
        "cancelled_at": None,
        "cancel_reason": None,
    }
    if row is None:
        await uow.session.execute(
            insert_ignoring_duplicates(
                uow.session.get_bind().dialect.name,
                reminders,
                [dict(values, id=str(uuid.uuid4()), kind=r.kind, ref_id=r.ref_id, created_at=now, fired_at=None)],
            )
        )
        return
    if row.fired_at is not None and row.due_date == r.due_date:
        return
    if row.cancelled_at is not None and not r.revive:
        return
    await uow.session.execute(sa.update(reminders).where(rc.id == row.id).values(fired_at=None, **values))


async def cancel_reminders(uow: UnitOfWork, cancel: ReminderCancel, ev: Event) -> None:
    rc = reminders.c
    now = utcnow()
    await uow.session.execute(
        sa.update(reminders)
        .where(rc.kind.in_(cancel.kinds), rc.ref_id == cancel.ref_id, rc.fired_at.is_(None), rc.cancelled_at.is_(None))
        .values(cancelled_at=now, cancel_reason=cancel.reason[:200], updated_at=now)
    )
    if not cancel.final:
        return
    # Done for good: keep a cancelled placeholder for a reminder not scheduled yet, so that a
    # schedule arriving late (a retried event overtaken by this one) finds it cancelled.
    placeholders: list[dict[str, Any]] = [
        {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "ref_id": cancel.ref_id,
            "region": ev.region,
            "household_id": ev.data.get("household_id") or ev.subject,
            "due_date": ev.time.date(),
            "fire_at": ev.time,
            "recipient_hash": None,
            "recipient_roles": [],
            "data": {},
            "source_event_id": ev.id,
            "created_at": now,
            "updated_at": now,
            "fired_at": None,
            "cancelled_at": now,
            "cancel_reason": cancel.reason[:200],
        }
        for kind in cancel.kinds
    ]
    await uow.session.execute(insert_ignoring_duplicates(uow.session.get_bind().dialect.name, reminders, placeholders))


def people_handler(
    cipher: FieldCipher, policies: ReminderPolicies, *, sms: bool, wake_sms: Callable[[], None] | None
) -> EventHandler:
    async def handle(uow: UnitOfWork, ev: Event) -> None:
        etype = f"{ev.domain}.{ev.name}"
        session = uow.session
        applicant: str | None = None
        if etype == "application.submitted":
            applicant = ev.data.get("applicant_sub_hash") or None
            case_id = ev.data.get("case_id")
            if applicant and case_id:
                await session.execute(
                    insert_ignoring_duplicates(
                        session.get_bind().dialect.name,
                        application_links,
                        [
                            {
                                "case_id": str(case_id),
                                "application_id": str(ev.data.get("application_id") or ""),
                                "applicant_hash": applicant,
                                "created_at": utcnow(),
                            }
                        ],
                    )
                )
        elif ev.domain == "case" and ev.data.get("case_id"):
            applicant = (
                await session.execute(
                    sa.select(application_links.c.applicant_hash).where(
                        application_links.c.case_id == str(ev.data["case_id"])
                    )
                )
            ).scalar_one_or_none()
        contact = ev.data.get("contact_person_sub_hash") or None
        if contact is None and ev.data.get("contact_person_ref"):
            contact = subject_hash(cipher, "contact", str(ev.data["contact_person_ref"]))
        routing = route_event(
            ev.domain,
            ev.name,
            ev.subject,
            ev.region,
            ev.data,
            applicant=applicant,
            contact=contact,
            policy=policies.at(ev.region, ev.time.date()),
        )
        if routing.notices:
            await write_notices(uow, routing.notices, event_id=ev.id, sms=sms, wake_sms=wake_sms)
        for cancel in routing.cancels:
            await cancel_reminders(uow, cancel, ev)
        for schedule in routing.schedules:
            await upsert_reminder(uow, schedule, ev.id)

    return handle
