"""Stored households as the use cases reach them (`application.ports.HouseholdRepository`):
one by id, insert-or-update by number, the latest evaluation, and who holds a member (by blind
index) — the PostgreSQL probe for a bulk import's chunk is here, with its planner workaround."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.flags_repo import flags_of
from services.identification.adapters.households import (
    HouseholdRecord,
    OutcomeRecording,
    StoredHousehold,
    UpsertOutcome,
    get_household,
    upsert_household,
)
from services.identification.adapters.orm import households, members
from shared.db import is_postgres
from shared.pii import FieldCipher

__all__ = ["HouseholdsRepository", "member_households"]


class HouseholdsRepository(OutcomeRecording):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, household_id: str, *, cipher: FieldCipher | None = None) -> StoredHousehold | None:
        return await get_household(self.session, household_id, cipher=cipher)

    async def upsert(self, cipher: FieldCipher, record: HouseholdRecord, *, source: str) -> UpsertOutcome:
        return await upsert_household(self.session, cipher, record, source=source)

    async def by_number(self, household_number: str) -> tuple[str, str] | None:
        """(id, region code) of the household with this register number."""
        stmt = sa.select(households.c.id, households.c.region_code).where(
            households.c.household_number == household_number
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (str(row.id), row.region_code)

    async def member_households(self, indexes: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        return await member_households(self.session, indexes)

    async def flags(self, household_id: str) -> list[dict[str, Any]]:
        """The negative-list flags other services raised, with their explanation."""
        return await flags_of(self.session, household_id)

    async def member_holders(self, indexes: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """`member_households` for a bulk import's chunk, run before the chunk is written (so
        that its own new members are not read back).

        PostgreSQL: one `= ANY` probe of the hash index for the whole chunk. During a bulk import
        the planner's statistics of `members` lag far behind (the table grows by a chunk per
        transaction; it estimated 40 % of the table for 500 values and scanned all of it, chunk
        after chunk: quadratic), so sequential scans are off for these statements (`SET LOCAL`,
        then on again)."""
        if not indexes:
            return {}
        session = self.session
        if not is_postgres(session.bind):
            return await member_households(session, indexes)
        await session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        try:
            rows = (
                await session.execute(
                    sa.text(
                        "SELECT id_number_index, household_id FROM members WHERE id_number_index = ANY(:i)"
                    ).bindparams(sa.bindparam("i", type_=ARRAY(sa.Text))),
                    {"i": list(dict.fromkeys(indexes))},
                )
            ).all()
            regions: dict[str, str] = {}
            if rows:
                found = sorted({r[1] for r in rows})
                stmt = sa.text("SELECT id, region_code FROM households WHERE id = ANY(:h)").bindparams(
                    sa.bindparam("h", type_=ARRAY(sa.Text))
                )
                regions = {r[0]: r[1] for r in (await session.execute(stmt, {"h": found})).all()}
        finally:
            await session.execute(sa.text("SET LOCAL enable_seqscan = on"))
        out: dict[str, list[tuple[str, str]]] = {}
        for idx, hid in sorted(rows, key=lambda r: r[1]):
            if hid in regions and (hid, regions[hid]) not in out.setdefault(idx, []):
                out[idx].append((hid, regions[hid]))
        return out


async def member_households(session: AsyncSession, indexes: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """blind index → every (household id, region code) holding a member with it."""
    out: dict[str, list[tuple[str, str]]] = {}
    wanted = list(dict.fromkeys(indexes))
    for i in range(0, len(wanted), 500):
        stmt = (
            sa.select(members.c.id_number_index, households.c.id, households.c.region_code)
            .join(households, households.c.id == members.c.household_id)
            .where(members.c.id_number_index.in_(wanted[i : i + 500]))
            .order_by(households.c.id)
        )
        for idx, hid, region in (await session.execute(stmt)).all():
            hits = out.setdefault(idx, [])
            if (hid, region) not in hits:
                hits.append((hid, region))
    return out
