"""The SQL of the SMS sender (`application.ports.SmsQueue`): the next due message (PostgreSQL:
`FOR UPDATE SKIP LOCKED`), its recipient's number, the per-phone count of the last hour (one
replica at a time per phone: an advisory lock), and the messages' outcomes."""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.orm import sms_messages, sms_recipients
from services.notification.application.ports import SmsMessageRow, SmsRecipientRow
from services.notification.domain.delivery import SmsDecision

__all__ = ["SqlSmsQueue"]


class SqlSmsQueue:
    """`application.ports.SmsQueue`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _pg(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def next_due(self, now: dt.datetime) -> SmsMessageRow | None:
        m = sms_messages.c
        q = (
            sa.select(sms_messages)
            .where(
                m.status == "pending",
                m.next_attempt_at <= now,
                sa.or_(m.lease_until.is_(None), m.lease_until < now),
            )
            .order_by(m.id)
            .limit(1)
        )
        if self._pg():
            q = q.with_for_update(skip_locked=True)
        return (await self.session.execute(q)).first()

    async def recipient(self, recipient_hash: str) -> SmsRecipientRow | None:
        q = sa.select(sms_recipients).where(sms_recipients.c.recipient_hash == recipient_hash)
        return (await self.session.execute(q)).first()

    async def lock_phone(self, phone_hash: str) -> None:
        if self._pg():  # SQLite: writers are serial already
            await self.session.execute(
                sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(phone_hash.encode())}
            )

    async def recent(self, phone_hash: str, *, since: dt.datetime, now: dt.datetime) -> int:
        m = sms_messages.c
        q = (
            sa.select(sa.func.count())
            .select_from(sms_messages)
            .where(
                m.phone_hash == phone_hash,
                sa.or_(
                    sa.and_(m.status == "sent", m.sent_at > since),
                    sa.and_(m.status == "pending", m.lease_until > now),
                ),
            )
        )
        return int((await self.session.execute(q)).scalar_one())

    async def _update(self, message_id: int, **values: Any) -> None:
        await self.session.execute(sa.update(sms_messages).where(sms_messages.c.id == message_id).values(**values))

    async def settle(self, message_id: int, status: str, *, phone_hash: str | None, error: str | None) -> None:
        values: dict[str, Any] = {"status": status}
        if phone_hash is not None:
            values["phone_hash"] = phone_hash
        if error is not None:
            values["error"] = error
        await self._update(message_id, **values)

    async def lease(self, message_id: int, *, until: dt.datetime, phone_hash: str) -> None:
        await self._update(message_id, lease_until=until, phone_hash=phone_hash)

    async def record_send(self, message_id: int, decision: SmsDecision) -> None:
        values: dict[str, Any] = {"attempts": decision.attempts, "lease_until": None}
        if decision.status == "sent":
            values.update(status="sent", sent_at=decision.sent_at)
        elif decision.status == "pending":
            values.update(error=decision.error, next_attempt_at=decision.next_attempt_at)
        else:
            values.update(status=decision.status, error=decision.error)
        await self._update(message_id, **values)
