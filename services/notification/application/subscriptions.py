"""Use cases of webhook subscriptions (订阅): register (the secret shown once), read, list,
rotate the secret with a grace period, disable and enable (re-enabling replays what the
subscription missed), list deliveries with their attempts, replay."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from services.notification.application.common import SECRET_CONTEXT, person_hash
from services.notification.application.ports import AttemptRow, CheckDestination, DeliveryRow, SubscriptionRow, Work
from services.notification.application.results import (
    Attempt,
    Delivery,
    DeliveryCounts,
    DeliveryPage,
    Replayed,
    SecretRotated,
    Subscription,
    SubscriptionCreated,
    SubscriptionOwner,
    SubscriptionPage,
)
from services.notification.domain.patterns import InvalidPattern, validate_pattern
from services.notification.domain.signing import new_secret
from services.notification.domain.ssrf import DestinationRefused
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from shared.identifiers import REGION_LEVELS
from shared.pii import FieldCipher, mask_numbers_in_value

__all__ = [
    "SECRET_CONTEXT",
    "ListDeliveries",
    "ListSubscriptions",
    "NewSubscription",
    "ReplayDelivery",
    "ReplaySubscription",
    "RotateSecret",
    "SetEnabled",
    "SubscriptionDeps",
    "create_subscription",
    "get_subscription",
    "list_deliveries",
    "list_subscriptions",
    "replay_delivery",
    "replay_subscription",
    "rotate_secret",
    "set_enabled",
]

SUBSCRIBER_ROLES = frozenset({"department", "county", "province", "admin"})


@dataclass(frozen=True, slots=True)
class SubscriptionDeps:
    cipher: FieldCipher
    check_destination: CheckDestination
    #: wakes this replica's dispatcher (replayed deliveries go out at once)
    wake_dispatcher: Callable[[], None]


@dataclass(frozen=True, slots=True)
class NewSubscription:
    url: str
    event_types: list[str]
    region: str | None
    description: str


@dataclass(frozen=True, slots=True)
class ListSubscriptions:
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class ListDeliveries:
    sub_id: str
    status: str | None
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class RotateSecret:
    sub_id: str
    grace_s: float


@dataclass(frozen=True, slots=True)
class SetEnabled:
    sub_id: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class ReplaySubscription:
    sub_id: str
    since: dt.datetime
    include_delivered: bool


@dataclass(frozen=True, slots=True)
class ReplayDelivery:
    delivery_id: int


def _require_role(p: Principal) -> None:
    if p.role not in SUBSCRIBER_ROLES:
        raise Forbidden("only departments, county and province officers and admins manage subscriptions")


def _visible(row: SubscriptionRow, p: Principal) -> bool:
    if p.role == "admin":
        return True
    if not (row.region and p.sees(row.region)):
        return False
    return p.role != "department" or row.owner_dept == p.dept


async def _load(uow: Work, p: Principal, sub_id: str, *, lock: bool = False) -> SubscriptionRow:
    _require_role(p)
    row = await uow.subscriptions.get(sub_id, lock=lock)
    if row is None or not _visible(row, p):
        raise NotFound(f"subscription {sub_id} not found")
    return row


async def create_subscription(
    cmd: NewSubscription, uow: Work, p: Principal, deps: SubscriptionDeps
) -> SubscriptionCreated:
    _require_role(p)
    errors: list[FieldError] = []
    patterns: list[str] = []
    for i, pat in enumerate(cmd.event_types):
        try:
            patterns.append(validate_pattern(pat))
        except InvalidPattern as exc:
            errors.append(FieldError(f"event_types.{i}", str(exc), "pattern"))
    region = p.region if cmd.region is None else cmd.region
    if region and (not region.isdigit() or len(region) not in REGION_LEVELS):
        errors.append(FieldError("region", "region must be a 2, 4, 6, 9 or 12-digit region code", "region"))
    if errors:
        raise Unprocessable("; ".join(f"{e['path']}: {e['message']}" for e in errors), errors=errors)
    if not region and p.role != "admin":
        raise Unprocessable("region is required", errors=[FieldError("region", "region is required", "missing")])
    if p.role != "admin" and not p.sees(region):
        raise NotFound(f"region {region} not found")
    try:
        await deps.check_destination(cmd.url)
    except DestinationRefused as exc:
        raise Unprocessable(
            f"url: {exc}", code="webhook_url_refused", errors=[FieldError("url", str(exc), "ssrf")]
        ) from None
    now = utcnow()
    sub_id = str(uuid.uuid4())
    secret = new_secret()
    await uow.subscriptions.add(
        {
            "id": sub_id,
            "owner_sub_hash": person_hash(deps.cipher, p),
            "owner_role": p.role,
            "owner_region": p.region,
            "owner_dept": p.dept,
            "url": cmd.url,
            "event_types": list(dict.fromkeys(patterns)),
            "region": region,
            "description": cmd.description,
            "status": "active",
            "created_at": now,
            "updated_at": now,
        }
    )
    await uow.subscriptions.add_secret(sub_id, deps.cipher.encrypt_text(secret, context=SECRET_CONTEXT), now)
    await uow.commit()
    row = await uow.subscriptions.get(sub_id)
    assert row is not None, "just added (subscriptions are never deleted)"
    return SubscriptionCreated(render(row), secret)


def render(row: SubscriptionRow, stats: dict[str, int] | None = None) -> Subscription:
    return Subscription(
        id=row.id,
        url=row.url,
        event_types=list(row.event_types),
        region=row.region,
        description=mask_numbers_in_value(row.description),  # masked when written; again here
        status=row.status,
        disabled_reason=row.disabled_reason,
        disabled_at=row.disabled_at,
        failing_since=row.failing_since,
        owner=SubscriptionOwner(row.owner_role, row.owner_region, row.owner_dept),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deliveries=None if stats is None else DeliveryCounts(stats["pending"], stats["delivered"], stats["dead"]),
    )


async def get_subscription(uow: Work, p: Principal, sub_id: str) -> Subscription:
    row = await _load(uow, p, sub_id)
    return render(row, await uow.subscriptions.delivery_stats(sub_id))


async def list_subscriptions(q: ListSubscriptions, uow: Work, p: Principal) -> SubscriptionPage:
    _require_role(p)
    rows, total = await uow.subscriptions.page(
        region=None if p.role == "admin" else p.region,
        dept=p.dept if p.role == "department" else None,
        limit=q.limit,
        offset=q.offset,
    )
    return SubscriptionPage([render(r) for r in rows], total, q.limit, q.offset)


async def rotate_secret(cmd: RotateSecret, uow: Work, p: Principal, deps: SubscriptionDeps) -> SecretRotated:
    await _load(uow, p, cmd.sub_id, lock=True)
    now = utcnow()
    expires = now + dt.timedelta(seconds=cmd.grace_s)
    await uow.subscriptions.expire_secrets(cmd.sub_id, expires)
    secret = new_secret()
    await uow.subscriptions.add_secret(cmd.sub_id, deps.cipher.encrypt_text(secret, context=SECRET_CONTEXT), now)
    await uow.subscriptions.update(cmd.sub_id, {"updated_at": now})
    await uow.commit()
    return SecretRotated(cmd.sub_id, secret, expires)


async def set_enabled(cmd: SetEnabled, uow: Work, p: Principal, deps: SubscriptionDeps) -> Subscription:
    sub_id = cmd.sub_id
    row = await _load(uow, p, sub_id, lock=True)
    now = utcnow()
    replayed = 0
    if cmd.enabled and row.status != "active":
        if row.missed_since is not None:
            replayed = await uow.subscriptions.requeue(sub_id=sub_id, statuses=("dead",), dead_since=row.missed_since)
        await uow.subscriptions.update(
            sub_id,
            {
                "status": "active",
                "disabled_reason": None,
                "disabled_at": None,
                "failing_since": None,
                "missed_since": None,
                "updated_at": now,
            },
        )
        uow.after_commit("wake_dispatcher", deps.wake_dispatcher)
    elif not cmd.enabled and row.status == "active":
        await uow.subscriptions.update(
            sub_id, {"status": "disabled", "disabled_reason": "by_owner", "disabled_at": now, "updated_at": now}
        )
    await uow.commit()
    return replace(await get_subscription(uow, p, sub_id), replayed=replayed)


async def replay_subscription(cmd: ReplaySubscription, uow: Work, p: Principal, deps: SubscriptionDeps) -> Replayed:
    await _load(uow, p, cmd.sub_id, lock=True)
    statuses = ("dead", "delivered") if cmd.include_delivered else ("dead",)
    n = await uow.subscriptions.requeue(sub_id=cmd.sub_id, statuses=statuses, created_since=cmd.since)
    uow.after_commit("wake_dispatcher", deps.wake_dispatcher)
    await uow.commit()
    return Replayed(cmd.sub_id, n, cmd.since)


async def replay_delivery(cmd: ReplayDelivery, uow: Work, p: Principal, deps: SubscriptionDeps) -> Delivery:
    _require_role(p)
    row = await uow.subscriptions.delivery(cmd.delivery_id)
    if row is None:
        raise NotFound(f"delivery {cmd.delivery_id} not found")
    await _load(uow, p, row.subscription_id)  # 404 outside the caller's scope
    if row.status == "pending":
        raise Conflict("this delivery is still being attempted", code="delivery_pending")
    await uow.subscriptions.requeue(delivery_id=cmd.delivery_id)
    uow.after_commit("wake_dispatcher", deps.wake_dispatcher)
    await uow.commit()
    requeued = await uow.subscriptions.delivery(cmd.delivery_id)
    assert requeued is not None, "read above (deliveries are never deleted)"
    return render_delivery(requeued, [])


def render_delivery(row: DeliveryRow, attempts: list[AttemptRow]) -> Delivery:
    return Delivery(
        id=row.id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempts_in_round=row.attempts,
        total_attempts=row.total_attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        dead_at=row.dead_at,
        attempts=[Attempt(a.attempt, a.started_at, a.outcome, a.status_code, a.latency_ms, a.error) for a in attempts],
    )


async def list_deliveries(q: ListDeliveries, uow: Work, p: Principal) -> DeliveryPage:
    await _load(uow, p, q.sub_id)
    rows, attempts, total = await uow.subscriptions.deliveries_page(
        q.sub_id, status=q.status, limit=q.limit, offset=q.offset
    )
    return DeliveryPage([render_delivery(r, attempts.get(r.id, [])) for r in rows], total, q.limit, q.offset)
