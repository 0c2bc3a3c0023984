"""The SMS sender (短信): sends the queued SMS rows through the provider, at most N per phone
number per hour (configurable; over the limit the message is marked `rate_limited` — the inbox
item stays). The number is decrypted only here, just before sending, and never logged."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import zlib
from typing import Any

import sqlalchemy as sa

from services.notification.adapters.orm import sms_messages, sms_recipients
from services.notification.adapters.sms import SmsProvider, SmsSendError
from services.notification.adapters.unit_of_work import uow_factory
from services.notification.application.common import PHONE_CONTEXT
from services.notification.domain.retry import parse_schedule
from services.notification.settings import NotificationSettings
from shared.app import ServiceContext
from shared.db import utcnow

__all__ = ["SmsSender"]

log = logging.getLogger("fangfan.notification.sms")


class SmsSender:
    def __init__(self, ctx: ServiceContext, settings: NotificationSettings, provider: SmsProvider) -> None:
        self.ctx = ctx
        self.settings = settings
        self.provider = provider
        self.retry = parse_schedule(settings.sms_retry_schedule)
        self.sent = 0
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Finish the current step, then return from `run()` (never cancelled mid-transaction)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                while not self._stopping and await self.send_one():
                    pass
            except Exception as exc:
                log.warning("sms: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.sms_poll_s)
            self._wake.clear()

    async def _claim(self) -> tuple[Any, str | None] | None:
        """Claim one due message; decide no_phone / rate_limited in the same transaction."""
        m = sms_messages.c
        now = utcnow()
        async with uow_factory(self.ctx)() as uow:
            session = uow.session
            pg = session.get_bind().dialect.name == "postgresql"
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
            if pg:
                q = q.with_for_update(skip_locked=True)
            msg = (await session.execute(q)).first()
            if msg is None:
                return None
            rcpt = (
                await session.execute(
                    sa.select(sms_recipients).where(sms_recipients.c.recipient_hash == msg.recipient_hash)
                )
            ).first()
            if rcpt is None or not rcpt.enabled:
                await session.execute(sa.update(sms_messages).where(m.id == msg.id).values(status="no_phone"))
                await uow.commit()
                return msg, None
            if pg:  # replicas count one phone's messages one at a time
                await session.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(rcpt.phone_hash.encode())}
                )
            hour_ago = now - dt.timedelta(hours=1)
            recent = (
                await session.execute(
                    sa.select(sa.func.count())
                    .select_from(sms_messages)
                    .where(
                        m.phone_hash == rcpt.phone_hash,
                        sa.or_(
                            sa.and_(m.status == "sent", m.sent_at > hour_ago),
                            sa.and_(m.status == "pending", m.lease_until > now),
                        ),
                    )
                )
            ).scalar_one()
            if recent >= self.settings.sms_rate_limit_per_hour:
                await session.execute(
                    sa.update(sms_messages)
                    .where(m.id == msg.id)
                    .values(status="rate_limited", phone_hash=rcpt.phone_hash, error="over the per-phone hourly limit")
                )
                await uow.commit()
                return msg, None
            await session.execute(
                sa.update(sms_messages)
                .where(m.id == msg.id)
                .values(
                    lease_until=now + dt.timedelta(seconds=self.settings.sms_timeout_s + 30),
                    phone_hash=rcpt.phone_hash,
                )
            )
            await uow.commit()
            return msg, rcpt.phone_enc

    async def send_one(self) -> bool:
        claimed = await self._claim()
        if claimed is None:
            return False
        msg, phone_enc = claimed
        if phone_enc is None:
            return True
        m = sms_messages.c
        attempts = msg.attempts + 1
        try:
            phone = self.ctx.cipher.decrypt_text(phone_enc, context=PHONE_CONTEXT)
            await self.provider.send(phone, msg.text, kind=msg.kind)
            del phone
            values: dict[str, Any] = {"status": "sent", "sent_at": utcnow(), "attempts": attempts, "lease_until": None}
            self.sent += 1
        except SmsSendError as exc:
            if attempts <= len(self.retry):
                values = {
                    "attempts": attempts,
                    "error": str(exc)[:500],
                    "lease_until": None,
                    "next_attempt_at": utcnow() + dt.timedelta(seconds=self.retry[attempts - 1]),
                }
            else:
                values = {"status": "failed", "attempts": attempts, "error": str(exc)[:500], "lease_until": None}
            log.info("sms %s not sent: %s", msg.id, exc)
        async with uow_factory(self.ctx)() as uow:
            await uow.session.execute(sa.update(sms_messages).where(m.id == msg.id).values(**values))
            await uow.commit()
        return True
