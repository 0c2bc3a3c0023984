"""Reads and writes of the in-app inbox: items addressed to a person (blind index) or to a role in
a region inside the reader's, per-reader read marks, and the SMS number of a person."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.orm import inbox_items, inbox_reads, sms_recipients
from services.notification.application.ports import InboxRow, SmsRecipientRow
from shared.db import insert_ignoring_duplicates

__all__ = ["SqlInbox"]


def _addressed_to(me: str, role: str, region: str) -> Any:
    i = inbox_items.c
    by_role = sa.and_(
        i.recipient_role == role,
        sa.func.length(i.region) >= len(region),
        sa.func.substr(i.region, 1, len(region)) == region,
    )
    return sa.or_(i.recipient_hash == me, by_role)


def _read_join(me: str) -> Any:
    r = inbox_reads.c
    return sa.and_(r.item_id == inbox_items.c.id, r.reader_hash == me)


class SqlInbox:
    """`application.ports.InboxRepository`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, *, me: str, role: str, region: str, unread_only: bool, limit: int, offset: int
    ) -> tuple[list[InboxRow], int]:
        i, r = inbox_items.c, inbox_reads.c
        base = (
            sa.select(inbox_items, r.read_at)
            .outerjoin(inbox_reads, _read_join(me))
            .where(_addressed_to(me, role, region))
        )
        if unread_only:
            base = base.where(r.read_at.is_(None))
        total = (await self.session.execute(sa.select(sa.func.count()).select_from(base.subquery()))).scalar_one()
        rows = (await self.session.execute(base.order_by(i.created_at.desc(), i.id).limit(limit).offset(offset))).all()
        return list(rows), int(total)

    async def unread(self, *, me: str, role: str, region: str) -> int:
        q = (
            sa.select(sa.func.count())
            .select_from(inbox_items)
            .outerjoin(inbox_reads, _read_join(me))
            .where(_addressed_to(me, role, region), inbox_reads.c.read_at.is_(None))
        )
        return int((await self.session.execute(q)).scalar_one())

    async def addressed(self, item_id: str, *, me: str, role: str, region: str) -> bool:
        q = sa.select(inbox_items.c.id).where(inbox_items.c.id == item_id, _addressed_to(me, role, region))
        return (await self.session.execute(q)).first() is not None

    async def mark_read(self, item_id: str, me: str, at: dt.datetime) -> None:
        """A second mark keeps the first one's time."""
        dialect = self.session.get_bind().dialect.name
        rows = [{"item_id": item_id, "reader_hash": me, "read_at": at}]
        await self.session.execute(insert_ignoring_duplicates(dialect, inbox_reads, rows))

    async def read_at(self, item_id: str, me: str) -> dt.datetime:
        r = inbox_reads.c
        q = sa.select(r.read_at).where(r.item_id == item_id, r.reader_hash == me)
        return (await self.session.execute(q)).scalar_one()

    async def sms_number(self, me: str) -> SmsRecipientRow | None:
        q = sa.select(sms_recipients).where(sms_recipients.c.recipient_hash == me)
        return (await self.session.execute(q)).first()

    async def set_sms_number(self, me: str, values: dict[str, Any]) -> None:
        s = sms_recipients.c
        res = await self.session.execute(sa.update(sms_recipients).where(s.recipient_hash == me).values(**values))
        if not res.rowcount:  # type: ignore[attr-defined]
            await self.session.execute(sa.insert(sms_recipients).values(recipient_hash=me, **values))

    async def delete_sms_number(self, me: str) -> None:
        await self.session.execute(sa.delete(sms_recipients).where(sms_recipients.c.recipient_hash == me))
