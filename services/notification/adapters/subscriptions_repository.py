"""Reads and writes of webhook subscriptions, their secrets and their deliveries (all SQL of the
subscription use cases, and the failing subscriptions the dispatcher disables; its queue of
deliveries is `delivery_queue.py`, the fan-out's `fanout_queue.py`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.orm import deliveries, delivery_attempts, subscription_secrets, subscriptions
from services.notification.application.ports import AttemptRow, DeliveryRow, FailingSubscriptionRow, SubscriptionRow
from shared.db import utcnow

__all__ = ["SqlSubscriptions"]


def _within(column: Any, region: str) -> Any:
    return sa.and_(sa.func.length(column) >= len(region), sa.func.substr(column, 1, len(region)) == region)


class SqlSubscriptions:
    """`application.ports.SubscriptionsRepository`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, sub_id: str, *, lock: bool = False) -> SubscriptionRow | None:
        """`lock`: hold the row until the transaction ends (PostgreSQL; SQLite writers are serial)."""
        q = sa.select(subscriptions).where(subscriptions.c.id == sub_id)
        if lock and self.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        return (await self.session.execute(q)).first()

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(subscriptions).values(**values))

    async def update(self, sub_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(sa.update(subscriptions).where(subscriptions.c.id == sub_id).values(**values))

    async def add_secret(self, sub_id: str, secret_enc: str, at: dt.datetime) -> None:
        await self.session.execute(
            sa.insert(subscription_secrets).values(subscription_id=sub_id, secret_enc=secret_enc, created_at=at)
        )

    async def expire_secrets(self, sub_id: str, expires: dt.datetime) -> None:
        """Secrets still signing keep signing until `expires` (an earlier expiry is never extended)."""
        ss = subscription_secrets.c
        await self.session.execute(
            sa.update(subscription_secrets)
            .where(ss.subscription_id == sub_id, sa.or_(ss.expires_at.is_(None), ss.expires_at > expires))
            .values(expires_at=expires)
        )

    async def page(
        self, *, region: str | None, dept: str | None, limit: int, offset: int
    ) -> tuple[list[SubscriptionRow], int]:
        """`region` None: every subscription (admin); `dept`: only that department's."""
        s = subscriptions.c
        where: Any = sa.true() if region is None else _within(s.region, region)
        if dept is not None:
            where = sa.and_(where, s.owner_dept == dept)
        total = (
            await self.session.execute(sa.select(sa.func.count()).select_from(subscriptions).where(where))
        ).scalar_one()
        q = sa.select(subscriptions).where(where).order_by(s.created_at.desc(), s.id).limit(limit).offset(offset)
        return list((await self.session.execute(q)).all()), int(total)

    async def delivery_stats(self, sub_id: str) -> dict[str, int]:
        d = deliveries.c
        q = sa.select(d.status, sa.func.count()).where(d.subscription_id == sub_id).group_by(d.status)
        out = {"pending": 0, "delivered": 0, "dead": 0}
        out.update({r[0]: int(r[1]) for r in (await self.session.execute(q)).all()})
        return out

    async def delivery(self, delivery_id: int) -> DeliveryRow | None:
        return (await self.session.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id))).first()

    async def deliveries_page(
        self, sub_id: str, *, status: str | None, limit: int, offset: int
    ) -> tuple[list[DeliveryRow], dict[int, list[AttemptRow]], int]:
        """The deliveries newest first, each one's attempts in order, and how many there are."""
        d = deliveries.c
        where = d.subscription_id == sub_id
        if status:
            where = sa.and_(where, d.status == status)
        total = (
            await self.session.execute(sa.select(sa.func.count()).select_from(deliveries).where(where))
        ).scalar_one()
        q = sa.select(deliveries).where(where).order_by(d.id.desc()).limit(limit).offset(offset)
        rows: list[DeliveryRow] = list((await self.session.execute(q)).all())
        by_delivery: dict[int, list[AttemptRow]] = defaultdict(list)
        if rows:
            a = delivery_attempts.c
            attempts = sa.select(delivery_attempts).where(a.delivery_id.in_([r.id for r in rows])).order_by(a.id)
            for att in (await self.session.execute(attempts)).all():
                by_delivery[att.delivery_id].append(att)
        return rows, by_delivery, int(total)

    async def requeue(
        self,
        *,
        sub_id: str | None = None,
        delivery_id: int | None = None,
        statuses: tuple[str, ...] = (),
        dead_since: dt.datetime | None = None,
        created_since: dt.datetime | None = None,
    ) -> int:
        """Put deliveries back to be attempted afresh (a new round of attempts); how many."""
        d = deliveries.c
        where: list[Any] = []
        if sub_id is not None:
            where.append(d.subscription_id == sub_id)
        if delivery_id is not None:
            where.append(d.id == delivery_id)
        if statuses:
            where.append(d.status == statuses[0] if len(statuses) == 1 else d.status.in_(statuses))
        if dead_since is not None:
            where.append(d.dead_at >= dead_since)
        if created_since is not None:
            where.append(d.created_at >= created_since)
        res = await self.session.execute(
            sa.update(deliveries)
            .where(*where)
            .values(
                status="pending", attempts=0, next_attempt_at=utcnow(), lease_owner=None, lease_until=None, dead_at=None
            )
        )
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    async def failing_before(self, cutoff: dt.datetime) -> list[FailingSubscriptionRow]:
        """Active subscriptions failing since before `cutoff`, locked (PostgreSQL: skipping those
        another replica holds)."""
        s = subscriptions.c
        q = sa.select(subscriptions).where(s.status == "active", s.failing_since.is_not(None), s.failing_since < cutoff)
        if self.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        return list((await self.session.execute(q)).all())
