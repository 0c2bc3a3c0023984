"""Households and members at rest: upsert by household number (encrypting ID numbers, names and
phones with the service's `FieldCipher`, with a blind index and a masked copy), read back, look
members up by ID number, and page through a region for screenings.

Public (other use cases build on these; none of them commits — the unit of work does):

- `upsert_household(session, cipher, record, *, source=...) -> UpsertOutcome`
- `upsert_households(session, cipher, records, *, source=...) -> UpsertSummary` (bulk; COPY on PostgreSQL)
- `RowEncoder(...).encode_many(canonical households) -> PreparedBatch` (CPU only: the import's
  worker processes run it; defined in `household_rows`, which has no database code) and
  `write_prepared(session, batch) -> UpsertSummary` (the writing)
- `get_household(session, household_id, *, cipher=None) -> StoredHousehold | None`
- `find_members_by_id_number(session, cipher, id_number) -> list[StoredMember]`
- `iter_region_households(session, region, *, after=None, limit=...) -> list[StoredHousehold]`
- `HouseholdRecord` (what to store), `StoredHousehold.to_domain()` (the domain `Household`)

Encryption contexts (associated data): `members.id_number`, `members.name`, `households.phone`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.household_rows import (
    HOUSEHOLD_UPDATE as _HOUSEHOLD_UPDATE,
)
from services.identification.adapters.household_rows import (
    HOUSEHOLD_WRITE as _HOUSEHOLD_WRITE,
)
from services.identification.adapters.household_rows import (
    ID_NUMBER_CONTEXT,
    NAME_CONTEXT,
    PHONE_CONTEXT,
    PreparedBatch,
    RowEncoder,
    _facts,
    copy_escape,
    facts_json,
    new_household_ids,
)
from services.identification.adapters.household_rows import (
    MEMBER_COLUMNS as _MEMBER_COLUMNS,
)
from services.identification.adapters.orm import household_outcomes, households, members
from services.identification.application.household_input import HouseholdIn
from services.identification.application.stored import (
    HouseholdRecord,
    StoredHousehold,
    StoredMember,
    UpsertOutcome,
    UpsertSummary,
)
from shared.db import is_postgres, utcnow
from shared.identifiers import region_within
from shared.pii import FieldCipher

__all__ = [
    "ID_NUMBER_CONTEXT",
    "NAME_CONTEXT",
    "PHONE_CONTEXT",
    "HouseholdRecord",
    "PreparedBatch",
    "RowEncoder",
    "StoredHousehold",
    "StoredMember",
    "UpsertOutcome",
    "UpsertSummary",
    "copy_escape",
    "facts_json",
    "facts_of",
    "find_members_by_id_number",
    "get_household",
    "iter_region_households",
    "new_household_id",
    "new_household_ids",
    "upsert_household",
    "upsert_households",
    "write_prepared",
]


def new_household_id() -> str:
    """A household id: see `new_household_ids`."""
    return new_household_ids(1)[0]


def facts_of(household: HouseholdIn) -> dict[str, Any]:
    """The non-personal facts kept as JSON: income, expenses, last year's income, assets, declared risks."""
    return _facts(household.model_dump(mode="json"))


def _canonical(record: HouseholdRecord) -> dict[str, Any]:
    canon = record.household.model_dump(mode="json")
    canon.update(household_number=record.household_number, region_code=record.region_code, phone=record.phone)
    return canon


