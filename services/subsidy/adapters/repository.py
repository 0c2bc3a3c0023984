"""Decisions in the database: insert, read, list, update with optimistic concurrency, the ledger
the cross-decision rules need, and the per-subject lock that keeps caps whole under concurrency
(the only dialect branch of the service).

Amounts cross this boundary as whole fen (int) in the table and `Decimal` yuan outside it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidy.adapters.orm import decision_persons, decisions
from services.subsidy.application.ports import DecisionRow
from services.subsidy.domain import DecisionState, LedgerLine, PriorDecision
from services.subsidy.domain.rounding import yuan

__all__ = ["SqlDecisions"]

#: First key of the two-key advisory locks (the migration lock uses the one-key space).
_LOCK_NAMESPACE = 6_103
_LOCK_PG = sa.text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))")


def _prior(row: Any) -> PriorDecision:
    lines = tuple(
        LedgerLine(
            line["component"],
            Decimal(line["amount"]),
            line.get("person_id"),
            None if line.get("quantity") is None else Decimal(line["quantity"]),
        )
        for line in json.loads(row.breakdown)
    )
    return PriorDecision(
        decision_id=row.id,
        kind=row.kind,
        subject_id=row.subject_id,
        amount=yuan(row.amount_fen),
        as_of=row.as_of,
        state=DecisionState(row.state),
        lines=lines,
    )


class SqlDecisions:
    """`application.ports.DecisionsRepository` inside a unit of work's session (never commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_subjects(self, keys: Iterable[str]) -> None:
        """Serialise decisions on the same subjects until the transaction ends. PostgreSQL: advisory
        transaction locks taken in sorted order (no deadlock between two requests). SQLite: the
        transaction already began with BEGIN IMMEDIATE, so writers are serialised anyway."""
        ordered = sorted(set(keys))
        if self.session.get_bind().dialect.name == "postgresql":
            for key in ordered:
                await self.session.execute(_LOCK_PG, {"ns": _LOCK_NAMESPACE, "key": key})

    async def ledger(self, keys: Iterable[str]) -> list[PriorDecision]:
        """Every decision recorded against one of `keys` as subject, or paying one of them as a person."""
        ids = sorted(set(keys))
        if not ids:
            return []
        by_person = sa.select(decision_persons.c.decision_id).where(decision_persons.c.person_id.in_(ids))
        q = sa.select(
            decisions.c.id,
            decisions.c.kind,
            decisions.c.subject_id,
            decisions.c.amount_fen,
            decisions.c.as_of,
            decisions.c.state,
            decisions.c.breakdown,
        ).where(sa.or_(decisions.c.subject_id.in_(ids), decisions.c.id.in_(by_person)))
        return [_prior(r) for r in (await self.session.execute(q)).all()]

    async def insert(self, row: dict[str, Any], persons: Iterable[str]) -> None:
        await self.session.execute(sa.insert(decisions).values(**row))
        pids = sorted(set(persons))
        if pids:
            await self.session.execute(
                sa.insert(decision_persons), [{"decision_id": row["id"], "person_id": p} for p in pids]
            )

    async def get(self, decision_id: str) -> DecisionRow | None:
        return (await self.session.execute(sa.select(decisions).where(decisions.c.id == decision_id))).first()

    async def for_payment(self, payment_id: str) -> DecisionRow | None:
        """The decision already recorded for a civil-affairs payment order, if any."""
        q = sa.select(decisions).where(decisions.c.payment_id == payment_id)
        return (await self.session.execute(q)).first()

    async def update(self, decision_id: str, version: int, values: dict[str, Any]) -> bool:
        """Optimistic update: False when someone else changed the decision first."""
        res = await self.session.execute(
            sa.update(decisions)
            .where(decisions.c.id == decision_id, decisions.c.version == version)
            .values(**values, version=version + 1)
        )
        # an UPDATE's result is a CursorResult (rowcount); `Session.execute` is typed as Result
        return cast(CursorResult[Any], res).rowcount == 1

    async def list(
        self,
        *,
        region_prefix: str,
        kind: str | None = None,
        state: str | None = None,
        subject_id: str | None = None,
        household_id: str | None = None,
        as_of_from: dt.date | None = None,
        as_of_to: dt.date | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> Sequence[DecisionRow]:
        """Newest first; `before_seq` is the keyset cursor."""
        q = sa.select(decisions)
        if region_prefix:
            q = q.where(decisions.c.region_code.startswith(region_prefix))
        for col, value in (
            (decisions.c.kind, kind),
            (decisions.c.state, state),
            (decisions.c.subject_id, subject_id),
            (decisions.c.household_id, household_id),
        ):
            if value is not None:
                q = q.where(col == value)
        if as_of_from is not None:
            q = q.where(decisions.c.as_of >= as_of_from)
        if as_of_to is not None:
            q = q.where(decisions.c.as_of <= as_of_to)
        if before_seq is not None:
            q = q.where(decisions.c.seq < before_seq)
        q = q.order_by(decisions.c.seq.desc()).limit(limit)
        return (await self.session.execute(q)).all()
