"""The in-app inbox (站内消息): items addressed to the caller (by the blind index of their token
subject) or to the caller's role in a region inside the caller's region; read marks per reader;
the caller's SMS number (encrypted at rest)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.orm import inbox_items, inbox_reads, sms_recipients
from services.notification.application.common import person_hash
from services.notification.application.sms import PHONE_CONTEXT
from shared.auth import Principal
from shared.db import UnitOfWork, insert_ignoring_duplicates, utcnow
from shared.errors import NotFound
from shared.pii import FieldCipher, mask_phone

__all__ = ["get_sms", "list_items", "mark_read", "set_sms", "unread_count"]


def _addressed_to(cipher: FieldCipher, p: Principal) -> tuple[Any, str]:
    i = inbox_items.c
    me = person_hash(cipher, p)
    by_role = sa.and_(
        i.recipient_role == p.role,
        sa.func.length(i.region) >= len(p.region),
        sa.func.substr(i.region, 1, len(p.region)) == p.region,
    )
    return sa.or_(i.recipient_hash == me, by_role), me


def _read_join(me: str) -> Any:
    r = inbox_reads.c
    return sa.and_(r.item_id == inbox_items.c.id, r.reader_hash == me)


async def list_items(
    session: AsyncSession, cipher: FieldCipher, p: Principal, *, unread_only: bool, limit: int, offset: int
) -> dict[str, Any]:
    where, me = _addressed_to(cipher, p)
    i, r = inbox_items.c, inbox_reads.c
    base = sa.select(inbox_items, r.read_at).outerjoin(inbox_reads, _read_join(me)).where(where)
    if unread_only:
        base = base.where(r.read_at.is_(None))
    total = (await session.execute(sa.select(sa.func.count()).select_from(base.subquery()))).scalar_one()
    rows = (await session.execute(base.order_by(i.created_at.desc(), i.id).limit(limit).offset(offset))).all()
    return {
        "items": [
            {
                "id": row.id,
                "kind": row.kind,
                "title": row.title,
                "body": row.body,
                "region": row.region,
                "data": row.data or {},
                "created_at": row.created_at,
                "read": row.read_at is not None,
                "read_at": row.read_at,
            }
            for row in rows
        ],
        "total": int(total),
        "unread": await unread_count(session, cipher, p),
        "limit": limit,
        "offset": offset,
    }


async def unread_count(session: AsyncSession, cipher: FieldCipher, p: Principal) -> int:
    where, me = _addressed_to(cipher, p)
    q = (
        sa.select(sa.func.count())
        .select_from(inbox_items)
        .outerjoin(inbox_reads, _read_join(me))
        .where(where, inbox_reads.c.read_at.is_(None))
    )
    return int((await session.execute(q)).scalar_one())


async def mark_read(uow: UnitOfWork, cipher: FieldCipher, p: Principal, item_id: str) -> dict[str, Any]:
    where, me = _addressed_to(cipher, p)
    found = (await uow.session.execute(sa.select(inbox_items.c.id).where(inbox_items.c.id == item_id, where))).first()
    if found is None:
        raise NotFound(f"inbox item {item_id} not found")
    await uow.session.execute(
        insert_ignoring_duplicates(
            uow.session.get_bind().dialect.name,
            inbox_reads,
            [{"item_id": item_id, "reader_hash": me, "read_at": utcnow()}],
        )
    )
    await uow.commit()
    read_at = (
        await uow.session.execute(
            sa.select(inbox_reads.c.read_at).where(inbox_reads.c.item_id == item_id, inbox_reads.c.reader_hash == me)
        )
    ).scalar_one()
    return {"id": item_id, "read": True, "read_at": read_at}


async def set_sms(uow: UnitOfWork, cipher: FieldCipher, p: Principal, *, phone: str, enabled: bool) -> dict[str, Any]:
    me = person_hash(cipher, p)
    now = utcnow()
    values = {
        "phone_enc": cipher.encrypt_text(phone, context=PHONE_CONTEXT),
        "phone_hash": cipher.blind_index("phone:" + phone),
        "enabled": enabled,
        "updated_at": now,
    }
    s = sms_recipients.c
    res = await uow.session.execute(sa.update(sms_recipients).where(s.recipient_hash == me).values(**values))
    if not res.rowcount:
        await uow.session.execute(sa.insert(sms_recipients).values(recipient_hash=me, **values))
    await uow.commit()
    return {"phone": mask_phone(phone), "enabled": enabled, "updated_at": now}


async def get_sms(session: AsyncSession, cipher: FieldCipher, p: Principal) -> dict[str, Any]:
    me = person_hash(cipher, p)
    row = (await session.execute(sa.select(sms_recipients).where(sms_recipients.c.recipient_hash == me))).first()
    if row is None:
        return {"phone": None, "enabled": False, "updated_at": None}
    phone = cipher.decrypt_text(row.phone_enc, context=PHONE_CONTEXT)
    return {"phone": mask_phone(phone), "enabled": row.enabled, "updated_at": row.updated_at}


async def delete_sms(uow: UnitOfWork, cipher: FieldCipher, p: Principal) -> None:
    me = person_hash(cipher, p)
    await uow.session.execute(sa.delete(sms_recipients).where(sms_recipients.c.recipient_hash == me))
    await uow.commit()
