"""The SQL of the fan-out (`application.ports.FanoutQueue`): the subscriptions and their signing
secrets read once per transaction, the event payloads, the "earlier pending delivery of this
household?" look-up (PostgreSQL: with per-household advisory locks, never waited for) and the
delivery rows, each as one multi-row statement per consumer batch."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.orm import deliveries, event_payloads, subscription_secrets, subscriptions
from services.notification.application.ports import NewDelivery
from services.notification.domain.fanout import Target
from shared.db import utcnow

__all__ = ["SqlFanout"]

# Earlier pending deliveries of these households for these subscriptions (the partial index
# ix_deliveries_order answers it); one statement for a whole consumer batch.
_BLOCKED_PG = sa.text(
    "SELECT DISTINCT subscription_id, order_key FROM deliveries WHERE status = 'pending' "
    "AND order_key = ANY(CAST(:keys AS varchar[])) AND subscription_id = ANY(CAST(:subs AS varchar[]))"
)
# Held until the fan-out transaction ends; never waited for (no deadlock between replicas).
_HOUSEHOLD_LOCKS_PG = sa.text(
    "SELECT k, pg_try_advisory_xact_lock(hashtext('fangfan.order:' || k)) FROM unnest(CAST(:keys AS varchar[])) AS k"
)
_BLOCKED_SQLITE = sa.text(
    "SELECT DISTINCT subscription_id, order_key FROM deliveries WHERE status = 'pending' "
    "AND order_key IN (SELECT value FROM json_each(:keys)) "
    "AND subscription_id IN (SELECT value FROM json_each(:subs))"
)


def _insert_ignore(dialect: str, table: sa.Table) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


class SqlFanout:
    """`application.ports.FanoutQueue` over one session (its cache in `session.info`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def subscriptions(self) -> list[Target]:
        info = self.session.info
        cached: list[Target] | None = info.get("subscriptions")
        if cached is None:
            s, ss = subscriptions.c, subscription_secrets.c
            q = (
                sa.select(s.id, s.event_types, s.region, s.status, s.url, ss.secret_enc)
                .select_from(
                    subscriptions.outerjoin(
                        subscription_secrets,
                        sa.and_(
                            ss.subscription_id == s.id,
                            sa.or_(ss.expires_at.is_(None), ss.expires_at > sa.bindparam("now")),
                        ),
                    )
                )
                .order_by(s.id, ss.id.desc())
            )
            by_id: dict[str, Target] = {}
            secrets: dict[str, list[str]] = {}
            for row in (await self.session.execute(q, {"now": utcnow()})).all():
                if row.id not in by_id:
                    by_id[row.id] = Target(row.id, row.event_types, row.region, row.status, row.url)
                    secrets[row.id] = []
                if row.secret_enc is not None:
                    secrets[row.id].append(row.secret_enc)
            cached = info["subscriptions"] = list(by_id.values())
            info["subscription_secrets"] = secrets
        return cached

    def signing_secrets(self) -> dict[str, list[str]]:
        secrets: dict[str, list[str]] = self.session.info.get("subscription_secrets", {})
        return secrets

    async def add_payloads(self, payloads: Sequence[tuple[str, str, bytes]], now: dt.datetime) -> None:
        await self.session.execute(
            _insert_ignore(self._dialect, event_payloads),
            [{"event_id": i, "event_type": t, "payload": p, "created_at": now} for i, t, p in payloads],
        )

    async def pending_pairs(self, keys: Sequence[str], sub_ids: Sequence[str]) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        if self._dialect == "postgresql":
            # Another replica fanning out one of these households right now (its rows not yet
            # visible to us): leave ours to the claim loop rather than race it.
            locks = (await self.session.execute(_HOUSEHOLD_LOCKS_PG, {"keys": list(keys)})).all()
            refused = {k for k, got in locks if not got}
            out.update((sid, k) for k in refused for sid in sub_ids)
            free = [k for k in keys if k not in refused]
            if free:
                params = {"keys": free, "subs": list(sub_ids)}
                out.update((r[0], r[1]) for r in (await self.session.execute(_BLOCKED_PG, params)).all())
        else:
            params_json = {"keys": json.dumps(list(keys)), "subs": json.dumps(list(sub_ids))}
            out.update((r[0], r[1]) for r in (await self.session.execute(_BLOCKED_SQLITE, params_json)).all())
        return out

    async def add_deliveries(
        self, rows: Sequence[NewDelivery], *, now: dt.datetime, lease_owner: str | None, lease_until: dt.datetime | None
    ) -> list[tuple[int, str, str]]:
        values = [
            {
                "subscription_id": r.subscription_id,
                "event_id": r.event_id,
                "event_type": r.event_type,
                "order_key": r.order_key,
                "status": "pending",
                "attempts": 0,
                "total_attempts": 0,
                "next_attempt_at": now,
                "lease_owner": lease_owner if r.leased else None,
                "lease_until": lease_until if r.leased else None,
                "created_at": now,
            }
            for r in rows
        ]
        stmt = _insert_ignore(self._dialect, deliveries)
        if not any(r.leased for r in rows):
            # executemany of one cached statement (sent as multi-row INSERTs)
            await self.session.execute(stmt, values)
            return []
        d = deliveries.c
        inserted = (await self.session.execute(stmt.returning(d.id, d.subscription_id, d.event_id), values)).all()
        leased = {(r.subscription_id, r.event_id) for r in rows if r.leased}
        return [(r.id, r.subscription_id, r.event_id) for r in inserted if (r.subscription_id, r.event_id) in leased]
