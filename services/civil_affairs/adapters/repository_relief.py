"""Relief requests and payment orders in the database, inside a unit of work's session (never
commits). Amounts cross this boundary as whole fen; updates are conditional on the version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.civil_affairs.application.ports import ReliefPaymentRow, ReliefRequestRow

from .orm_relief import relief_payments, relief_requests

__all__ = ["ReliefRepository"]


class ReliefRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, row: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(relief_requests).values(**row))

    async def get(self, request_id: str) -> ReliefRequestRow | None:
        q = sa.select(relief_requests).where(relief_requests.c.id == request_id)
        return (await self.session.execute(q)).first()

    async def update(self, request_id: str, version: int, values: dict[str, Any]) -> bool:
        """False when someone else changed the request first."""
        res = await self.session.execute(
            sa.update(relief_requests)
            .where(relief_requests.c.id == request_id, relief_requests.c.version == version)
            .values(**values, version=version + 1)
        )
        return _rows(res) == 1

    async def list(
        self,
        *,
        region_prefix: str,
        state: str | None = None,
        household_id: str | None = None,
        submitted_by: str | None = None,
        overdue_on: Any | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> Sequence[ReliefRequestRow]:
        """Newest first (keyset cursor `before_seq`); `overdue_on`: reliefs paid first whose
        paperwork was due before that day."""
        q = sa.select(relief_requests)
        if region_prefix:
            q = q.where(relief_requests.c.region_code.startswith(region_prefix))
        for col, value in (
            (relief_requests.c.state, state),
            (relief_requests.c.household_id, household_id),
            (relief_requests.c.submitted_by, submitted_by),
        ):
            if value is not None:
                q = q.where(col == value)
        if overdue_on is not None:
            q = q.where(relief_requests.c.state == "relief_first", relief_requests.c.paperwork_due_on < overdue_on)
        if before_seq is not None:
            q = q.where(relief_requests.c.seq < before_seq)
        return (await self.session.execute(q.order_by(relief_requests.c.seq.desc()).limit(limit))).all()

    # --- payment orders ------------------------------------------------------------------

    async def insert_payment(self, row: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(relief_payments).values(**row))

    async def payments(self, request_id: str) -> Sequence[ReliefPaymentRow]:
        q = (
            sa.select(relief_payments)
            .where(relief_payments.c.request_id == request_id)
            .order_by(relief_payments.c.ordered_at, relief_payments.c.payment_id)
        )
        return (await self.session.execute(q)).all()

    async def mark_payment(self, payment_id: str, values: dict[str, Any]) -> bool:
        """Record subsidy's answer on an order still `ordered` (False: unknown or already answered)."""
        res = await self.session.execute(
            sa.update(relief_payments)
            .where(relief_payments.c.payment_id == payment_id, relief_payments.c.status == "ordered")
            .values(**values)
        )
        return _rows(res) == 1


def _rows(res: Any) -> int:
    """The rows an UPDATE matched: a DML statement's result is a `CursorResult` (the session's
    `execute` is typed as returning a plain `Result`)."""
    return cast(sa.CursorResult[Any], res).rowcount
