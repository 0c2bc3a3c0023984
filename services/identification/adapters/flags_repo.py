"""SQL of negative-list flags (`application.ports.FlagRepository`): the flag rows, and the
household's facts and screening profile rewritten with the flag set (inside the caller's
transaction; the household row locked first on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import is_postgres

from .orm import households
from .orm_flags import household_flags

__all__ = ["FlagsRepository", "flag_exists", "flags_of", "insert_flag", "lock_household", "store_facts"]


class FlagsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_household(self, household_id: str) -> None:
        await lock_household(self.session, household_id)

    async def exists(self, household_id: str, code: str, person_ref: str) -> bool:
        return await flag_exists(self.session, household_id, code, person_ref)

    async def add(self, row: dict[str, Any]) -> None:
        await insert_flag(self.session, row)

    async def store_facts(self, household_id: str, facts: dict[str, Any], profile: Any, at: dt.datetime) -> None:
        await store_facts(self.session, household_id, facts, profile, at)


async def lock_household(session: AsyncSession, household_id: str) -> None:
    if is_postgres(session.bind):
        await session.execute(sa.select(households.c.id).where(households.c.id == household_id).with_for_update())


async def flag_exists(session: AsyncSession, household_id: str, code: str, person_ref: str) -> bool:
    q = sa.select(household_flags.c.code).where(
        household_flags.c.household_id == household_id,
        household_flags.c.code == code,
        household_flags.c.person_ref == person_ref,
    )
    return (await session.execute(q)).first() is not None


async def insert_flag(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(sa.insert(household_flags).values(**row))


async def store_facts(
    session: AsyncSession, household_id: str, facts: dict[str, Any], profile: Any, at: dt.datetime
) -> None:
    await session.execute(
        sa.update(households)
        .where(households.c.id == household_id)
        .values(
            facts=json.dumps(facts, ensure_ascii=False, separators=(",", ":")),
            screening_profile=profile,
            content_hash=None,  # an import of the old record must not count as unchanged
            version=households.c.version + 1,
            updated_at=at,
        )
    )


async def flags_of(session: AsyncSession, household_id: str) -> list[dict[str, Any]]:
    q = (
        sa.select(household_flags)
        .where(household_flags.c.household_id == household_id)
        .order_by(household_flags.c.recorded_at, household_flags.c.code, household_flags.c.person_ref)
    )
    return [
        {
            "code": r.code,
            "person_ref": r.person_ref,
            "rule": r.rule,
            "source": r.source,
            "detail": r.detail,
            "evidence": json.loads(r.evidence),
            "recorded_at": r.recorded_at.isoformat(),
        }
        for r in (await session.execute(q)).all()
    ]
