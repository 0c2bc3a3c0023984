"""The SMS sender (短信): sends the queued SMS rows through the provider, at most N per phone
number per hour (configurable; over the limit the message is marked `rate_limited` — the inbox
item stays). The number is decrypted only here, just before sending, and never logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.notification.adapters.sms import SmsProvider, SmsSendError
from services.notification.adapters.unit_of_work import uow_factory
from services.notification.application.common import PHONE_CONTEXT
from services.notification.application.sms import ClaimSms, RecordSms, claim_sms, record_sms
from services.notification.domain.retry import parse_schedule
from services.notification.settings import NotificationSettings
from shared.app import ServiceContext

__all__ = ["SmsSender"]

log = logging.getLogger("fangfan.notification.sms")


class SmsSender:
    """The loop: claim (`application.sms.claim_sms`), decrypt and send, record
    (`application.sms.record_sms`) — one message at a time."""

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

    async def send_one(self) -> bool:
        """Claim and send one due message; False when none is due."""
        cmd = ClaimSms(self.settings.sms_rate_limit_per_hour, lease_s=self.settings.sms_timeout_s + 30)
        work = uow_factory(self.ctx)()
        async with work:
            claimed = await claim_sms(cmd, work)
        if claimed is None:
            return False
        msg = claimed.send
        if msg is None:
            return True
        error: str | None = None
        try:
            phone = self.ctx.cipher.decrypt_text(msg.phone_enc, context=PHONE_CONTEXT)
            await self.provider.send(phone, msg.text, kind=msg.kind)
            del phone
        except SmsSendError as exc:
            error = str(exc)
            log.info("sms %s not sent: %s", msg.id, exc)
        work = uow_factory(self.ctx)()
        async with work:
            decision = await record_sms(RecordSms(msg.id, msg.attempts, error, self.retry), work)
        if decision.status == "sent":
            self.sent += 1
        return True
