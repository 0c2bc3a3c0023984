"""Use case of the people routing (通知到人), the consumer of which lives in
`adapters/people_consumer.py`: an event becomes inbox items (and SMS) for citizens, contact
persons and officers (`domain.routing.route_event`); the case an application opened is remembered
with the citizen who submitted it; reminders are scheduled, moved or cancelled. Called from the
consumer: the commit is the inbox transaction's, so an event's effects and its inbox row are one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.notification.application.common import subject_hash
from services.notification.application.ports import PeopleWork
from services.notification.domain.delivery import reminder_moves
from services.notification.domain.routing import ReminderCancel, ReminderPolicy, ReminderSchedule, route_event
from shared.db import utcnow
from shared.events import Event
from shared.pii import FieldCipher

__all__ = ["Notified", "NotifyPeople", "cancel_reminders", "notify_people", "schedule_reminder"]


@dataclass(frozen=True, slots=True)
class NotifyPeople:
    event: Event
    #: the reminder lead times in force for the event's region on its day
    policy: ReminderPolicy
    #: also queue SMS for person-addressed notices that ask for one
    sms: bool


@dataclass(frozen=True, slots=True)
class Notified:
    item_ids: list[str]
    scheduled: int
    cancelled: int


async def notify_people(
    cmd: NotifyPeople, uow: PeopleWork, cipher: FieldCipher, *, wake_sms: Callable[[], None] | None = None
) -> Notified:
    ev = cmd.event
    applicant: str | None = None
    if ev.domain == "application" and ev.name == "submitted":
        applicant = ev.data.get("applicant_sub_hash") or None
        case_id = ev.data.get("case_id")
        if applicant and case_id:
            application_id = str(ev.data.get("application_id") or "")
            await uow.people.link_application(str(case_id), application_id, applicant, utcnow())
    elif ev.domain == "case" and ev.data.get("case_id"):
        applicant = await uow.people.applicant_of(str(ev.data["case_id"]))
    contact = ev.data.get("contact_person_sub_hash") or None
    if contact is None and ev.data.get("contact_person_ref"):
        contact = subject_hash(cipher, "contact", str(ev.data["contact_person_ref"]))
    routing = route_event(
        ev.domain, ev.name, ev.subject, ev.region, ev.data, applicant=applicant, contact=contact, policy=cmd.policy
    )
    ids: list[str] = []
    if routing.notices:
        ids = await uow.notices.write(routing.notices, event_id=ev.id, sms=cmd.sms, wake_sms=wake_sms)
    for cancel in routing.cancels:
        await cancel_reminders(uow, cancel, ev)
    for schedule in routing.schedules:
        await schedule_reminder(uow, schedule, ev.id)
    return Notified(ids, len(routing.schedules), len(routing.cancels))


async def schedule_reminder(uow: PeopleWork, r: ReminderSchedule, event_id: str) -> None:
    """One reminder per (kind, thing). A newer event moves it; a reminder that already fired
    fires again only if the date it is about changed (`domain.delivery.reminder_moves`)."""
    now = utcnow()
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
    row = await uow.people.reminder(r.kind, r.ref_id)
    if row is None:
        await uow.people.add_reminder(
            dict(values, id=str(uuid.uuid4()), kind=r.kind, ref_id=r.ref_id, created_at=now, fired_at=None)
        )
        return
    moves = reminder_moves(
        fired=row.fired_at is not None,
        cancelled=row.cancelled_at is not None,
        same_date=row.due_date == r.due_date,
        revive=r.revive,
    )
    if moves:
        await uow.people.move_reminder(row.id, dict(values, fired_at=None))


async def cancel_reminders(uow: PeopleWork, cancel: ReminderCancel, ev: Event) -> None:
    """Cancel the reminders not fired yet; when the thing is done for good, keep a cancelled
    placeholder for a reminder not scheduled yet, so that a schedule arriving late (a retried
    event overtaken by this one) finds it cancelled."""
    now = utcnow()
    reason = cancel.reason[:200]
    await uow.people.cancel_reminders(cancel.kinds, cancel.ref_id, reason, now)
    if not cancel.final:
        return
    await uow.people.add_cancelled(
        [
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
                "cancel_reason": reason,
            }
            for kind in cancel.kinds
        ]
    )