async def _raw(session: AsyncSession) -> Any:
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def write_prepared(session: AsyncSession, batch: PreparedBatch, *, within: str | None = None) -> UpsertSummary:
    """Upsert a prepared batch by household number in the session's transaction: new households
    COPYed (PostgreSQL) or inserted with executemany (SQLite); unchanged ones (same content hash)
    not touched; changed ones updated (`version` + 1) and their members replaced, keeping their
    id. With `within` (the caller's region), a number that belongs to a household outside it is
    not written at all (`summary.conflicts`): matching happens only inside the jurisdiction.
    A concurrent import that inserted one of the numbers first makes this raise (a unique
    violation): run the batch again in a new transaction. The caller commits."""
    summary = UpsertSummary()
    if not batch.numbers:
        return summary
    if batch.postgres:
        # through SQLAlchemy first: it opens the transaction that the raw COPYs below then join
        found = (
            await session.execute(
                sa.text(
                    "SELECT household_number, id, content_hash, region_code FROM households "
                    "WHERE household_number = ANY(:n)"
                ).bindparams(sa.bindparam("n", type_=ARRAY(sa.Text))),
                {"n": batch.numbers},
            )
        ).all()
        apg = await _raw(session)
    else:
        found = []
        for i in range(0, len(batch.numbers), 500):
            found += (
                await session.execute(
                    sa.select(
                        households.c.household_number,
                        households.c.id,
                        households.c.content_hash,
                        households.c.region_code,
                    ).where(households.c.household_number.in_(batch.numbers[i : i + 500]))
                )
            ).all()
    existing = {r[0]: (r[1], r[2], r[3]) for r in found}
    new_h, new_m, changed_h, changed_m, changed_ids = [], [], [], [], []
    for pos, (number, digest, hid, hrow, mrows) in enumerate(
        zip(batch.numbers, batch.hashes, batch.ids, batch.households, batch.members, strict=True)
    ):
        old = existing.get(number)
        if old is not None and within is not None and not region_within(old[2], within):
            summary.conflicts.append((pos, old[0], old[2]))
            summary.written.append(None)
            continue
        if old is None:
            summary.inserted += 1
            summary.ids[number] = hid
            summary.written.append(hid)
            new_h.append(hrow)
            new_m.append(mrows)
        elif old[1] == digest:
            summary.unchanged += 1
            summary.ids[number] = old[0]
            summary.written.append(None)
        else:
            summary.updated += 1
            summary.ids[number] = old[0]
            summary.written.append(old[0])
            changed_ids.append(old[0])
            if batch.postgres:
                changed_h.append(hrow)
                changed_m.append(mrows.replace(hid, old[0]))
            else:
                changed_h.append(hrow)
                changed_m.append([(old[0], *m[1:]) for m in mrows])
    if batch.postgres:
        await _write_pg(apg, new_h, new_m, changed_h, changed_m, changed_ids)
    else:
        await _write_sqlite(session, new_h, new_m, changed_h, changed_m, changed_ids)
    return summary


async def _copy_text(apg: Any, table: str, columns: Sequence[str], lines: list[str]) -> None:
    data = "".join(lines).encode()
    await apg.copy_to_table(table, source=io.BytesIO(data), columns=list(columns), format="text")


async def _write_pg(
    apg: Any, new_h: list[str], new_m: list[str], changed_h: list[str], changed_m: list[str], changed_ids: list[str]
) -> None:
    if changed_h:
        await apg.execute("CREATE TEMP TABLE IF NOT EXISTS households_stage (LIKE households) ON COMMIT DELETE ROWS")
        await _copy_text(apg, "households_stage", _HOUSEHOLD_WRITE, changed_h)
        await apg.execute("ANALYZE households_stage")
        sets = ", ".join(f"{c} = s.{c}" for c in _HOUSEHOLD_UPDATE)
        await apg.execute(
            f"UPDATE households h SET {sets}, updated_at = s.updated_at, version = h.version + 1 "
            "FROM households_stage s WHERE h.household_number = s.household_number"
        )
        await apg.execute("DELETE FROM members WHERE household_id = ANY($1::text[])", changed_ids)
    if new_h:
        await _copy_text(apg, "households", _HOUSEHOLD_WRITE, new_h)
    if new_m or changed_m:
        await _copy_text(apg, "members", _MEMBER_COLUMNS, new_m + changed_m)


