"""The SQL of the webhook dispatcher (`application.ports.DeliveryQueue`): claiming due deliveries
with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer at a time), reading their
payloads and signing secrets, recording a batch of outcomes (PostgreSQL: one statement), giving
leases back."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.orm import (
    deliveries,
    delivery_attempts,
    event_payloads,
    subscription_secrets,
    subscriptions,
)
from services.notification.application.ports import DeliveryUpdate, DueDelivery

__all__ = ["SqlDeliveries"]

# PostgreSQL: a batch of outcomes recorded in one statement (one round trip): the deliveries
# updated from arrays (only where our lease still holds), the attempts inserted, the
# subscriptions' failing marks set or cleared.
_RECORD_PG = sa.text(
    """
WITH b AS (
  SELECT * FROM unnest(
    CAST(:ids AS bigint[]), CAST(:status AS varchar[]), CAST(:attempts AS integer[]), CAST(:total AS integer[]),
    CAST(:next_at AS timestamptz[]), CAST(:code AS integer[]), CAST(:error AS varchar[]),
    CAST(:delivered_at AS timestamptz[]), CAST(:dead_at AS timestamptz[]), CAST(:started_at AS timestamptz[]),
    CAST(:latency_ms AS double precision[]), CAST(:outcome AS varchar[])
  ) AS b(id, status, attempts, total, next_at, code, error, delivered_at, dead_at, started_at, latency_ms, outcome)
), updated AS (
  UPDATE deliveries AS d SET status = b.status, attempts = b.attempts, total_attempts = b.total,
    next_attempt_at = b.next_at, last_status_code = b.code, last_error = b.error,
    delivered_at = b.delivered_at, dead_at = b.dead_at, lease_owner = NULL, lease_until = NULL
  FROM b WHERE d.id = b.id AND d.lease_owner = :owner
  RETURNING d.id
), attempts AS (
  INSERT INTO delivery_attempts (delivery_id, attempt, started_at, latency_ms, status_code, outcome, error)
  SELECT id, total, started_at, latency_ms, code, outcome, error FROM b
), recovered AS (
  UPDATE subscriptions SET failing_since = NULL
  WHERE id = ANY(CAST(:succeeded AS varchar[])) AND failing_since IS NOT NULL
)
UPDATE subscriptions SET failing_since = :now
WHERE id = ANY(CAST(:died AS varchar[])) AND failing_since IS NULL
"""
)

_CHUNK = 1000


def _record_arrays(
    owner: str, now: dt.datetime, updates: Sequence[DeliveryUpdate], recovered: set[str], failing: set[str]
) -> dict[str, Any]:
    return {
        "owner": owner,
        "now": now,
        "ids": [u.delivery_id for u in updates],
        "status": [u.decision.status for u in updates],
        "attempts": [u.decision.attempts for u in updates],
        "total": [u.decision.total_attempts for u in updates],
        "next_at": [u.decision.next_attempt_at for u in updates],
        "code": [u.status_code for u in updates],
        "error": [u.error for u in updates],
        "delivered_at": [u.decision.delivered_at for u in updates],
        "dead_at": [u.decision.dead_at for u in updates],
        "started_at": [u.started_at for u in updates],
        "latency_ms": [u.latency_ms for u in updates],
        "outcome": [u.decision.outcome for u in updates],
        "succeeded": sorted(recovered),
        "died": sorted(failing),
    }


class SqlDeliveries:
    """`application.ports.DeliveryQueue`."""

    #: when this process last refreshed the planner's statistics of `deliveries` (monotonic)
    _analyzed: ClassVar[float] = 0.0

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _pg(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def claim(self, *, owner: str, now: dt.datetime, lease_until: dt.datetime, limit: int) -> list[DueDelivery]:
        d, s = deliveries.c, subscriptions.c
        earlier = deliveries.alias("earlier")
        e = earlier.c
        pending: Any = sa.literal_column("'pending'")  # a literal, so the partial indexes apply
        blocked = (
            sa.select(sa.literal(1))
            .where(e.subscription_id == d.subscription_id, e.order_key == d.order_key, e.status == pending, e.id < d.id)
            .exists()
        )
        q = (
            sa.select(d.id, d.subscription_id, d.event_id, d.attempts, d.total_attempts, s.url)
            .join(subscriptions, s.id == d.subscription_id)
            .where(
                d.status == pending,
                d.next_attempt_at <= now,
                sa.or_(d.lease_until.is_(None), d.lease_until < now),
                s.status == "active",
                ~blocked,
            )
            .order_by(d.id)
            .limit(limit)
        )
        pg = self._pg()
        if pg:
            q = q.with_for_update(of=deliveries, skip_locked=True)
        started = time.monotonic()
        rows = (await self.session.execute(q)).all()
        if pg and time.monotonic() - started > 0.25 and time.monotonic() - SqlDeliveries._analyzed > 60:
            # A burst of fan-out leaves the planner with stale row counts (autovacuum has not
            # analysed yet) and it walks every pending row; refresh them now.
            SqlDeliveries._analyzed = time.monotonic()
            await self.session.execute(sa.text("ANALYZE deliveries"))
        ids = [r.id for r in rows]
        for i in range(0, len(ids), _CHUNK):
            await self.session.execute(
                sa.update(deliveries)
                .where(d.id.in_(ids[i : i + _CHUNK]))
                .values(lease_owner=owner, lease_until=lease_until)
            )
        return [DueDelivery(r.id, r.subscription_id, r.event_id, r.attempts, r.total_attempts, r.url) for r in rows]

    async def payloads(self, event_ids: Sequence[str]) -> dict[str, bytes]:
        ep = event_payloads.c
        ids = list(event_ids)
        out: dict[str, bytes] = {}
        for i in range(0, len(ids), _CHUNK):
            q = sa.select(ep.event_id, ep.payload).where(ep.event_id.in_(ids[i : i + _CHUNK]))
            for row in (await self.session.execute(q)).all():
                out[row.event_id] = bytes(row.payload)
        return out

    async def signing_secrets(self, sub_ids: Sequence[str], now: dt.datetime) -> dict[str, list[str]]:
        ss = subscription_secrets.c
        out: dict[str, list[str]] = {sid: [] for sid in sub_ids}
        q = (
            sa.select(ss.subscription_id, ss.secret_enc)
            .where(ss.subscription_id.in_(list(sub_ids)), sa.or_(ss.expires_at.is_(None), ss.expires_at > now))
            .order_by(ss.id.desc())
        )
        for sec in (await self.session.execute(q)).all():
            out[sec.subscription_id].append(sec.secret_enc)
        return out

    async def record(
        self, *, owner: str, now: dt.datetime, updates: Sequence[DeliveryUpdate], recovered: set[str], failing: set[str]
    ) -> None:
        if not updates:
            return
        if self._pg():
            await self.session.execute(_RECORD_PG, _record_arrays(owner, now, updates, recovered, failing))
            return
        d = deliveries.c
        stmt = (
            sa.update(deliveries)
            .where(d.id == sa.bindparam("b_id"), d.lease_owner == sa.bindparam("b_owner"))
            .values(
                status=sa.bindparam("b_status"),
                attempts=sa.bindparam("b_attempts"),
                total_attempts=sa.bindparam("b_total"),
                next_attempt_at=sa.bindparam("b_next"),
                last_status_code=sa.bindparam("b_code"),
                last_error=sa.bindparam("b_error"),
                delivered_at=sa.bindparam("b_delivered"),
                dead_at=sa.bindparam("b_dead"),
                lease_owner=None,
                lease_until=None,
            )
        )
        await self.session.execute(
            stmt,
            [
                {
                    "b_id": u.delivery_id,
                    "b_owner": owner,
                    "b_status": u.decision.status,
                    "b_attempts": u.decision.attempts,
                    "b_total": u.decision.total_attempts,
                    "b_next": u.decision.next_attempt_at,
                    "b_code": u.status_code,
                    "b_error": u.error,
                    "b_delivered": u.decision.delivered_at,
                    "b_dead": u.decision.dead_at,
                }
                for u in updates
            ],
        )
        await self.session.execute(
            sa.insert(delivery_attempts),
            [
                {
                    "delivery_id": u.delivery_id,
                    "attempt": u.decision.total_attempts,
                    "started_at": u.started_at,
                    "latency_ms": u.latency_ms,
                    "status_code": u.status_code,
                    "outcome": u.decision.outcome,
                    "error": u.error,
                }
                for u in updates
            ],
        )
        s = subscriptions.c
        if recovered:
            await self.session.execute(
                sa.update(subscriptions)
                .where(s.id.in_(recovered), s.failing_since.is_not(None))
                .values(failing_since=None)
            )
        if failing:
            await self.session.execute(
                sa.update(subscriptions).where(s.id.in_(failing), s.failing_since.is_(None)).values(failing_since=now)
            )

    async def release(self, owner: str) -> None:
        d = deliveries.c
        await self.session.execute(
            sa.update(deliveries)
            .where(d.lease_owner == owner, d.status == "pending")
            .values(lease_owner=None, lease_until=None)
        )
