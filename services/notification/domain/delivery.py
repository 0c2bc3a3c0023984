"""Decisions of the delivery workers, pure: what a webhook delivery becomes after one attempt
(delivered, retried after the schedule's next delay, or dead-lettered), which subscriptions start
or stop failing, when a failing subscription is disabled and what its owner is told, when a
reminder is due, and what an SMS becomes after a send (sent, retried, failed) or before one
(no number, over the per-phone hourly limit)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.notification.domain.retry import RetrySchedule
from services.notification.domain.routing import Audience, Notice

__all__ = [
    "AttemptDecision",
    "SmsDecision",
    "after_attempt",
    "disable_cutoff",
    "failing_marks",
    "over_sms_limit",
    "reminder_due",
    "reminder_moves",
    "sms_after_send",
    "subscription_disabled_notice",
]


@dataclass(frozen=True, slots=True)
class AttemptDecision:
    """A delivery after one attempt, and the attempt's own record."""

    status: str  # delivered | pending (retried at next_attempt_at) | dead
    attempts: int  # made in this round (a replay starts a new round)
    total_attempts: int
    next_attempt_at: dt.datetime
    delivered_at: dt.datetime | None
    dead_at: dt.datetime | None
    #: the attempt: delivered | refused (destination refused, e.g. SSRF) | failed
    outcome: str


def after_attempt(
    *,
    attempts: int,
    total_attempts: int,
    ok: bool,
    refused: bool,
    now: dt.datetime,
    schedule: RetrySchedule,
    rng: random.Random | None = None,
) -> AttemptDecision:
    """`attempts`/`total_attempts`: those made before this one. A failure is retried after the
    schedule's delay for the attempts made in this round (with jitter), dead-lettered after the
    last one."""
    made = attempts + 1
    total = total_attempts + 1
    outcome = "delivered" if ok else ("refused" if refused else "failed")
    if ok:
        return AttemptDecision("delivered", made, total, now, now, None, outcome)
    delay = schedule.next_delay(made, rng)
    if delay is None:
        return AttemptDecision("dead", made, total, now, None, now, outcome)
    return AttemptDecision("pending", made, total, now + dt.timedelta(seconds=delay), None, None, outcome)


def failing_marks(decisions: Iterable[tuple[str, AttemptDecision]]) -> tuple[set[str], set[str]]:
    """From (subscription id, decision) pairs: the subscriptions that delivered (their failing
    mark is cleared) and those that only dead-lettered in this batch (failing from now on, unless
    already)."""
    succeeded: set[str] = set()
    died: set[str] = set()
    for sub_id, d in decisions:
        if d.status == "delivered":
            succeeded.add(sub_id)
        elif d.status == "dead":
            died.add(sub_id)
    return succeeded, died - succeeded


def disable_cutoff(now: dt.datetime, disable_after_s: float) -> dt.datetime:
    """A subscription failing since before this is disabled."""
    return now - dt.timedelta(seconds=disable_after_s)


def subscription_disabled_notice(
    *,
    sub_id: str,
    description: str | None,
    failing_since: dt.datetime,
    region: str | None,
    owner_region: str | None,
    owner_sub_hash: str,
) -> Notice:
    """What the owner of a subscription disabled for failing finds in their inbox."""
    return Notice(
        "subscription_disabled",
        "订阅已停用",
        f"您的事件订阅（{description or sub_id}）"
        f"自{failing_since:%Y-%m-%d %H:%M} UTC起投递持续失败，"
        "已自动停用。请检查接收地址后重新启用，停用期间未送达的事件将自动补发。",
        region or owner_region or "",
        Audience(person=owner_sub_hash),
        {"subscription_id": sub_id},
    )


def reminder_due(
    *, fire_at: dt.datetime, fired_at: dt.datetime | None, cancelled_at: dt.datetime | None, now: dt.datetime
) -> bool:
    """A reminder fires once, at or after its time, unless cancelled."""
    return fired_at is None and cancelled_at is None and fire_at <= now


def reminder_moves(*, fired: bool, cancelled: bool, same_date: bool, revive: bool) -> bool:
    """Does a newer schedule move an existing reminder (one per kind and thing)? Not one that
    already fired for the same date (it would fire twice), and not a cancelled one the schedule
    may not revive (a recorded visit is not scheduled again)."""
    if fired and same_date:
        return False
    return not (cancelled and not revive)


def over_sms_limit(recent: int, per_hour: int) -> bool:
    """`recent`: the phone's messages sent in the last hour or being sent now."""
    return recent >= per_hour


@dataclass(frozen=True, slots=True)
class SmsDecision:
    status: str  # sent | pending (retried at next_attempt_at) | failed
    attempts: int
    error: str | None
    sent_at: dt.datetime | None = None
    next_attempt_at: dt.datetime | None = None


def sms_after_send(*, attempts: int, error: str | None, now: dt.datetime, retry: Sequence[float]) -> SmsDecision:
    """`attempts`: made before this send; `error` None when the provider took it. A failure is
    retried after `retry[attempts made - 1]` seconds, failed for good after the last delay."""
    made = attempts + 1
    if error is None:
        return SmsDecision("sent", made, None, sent_at=now)
    if made <= len(retry):
        return SmsDecision("pending", made, error[:500], next_attempt_at=now + dt.timedelta(seconds=retry[made - 1]))
    return SmsDecision("failed", made, error[:500])
