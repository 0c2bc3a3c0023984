"""Use case of the reminder scheduler (提醒), the loop of which lives in
`adapters/reminder_scheduler.py`: fire the due reminders once — each in the transaction that
marks it fired, writes its inbox items (and SMS rows) and adds its `notification.reminder_fired`
event to the outbox; replicas skip what another is firing, so a reminder fires once across
replicas and restarts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from services.notification.application.ports import DueReminderRow, ReminderWork
from services.notification.domain.routing import Audience, reminder_notice
from shared.db import utcnow
from shared.events import Event

__all__ = ["FireDueReminders", "FiredReminders", "fire_due_reminders", "reminder_fired_event"]


@dataclass(frozen=True, slots=True)
class FireDueReminders:
    limit: int
    #: also queue an SMS for a reminder addressed to a person
    sms: bool


@dataclass(frozen=True, slots=True)
class FiredReminders:
    ids: list[str]
    at: dt.datetime


def _utc(at: dt.datetime) -> dt.datetime:
    # SQLite hands the column back naive (UTC wall time): the payload says UTC either way
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def reminder_fired_event(r: DueReminderRow) -> Event:
    return Event(
        "notification",
        "reminder_fired",
        r.ref_id,
        r.region,
        {
            "reminder_id": r.id,
            "kind": r.kind,
            "ref_id": r.ref_id,
            "household_id": r.household_id,
            "due_date": r.due_date.isoformat(),
            "fire_at": _utc(r.fire_at).isoformat(),
            "recipient_roles": list(r.recipient_roles or ()),
            "to_person": r.recipient_hash is not None,
        },
        source="notification",
    )


async def fire_due_reminders(
    cmd: FireDueReminders, uow: ReminderWork, *, wake_sms: Callable[[], None] | None = None
) -> FiredReminders:
    """Fire up to `limit` due reminders, soonest first (committed)."""
    now = utcnow()
    rows = await uow.reminder_queue.due(now, cmd.limit)
    for r in rows:
        audience = Audience(person=r.recipient_hash, roles=tuple(r.recipient_roles or ()))
        notice = reminder_notice(r.kind, r.region, r.due_date, audience, dict(r.data or {}, reminder_id=r.id))
        await uow.notices.write([notice], event_id=None, sms=cmd.sms, wake_sms=wake_sms)
        uow.add_event(reminder_fired_event(r))
    ids = [r.id for r in rows]
    if ids:
        await uow.reminder_queue.mark_fired(ids, now)
    await uow.commit()
    return FiredReminders(ids, now)
