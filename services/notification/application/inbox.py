"""The in-app inbox (站内消息): items addressed to the caller (by the blind index of their token
subject) or to the caller's role in a region inside the caller's region; read marks per reader;
the caller's SMS number (encrypted at rest); and the reminders officers see in their region."""

from __future__ import annotations

from dataclasses import dataclass, fields

from services.notification.application.common import PHONE_CONTEXT, person_hash
from services.notification.application.ports import Work
from services.notification.application.results import (
    InboxItem,
    InboxPage,
    ItemMarked,
    Reminder,
    ReminderPage,
    SmsSettings,
)
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Forbidden, NotFound
from shared.pii import FieldCipher, mask_phone

__all__ = [
    "ListInbox",
    "ListReminders",
    "SetSms",
    "delete_sms",
    "get_sms",
    "list_items",
    "list_reminders",
    "mark_read",
    "set_sms",
    "unread_count",
]

REMINDER_READERS = frozenset({"province", "county", "township", "village", "admin"})


@dataclass(frozen=True, slots=True)
class ListInbox:
    unread_only: bool
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class SetSms:
    phone: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class ListReminders:
    pending: bool
    limit: int
    offset: int


def _me(cipher: FieldCipher, p: Principal) -> dict[str, str]:
    return {"me": person_hash(cipher, p), "role": p.role, "region": p.region}


async def list_items(q: ListInbox, uow: Work, cipher: FieldCipher, p: Principal) -> InboxPage:
    rows, total = await uow.inbox.page(**_me(cipher, p), unread_only=q.unread_only, limit=q.limit, offset=q.offset)
    items = [
        InboxItem(
            id=row.id,
            kind=row.kind,
            title=row.title,
            body=row.body,
            region=row.region,
            data=row.data or {},
            created_at=row.created_at,
            read=row.read_at is not None,
            read_at=row.read_at,
        )
        for row in rows
    ]
    return InboxPage(items, total, await unread_count(uow, cipher, p), q.limit, q.offset)


async def unread_count(uow: Work, cipher: FieldCipher, p: Principal) -> int:
    return await uow.inbox.unread(**_me(cipher, p))


async def mark_read(uow: Work, cipher: FieldCipher, p: Principal, item_id: str) -> ItemMarked:
    who = _me(cipher, p)
    if not await uow.inbox.addressed(item_id, **who):
        raise NotFound(f"inbox item {item_id} not found")
    await uow.inbox.mark_read(item_id, who["me"], utcnow())
    await uow.commit()
    return ItemMarked(item_id, True, await uow.inbox.read_at(item_id, who["me"]))


async def set_sms(cmd: SetSms, uow: Work, cipher: FieldCipher, p: Principal) -> SmsSettings:
    now = utcnow()
    values = {
        "phone_enc": cipher.encrypt_text(cmd.phone, context=PHONE_CONTEXT),
        "phone_hash": cipher.blind_index("phone:" + cmd.phone),
        "enabled": cmd.enabled,
        "updated_at": now,
    }
    await uow.inbox.set_sms_number(person_hash(cipher, p), values)
    await uow.commit()
    return SmsSettings(mask_phone(cmd.phone), cmd.enabled, now)


async def get_sms(uow: Work, cipher: FieldCipher, p: Principal) -> SmsSettings:
    row = await uow.inbox.sms_number(person_hash(cipher, p))
    if row is None:
        return SmsSettings(None, False, None)
    phone = cipher.decrypt_text(row.phone_enc, context=PHONE_CONTEXT)
    return SmsSettings(mask_phone(phone), row.enabled, row.updated_at)


async def delete_sms(uow: Work, cipher: FieldCipher, p: Principal) -> None:
    await uow.inbox.delete_sms_number(person_hash(cipher, p))
    await uow.commit()


_REMINDER_FIELDS = tuple(f.name for f in fields(Reminder))


async def list_reminders(q: ListReminders, uow: Work, p: Principal) -> ReminderPage:
    """Officers: the reminders in their region, soonest first."""
    if p.role not in REMINDER_READERS:
        raise Forbidden("reminders are listed for officers")
    rows, total = await uow.reminders.page(region=p.region, pending=q.pending, limit=q.limit, offset=q.offset)
    items = [
        Reminder(**dict({k: row[k] for k in _REMINDER_FIELDS}, recipient_roles=list(row.get("recipient_roles") or [])))
        for row in rows
    ]
    return ReminderPage(items, total, q.limit, q.offset)