async def _write_sqlite(
    session: AsyncSession,
    new_h: list[tuple[Any, ...]],
    new_m: list[list[tuple[Any, ...]]],
    changed_h: list[tuple[Any, ...]],
    changed_m: list[list[tuple[Any, ...]]],
    changed_ids: list[str],
) -> None:
    conn = await session.connection()
    if changed_h:
        pos = {c: i for i, c in enumerate(_HOUSEHOLD_WRITE)}
        sets = ", ".join(f"{c} = ?" for c in _HOUSEHOLD_UPDATE)
        await conn.exec_driver_sql(
            f"UPDATE households SET {sets}, updated_at = ?, version = version + 1 WHERE id = ?",
            [
                (*(r[pos[c]] for c in _HOUSEHOLD_UPDATE), r[pos["updated_at"]], hid)
                for r, hid in zip(changed_h, changed_ids, strict=True)
            ],
        )
        for i in range(0, len(changed_ids), 500):
            await session.execute(sa.delete(members).where(members.c.household_id.in_(changed_ids[i : i + 500])))
    if new_h:
        marks = ", ".join("?" * len(_HOUSEHOLD_WRITE))
        await conn.exec_driver_sql(f"INSERT INTO households ({', '.join(_HOUSEHOLD_WRITE)}) VALUES ({marks})", new_h)
    rows = [m for ms in new_m for m in ms] + [m for ms in changed_m for m in ms]
    if rows:
        marks = ", ".join("?" * len(_MEMBER_COLUMNS))
        await conn.exec_driver_sql(f"INSERT INTO members ({', '.join(_MEMBER_COLUMNS)}) VALUES ({marks})", rows)


async def upsert_households(
    session: AsyncSession,
    cipher: FieldCipher,
    records: Sequence[HouseholdRecord],
    *,
    source: str = "import",
) -> UpsertSummary:
    """Insert or update many households by `household_number` (the last record wins within a
    call). Unchanged records (same keyed content hash) are not touched at all, so re-sending a
    file changes nothing; changed ones are updated, their members replaced, `version` + 1.
    Uses COPY on PostgreSQL and executemany on SQLite. The caller commits."""
    if not records:
        return UpsertSummary()
    encoder = RowEncoder.for_cipher(cipher, postgres=is_postgres(session.bind), source=source, now=utcnow())
    return await write_prepared(session, encoder.encode_many([_canonical(r) for r in records]))


async def upsert_household(
    session: AsyncSession,
    cipher: FieldCipher,
    record: HouseholdRecord,
    *,
    source: str = "application",
) -> UpsertOutcome:
    """Insert or update one household by `record.household_number`; returns its id and whether it
    was inserted, updated or unchanged. The caller commits (one unit of work)."""
    summary = await upsert_households(session, cipher, [record], source=source)
    outcome = "inserted" if summary.inserted else "updated" if summary.updated else "unchanged"
    return UpsertOutcome(summary.ids[record.household_number], outcome)


def _member_of(row: Any, cipher: FieldCipher | None) -> StoredMember:
    return StoredMember(
        household_id=row.household_id,
        position=row.position,
        id_number_masked=row.id_number_masked,
        relation=row.relation,
        sex=row.sex,
        birth_date=row.birth_date,
        labor_capacity=row.labor_capacity,
        disability_grade=row.disability_grade,
        disability_kind=row.disability_kind,
        serious_illness=bool(row.serious_illness),
        schooling=row.schooling,
        id_number=cipher.decrypt(row.id_number_enc, context=ID_NUMBER_CONTEXT) if cipher else None,
        name=cipher.decrypt(row.name_enc, context=NAME_CONTEXT) if cipher else None,
    )


def _household_of(row: Any, ms: Sequence[StoredMember], cipher: FieldCipher | None) -> StoredHousehold:
    return StoredHousehold(
        id=row.id,
        household_number=row.household_number,
        region_code=row.region_code,
        escaped_poverty=bool(row.escaped_poverty),
        dibao_status=row.dibao_status,
        status=row.status,
        category=row.category,
        low_income_category=row.low_income_category,
        warning=row.warning,
        per_capita_income=None if row.per_capita_income is None else Decimal(row.per_capita_income),
        version=row.version,
        facts=json.loads(row.facts),
        members=tuple(ms),
        phone=cipher.decrypt(row.phone_enc, context=PHONE_CONTEXT) if cipher and row.phone_enc else None,
    )


_MEMBER_SELECT = [c for c in members.c if c.name != "id"]
#: a household with its latest outcome (None before its first evaluation)
_WITH_OUTCOME = sa.select(
    households,
    household_outcomes.c.category,
    household_outcomes.c.low_income_category,
    household_outcomes.c.warning,
    household_outcomes.c.per_capita_income,
).select_from(households.outerjoin(household_outcomes, household_outcomes.c.household_id == households.c.id))


