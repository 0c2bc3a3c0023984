"""Use cases of the webhook dispatcher (投递), the loop of which lives in `adapters/dispatcher.py`:
claim the due deliveries (with their payloads and the secrets that sign them), record what each
attempt came to — delivered, retried on the schedule with jitter, or dead-lettered, and the
subscriptions' failing marks —, disable the subscriptions failing too long (their owners told in
their inbox), give the leases back when stopping. Delivery is at least once: a delivery is
claimed under a lease, and an outcome is recorded only while that lease holds."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from services.notification.application.ports import DeliveryUpdate, DispatchWork
from services.notification.domain.delivery import (
    after_attempt,
    disable_cutoff,
    failing_marks,
    subscription_disabled_notice,
)
from services.notification.domain.retry import RetrySchedule
from shared.db import utcnow

__all__ = [
    "ClaimDue",
    "ClaimedDelivery",
    "DisableFailing",
    "DisabledSubscription",
    "RecordOutcomes",
    "Recorded",
    "SendOutcome",
    "claim_due",
    "disable_failing",
    "record_outcomes",
    "release_leases",
]


@dataclass(frozen=True, slots=True)
class ClaimDue:
    owner: str
    limit: int
    lease: dt.timedelta


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    subscription_id: str
    event_id: str
    attempts: int
    total_attempts: int
    url: str
    payload: bytes
    #: encrypted, newest first; each signs the request
    secrets_enc: list[str]


async def claim_due(cmd: ClaimDue, uow: DispatchWork) -> list[ClaimedDelivery]:
    """Lease up to `limit` due deliveries to `owner` (committed); nothing written if none is due."""
    if cmd.limit <= 0:
        return []
    now = utcnow()
    due = await uow.deliveries.claim(owner=cmd.owner, now=now, lease_until=now + cmd.lease, limit=cmd.limit)
    if not due:
        return []
    payloads = await uow.deliveries.payloads(list(dict.fromkeys(d.event_id for d in due)))
    secrets = await uow.deliveries.signing_secrets(list(dict.fromkeys(d.subscription_id for d in due)), now)
    await uow.commit()
    return [
        ClaimedDelivery(
            d.id,
            d.subscription_id,
            d.event_id,
            d.attempts,
            d.total_attempts,
            d.url,
            payloads[d.event_id],
            secrets[d.subscription_id],
        )
        for d in due
    ]


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What one POST of a claimed delivery came to."""

    delivery_id: int
    subscription_id: str
    #: made before this one (in this round, and in all)
    attempts: int
    total_attempts: int
    started_at: dt.datetime
    ok: bool
    refused: bool
    status_code: int | None
    latency_ms: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class RecordOutcomes:
    owner: str
    outcomes: Sequence[SendOutcome]
    schedule: RetrySchedule


@dataclass(frozen=True, slots=True)
class Recorded:
    updates: list[DeliveryUpdate]
    #: subscriptions whose failing mark is cleared / set
    recovered: set[str]
    failing: set[str]

    def count(self, status: str) -> int:
        return sum(u.decision.status == status for u in self.updates)


async def record_outcomes(cmd: RecordOutcomes, uow: DispatchWork, *, rng: random.Random | None = None) -> Recorded:
    now = utcnow()
    updates: list[DeliveryUpdate] = []
    pairs = []
    for o in cmd.outcomes:
        decision = after_attempt(
            attempts=o.attempts,
            total_attempts=o.total_attempts,
            ok=o.ok,
            refused=o.refused,
            now=now,
            schedule=cmd.schedule,
            rng=rng,
        )
        updates.append(DeliveryUpdate(o.delivery_id, decision, o.started_at, o.status_code, o.latency_ms, o.error))
        pairs.append((o.subscription_id, decision))
    recovered, failing = failing_marks(pairs)
    await uow.deliveries.record(owner=cmd.owner, now=now, updates=updates, recovered=recovered, failing=failing)
    await uow.commit()
    return Recorded(updates, recovered, failing)


@dataclass(frozen=True, slots=True)
class DisableFailing:
    #: a subscription whose deliveries all stayed dead this long is disabled
    disable_after_s: float


@dataclass(frozen=True, slots=True)
class DisabledSubscription:
    id: str
    failing_since: dt.datetime
    #: the owner's inbox item
    notice_id: str


async def disable_failing(cmd: DisableFailing, uow: DispatchWork) -> list[DisabledSubscription]:
    """Disable the subscriptions failing (every delivery dead, none delivered) for longer than the
    configured period — re-enabling replays what they missed since —, and tell each owner."""
    now = utcnow()
    out: list[DisabledSubscription] = []
    for row in await uow.subscriptions.failing_before(disable_cutoff(now, cmd.disable_after_s)):
        await uow.subscriptions.update(
            row.id,
            {
                "status": "disabled",
                "disabled_reason": "failing",
                "disabled_at": now,
                "missed_since": row.failing_since,
                "updated_at": now,
            },
        )
        notice = subscription_disabled_notice(
            sub_id=row.id,
            description=row.description,
            failing_since=row.failing_since,
            region=row.region,
            owner_region=row.owner_region,
            owner_sub_hash=row.owner_sub_hash,
        )
        (item_id,) = await uow.notices.write([notice], event_id=None, sms=False, wake_sms=None)
        out.append(DisabledSubscription(row.id, row.failing_since, item_id))
    await uow.commit()
    return out


async def release_leases(owner: str, uow: DispatchWork) -> None:
    """Give back what `owner` holds, so another replica (or its next start) need not wait the
    lease out."""
    await uow.deliveries.release(owner)
    await uow.commit()
