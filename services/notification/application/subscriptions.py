"""Use cases of webhook subscriptions (订阅): register (the secret shown once), read, list,
rotate the secret with a grace period, disable and enable (re-enabling replays what the
subscription missed), list deliveries with their attempts, replay."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.http import check_destination
from services.notification.adapters.orm import (
    deliveries,
    delivery_attempts,
    subscription_secrets,
    subscriptions,
)
from services.notification.application.common import after_commit, person_hash
from services.notification.domain.patterns import InvalidPattern, validate_pattern
from services.notification.domain.signing import new_secret
from services.notification.domain.ssrf import DestinationRefused, parse_allowlist
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import UnitOfWork, utcnow
from shared.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from shared.identifiers import REGION_LEVELS
from shared.pii import mask_numbers_in_value

__all__ = [
    "SECRET_CONTEXT",
    "create_subscription",
    "get_subscription",
    "list_deliveries",
    "list_subscriptions",
    "replay_delivery",
    "replay_subscription",
    "rotate_secret",
    "set_enabled",
]

SECRET_CONTEXT = b"subscription_secrets.secret_enc"
SUBSCRIBER_ROLES = frozenset({"department", "county", "province", "admin"})


@dataclass(frozen=True, slots=True)
class NewSubscription:
    url: str
    event_types: list[str]
    region: str | None
    description: str


def _require_role(p: Principal) -> None:
    if p.role not in SUBSCRIBER_ROLES:
        raise Forbidden("only departments, county and province officers and admins manage subscriptions")


def _visible(row: Any, p: Principal) -> bool:
    if p.role == "admin":
        return True
    if not (row.region and p.sees(row.region)):
        return False
    return p.role != "department" or row.owner_dept == p.dept


def _scope_clause(p: Principal) -> Any:
    s = subscriptions.c
    if p.role == "admin":
        return sa.true()
    clause = sa.and_(sa.func.length(s.region) >= len(p.region), sa.func.substr(s.region, 1, len(p.region)) == p.region)
    if p.role == "department":
        clause = sa.and_(clause, s.owner_dept == p.dept)
    return clause


async def _load(session: AsyncSession, p: Principal, sub_id: str, *, lock: bool = False) -> Any:
    _require_role(p)
    q = sa.select(subscriptions).where(subscriptions.c.id == sub_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    row = (await session.execute(q)).first()
    if row is None or not _visible(row, p):
        raise NotFound(f"subscription {sub_id} not found")
    return row


async def create_subscription(
    ctx: ServiceContext, uow: UnitOfWork, p: Principal, cmd: NewSubscription
) -> dict[str, Any]:
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
        await check_destination(cmd.url, parse_allowlist(ctx.settings.webhook_allowlist))
    except DestinationRefused as exc:
        raise Unprocessable(
            f"url: {exc}", code="webhook_url_refused", errors=[FieldError("url", str(exc), "ssrf")]
        ) from None
    now = utcnow()
    sub_id = str(uuid.uuid4())
    secret = new_secret()
    await uow.session.execute(
        sa.insert(subscriptions).values(
            id=sub_id,
            owner_sub_hash=person_hash(ctx.cipher, p),
            owner_role=p.role,
            owner_region=p.region,
            owner_dept=p.dept,
            url=cmd.url,
            event_types=list(dict.fromkeys(patterns)),
            region=region,
            description=cmd.description,
            status="active",
            created_at=now,
            updated_at=now,
        )
    )
    await uow.session.execute(
        sa.insert(subscription_secrets).values(
            subscription_id=sub_id, secret_enc=ctx.cipher.encrypt_text(secret, context=SECRET_CONTEXT), created_at=now
        )
    )
    await uow.commit()
    row = (await uow.session.execute(sa.select(subscriptions).where(subscriptions.c.id == sub_id))).one()
    return dict(render(row), secret=secret)


def render(row: Any, stats: dict[str, int] | None = None) -> dict[str, Any]:
    out = {
        "id": row.id,
        "url": row.url,
        "event_types": list(row.event_types),
        "region": row.region,
        "description": mask_numbers_in_value(row.description),  # masked when written; again here
        "status": row.status,
        "disabled_reason": row.disabled_reason,
        "disabled_at": row.disabled_at,
        "failing_since": row.failing_since,
        "owner": {"role": row.owner_role, "region": row.owner_region, "dept": row.owner_dept},
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if stats is not None:
        out["deliveries"] = stats
    return out


async def _stats(session: AsyncSession, sub_id: str) -> dict[str, int]:
    d = deliveries.c
    rows = (
        await session.execute(
            sa.select(d.status, sa.func.count()).where(d.subscription_id == sub_id).group_by(d.status)
        )
    ).all()
    out = {"pending": 0, "delivered": 0, "dead": 0}
    out.update({r[0]: int(r[1]) for r in rows})
    return out


async def get_subscription(session: AsyncSession, p: Principal, sub_id: str) -> dict[str, Any]:
    row = await _load(session, p, sub_id)
    return render(row, await _stats(session, sub_id))


async def list_subscriptions(session: AsyncSession, p: Principal, *, limit: int, offset: int) -> dict[str, Any]:
    _require_role(p)
    s = subscriptions.c
    where = _scope_clause(p)
    total = (await session.execute(sa.select(sa.func.count()).select_from(subscriptions).where(where))).scalar_one()
    rows = (
        await session.execute(
            sa.select(subscriptions).where(where).order_by(s.created_at.desc(), s.id).limit(limit).offset(offset)
        )
    ).all()
    return {"items": [render(r) for r in rows], "total": int(total), "limit": limit, "offset": offset}


async def rotate_secret(
    ctx: ServiceContext, uow: UnitOfWork, p: Principal, sub_id: str, *, grace_s: float
) -> dict[str, Any]:
    await _load(uow.session, p, sub_id, lock=True)
    now = utcnow()
    expires = now + dt.timedelta(seconds=grace_s)
    ss = subscription_secrets.c
    # Secrets still signing keep signing until the grace period ends (never extended).
    await uow.session.execute(
        sa.update(subscription_secrets)
        .where(ss.subscription_id == sub_id, sa.or_(ss.expires_at.is_(None), ss.expires_at > expires))
        .values(expires_at=expires)
    )
    secret = new_secret()
    await uow.session.execute(
        sa.insert(subscription_secrets).values(
            subscription_id=sub_id, secret_enc=ctx.cipher.encrypt_text(secret, context=SECRET_CONTEXT), created_at=now
        )
    )
    await uow.session.execute(sa.update(subscriptions).where(subscriptions.c.id == sub_id).values(updated_at=now))
    await uow.commit()
    return {"id": sub_id, "secret": secret, "previous_secrets_expire_at": expires}


def _wake(ctx: ServiceContext) -> None:
    dispatcher = ctx.state.get("dispatcher")
    if dispatcher is not None:
        dispatcher.wake()


async def _requeue(uow: UnitOfWork, where: Any) -> int:
    res = await uow.session.execute(
        sa.update(deliveries)
        .where(where)
        .values(
            status="pending", attempts=0, next_attempt_at=utcnow(), lease_owner=None, lease_until=None, dead_at=None
        )
    )
    return int(res.rowcount or 0)


async def set_enabled(ctx: ServiceContext, uow: UnitOfWork, p: Principal, sub_id: str, enabled: bool) -> dict[str, Any]:
    row = await _load(uow.session, p, sub_id, lock=True)
    now = utcnow()
    replayed = 0
    if enabled and row.status != "active":
        if row.missed_since is not None:
            d = deliveries.c
            replayed = await _requeue(
                uow, sa.and_(d.subscription_id == sub_id, d.status == "dead", d.dead_at >= row.missed_since)
            )
        await uow.session.execute(
            sa.update(subscriptions)
            .where(subscriptions.c.id == sub_id)
            .values(
                status="active",
                disabled_reason=None,
                disabled_at=None,
                failing_since=None,
                missed_since=None,
                updated_at=now,
            )
        )
        after_commit(uow, "wake_dispatcher", lambda: _wake(ctx))
    elif not enabled and row.status == "active":
        await uow.session.execute(
            sa.update(subscriptions)
            .where(subscriptions.c.id == sub_id)
            .values(status="disabled", disabled_reason="by_owner", disabled_at=now, updated_at=now)
        )
    await uow.commit()
    out = await get_subscription(uow.session, p, sub_id)
    out["replayed"] = replayed
    return out


async def replay_subscription(
    ctx: ServiceContext, uow: UnitOfWork, p: Principal, sub_id: str, *, since: dt.datetime, include_delivered: bool
) -> dict[str, Any]:
    await _load(uow.session, p, sub_id, lock=True)
    d = deliveries.c
    statuses = ("dead", "delivered") if include_delivered else ("dead",)
    n = await _requeue(uow, sa.and_(d.subscription_id == sub_id, d.status.in_(statuses), d.created_at >= since))
    after_commit(uow, "wake_dispatcher", lambda: _wake(ctx))
    await uow.commit()
    return {"subscription_id": sub_id, "replayed": n, "since": since}


async def replay_delivery(ctx: ServiceContext, uow: UnitOfWork, p: Principal, delivery_id: int) -> dict[str, Any]:
    _require_role(p)
    row = (await uow.session.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id))).first()
    if row is None:
        raise NotFound(f"delivery {delivery_id} not found")
    await _load(uow.session, p, row.subscription_id)  # 404 outside the caller's scope
    if row.status == "pending":
        raise Conflict("this delivery is still being attempted", code="delivery_pending")
    await _requeue(uow, deliveries.c.id == delivery_id)
    after_commit(uow, "wake_dispatcher", lambda: _wake(ctx))
    await uow.commit()
    fresh = (await uow.session.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id))).one()
    return render_delivery(fresh, [])


def render_delivery(row: Any, attempts: list[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "subscription_id": row.subscription_id,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "status": row.status,
        "attempts_in_round": row.attempts,
        "total_attempts": row.total_attempts,
        "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "delivered_at": row.delivered_at,
        "dead_at": row.dead_at,
        "attempts": [
            {
                "attempt": a.attempt,
                "started_at": a.started_at,
                "outcome": a.outcome,
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "error": a.error,
            }
            for a in attempts
        ],
    }


async def list_deliveries(
    session: AsyncSession, p: Principal, sub_id: str, *, status: str | None, limit: int, offset: int
) -> dict[str, Any]:
    await _load(session, p, sub_id)
    d = deliveries.c
    where = d.subscription_id == sub_id
    if status:
        where = sa.and_(where, d.status == status)
    total = (await session.execute(sa.select(sa.func.count()).select_from(deliveries).where(where))).scalar_one()
    rows = (
        await session.execute(sa.select(deliveries).where(where).order_by(d.id.desc()).limit(limit).offset(offset))
    ).all()
    by_delivery: dict[int, list[Any]] = defaultdict(list)
    if rows:
        a = delivery_attempts.c
        for att in (
            await session.execute(
                sa.select(delivery_attempts).where(a.delivery_id.in_([r.id for r in rows])).order_by(a.id)
            )
        ).all():
            by_delivery[att.delivery_id].append(att)
    return {
        "items": [render_delivery(r, by_delivery[r.id]) for r in rows],
        "total": int(total),
        "limit": limit,
        "offset": offset,
    }