async def record_outcome(
    session: AsyncSession,
    household_id: str,
    *,
    category: str | None,
    low_income_category: str | None,
    warning: str | None,
    per_capita_income: Decimal,
    as_of: dt.date,
    policy_id: str,
    policy_version: str,
) -> None:
    """Store the latest evaluation of one household (an application's assessment), replacing the
    previous one. Screenings write theirs in bulk (adapters/screening_repo.py)."""
    values = {
        "category": category,
        "low_income_category": low_income_category,
        "warning": warning,
        "per_capita_income": per_capita_income,
        "assessed_at": utcnow(),
        "as_of": as_of,
        "policy_id": policy_id,
        "policy_version": policy_version,
        "screening_job_id": None,
    }
    insert = pg_insert if is_postgres(session.bind) else sqlite_insert
    stmt = insert(household_outcomes).values(household_id=household_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["household_id"], set_=values))


async def get_household(
    session: AsyncSession, household_id: str, *, cipher: FieldCipher | None = None
) -> StoredHousehold | None:
    """One household with its members in order; ID numbers, names and phone decrypted only when
    `cipher` is given (check the caller's jurisdiction on `region_code` before showing it)."""
    row = (await session.execute(_WITH_OUTCOME.where(households.c.id == household_id))).first()
    if row is None:
        return None
    mrows = (
        await session.execute(
            sa.select(*_MEMBER_SELECT).where(members.c.household_id == household_id).order_by(members.c.position)
        )
    ).all()
    return _household_of(row, [_member_of(m, cipher) for m in mrows], cipher)


async def find_members_by_id_number(session: AsyncSession, cipher: FieldCipher, id_number: str) -> list[StoredMember]:
    """Every stored member with this resident ID number (blind-index look-up, no decryption of
    other rows), clear values decrypted. Pair with `get_household` for the household."""
    rows = (
        await session.execute(
            sa.select(*_MEMBER_SELECT).where(members.c.id_number_index == cipher.blind_index(id_number))
        )
    ).all()
    return [_member_of(r, cipher) for r in rows]


def region_filter(region: str) -> Any:
    """Households inside `region` (a 2–12 digit prefix; empty: everywhere)."""
    return sa.true() if region == "" else households.c.region_code.like(f"{region}%")


async def iter_region_households(
    session: AsyncSession, region: str, *, after: tuple[str, str] | None = None, limit: int = 1000
) -> list[StoredHousehold]:
    """The next `limit` households of `region` in (region_code, id) order after the keyset
    `after`, with members but without decrypting anything (for screenings and simulations)."""
    stmt = _WITH_OUTCOME.where(region_filter(region))
    if after is not None:
        stmt = stmt.where(sa.tuple_(households.c.region_code, households.c.id) > sa.tuple_(*after))
    rows = (await session.execute(stmt.order_by(households.c.region_code, households.c.id).limit(limit))).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    by_household: dict[str, list[StoredMember]] = {i: [] for i in ids}
    mrows = (
        await session.execute(
            sa.select(*[c for c in _MEMBER_SELECT if c.name not in ("id_number_enc", "name_enc")])
            .add_columns(sa.literal(None).label("id_number_enc"), sa.literal(None).label("name_enc"))
            .where(members.c.household_id.in_(ids))
            .order_by(members.c.household_id, members.c.position)
        )
    ).all()
    for m in mrows:
        by_household[m.household_id].append(_member_of(m, None))
    return [_household_of(r, by_household[r.id], None) for r in rows]


class OutcomeRecording:
    """`record_outcome` as a repository method (the households and the loops repositories both
    write a household's evaluation)."""

    session: AsyncSession

    async def record_outcome(
        self,
        household_id: str,
        *,
        category: str | None,
        low_income_category: str | None,
        warning: str | None,
        per_capita_income: Decimal,
        as_of: dt.date,
        policy_id: str,
        policy_version: str,
    ) -> None:
        await record_outcome(
            self.session,
            household_id,
            category=category,
            low_income_category=low_income_category,
            warning=warning,
            per_capita_income=per_capita_income,
            as_of=as_of,
            policy_id=policy_id,
            policy_version=policy_version,
        )
