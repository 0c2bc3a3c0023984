"""Use cases of the SMS sender (短信), the loop of which lives in `adapters/sms_sender.py`: claim
the next due message and decide in the same transaction whether it goes out (no number
registered or switched off: `no_phone`; over the per-phone hourly limit: `rate_limited` — the
inbox item stays either way), then record the send (sent, retried on the schedule, failed). The
number stays encrypted here; the adapter decrypts it just before sending."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from services.notification.application.ports import SmsWork
from services.notification.domain.delivery import SmsDecision, over_sms_limit, sms_after_send
from shared.db import utcnow

__all__ = ["ClaimSms", "RecordSms", "SmsClaimed", "SmsToSend", "claim_sms", "record_sms"]


@dataclass(frozen=True, slots=True)
class ClaimSms:
    rate_limit_per_hour: int
    #: how long the claimed message is held for this sender
    lease_s: float


@dataclass(frozen=True, slots=True)
class SmsToSend:
    id: int
    kind: str
    text: str
    attempts: int
    phone_enc: str


@dataclass(frozen=True, slots=True)
class SmsClaimed:
    message_id: int
    #: `no_phone` | `rate_limited` when it is settled without sending; None: `send` goes out
    settled: str | None
    send: SmsToSend | None


async def claim_sms(cmd: ClaimSms, uow: SmsWork) -> SmsClaimed | None:
    """The next due message (None: nothing due), claimed (committed)."""
    now = utcnow()
    msg = await uow.sms.next_due(now)
    if msg is None:
        return None
    rcpt = await uow.sms.recipient(msg.recipient_hash)
    if rcpt is None or not rcpt.enabled:
        await uow.sms.settle(msg.id, "no_phone", phone_hash=None, error=None)
        await uow.commit()
        return SmsClaimed(msg.id, "no_phone", None)
    await uow.sms.lock_phone(rcpt.phone_hash)
    recent = await uow.sms.recent(rcpt.phone_hash, since=now - dt.timedelta(hours=1), now=now)
    if over_sms_limit(recent, cmd.rate_limit_per_hour):
        await uow.sms.settle(
            msg.id, "rate_limited", phone_hash=rcpt.phone_hash, error="over the per-phone hourly limit"
        )
        await uow.commit()
        return SmsClaimed(msg.id, "rate_limited", None)
    await uow.sms.lease(msg.id, until=now + dt.timedelta(seconds=cmd.lease_s), phone_hash=rcpt.phone_hash)
    await uow.commit()
    return SmsClaimed(msg.id, None, SmsToSend(msg.id, msg.kind, msg.text, msg.attempts, rcpt.phone_enc))


@dataclass(frozen=True, slots=True)
class RecordSms:
    message_id: int
    #: made before this send
    attempts: int
    #: None: the provider took it
    error: str | None
    retry: Sequence[float]


async def record_sms(cmd: RecordSms, uow: SmsWork) -> SmsDecision:
    decision = sms_after_send(attempts=cmd.attempts, error=cmd.error, now=utcnow(), retry=cmd.retry)
    await uow.sms.record_send(cmd.message_id, decision)
    await uow.commit()
    return decision
