"""Households and members at rest: upsert by household number (encrypting ID numbers, names and
phones with the service's `FieldCipher`, with a blind index and a masked copy), read back, look
members up by ID number, and page through a region for screenings.

Public (other use cases build on these; none of them commits — the unit of work does):

- `upsert_household(session, cipher, record, *, source=...) -> UpsertOutcome`
- `upsert_households(session, cipher, records, *, source=...) -> UpsertSummary` (bulk; COPY on PostgreSQL)
- `get_household(session, household_id, *, cipher=None) -> StoredHousehold | None`
- `find_members_by_id_number(session, cipher, id_number) -> list[StoredMember]`
- `iter_region_households(session, region, *, after=None, limit=...) -> list[StoredHousehold]`
- `HouseholdRecord` (what to store), `StoredHousehold.to_domain()` (the domain `Household`)

Encryption contexts (associated data): `members.id_number`, `members.name`, `households.phone`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.orm import households, members
from services.identification.api.schemas import HouseholdIn
from services.identification.domain.model import (
    Assets,
    DibaoStatus,
    DisabilityKind,
    Expenses,
    Household,
    Income,
    LaborCapacity,
    Member,
    RiskType,
    Schooling,
    residence_of_region,
)
from shared.db import is_postgres, utcnow
from shared.identifiers import id_birth_date, id_check_digit, id_sex
from shared.pii import FieldCipher, mask_id_number

__all__ = [
    "ID_NUMBER_CONTEXT",
    "NAME_CONTEXT",
    "PHONE_CONTEXT",
    "HouseholdRecord",
    "StoredHousehold",
    "StoredMember",
    "UpsertOutcome",
    "UpsertSummary",
    "facts_of",
    "find_members_by_id_number",
    "get_household",
    "iter_region_households",
    "new_household_id",
    "upsert_household",
    "upsert_households",
]

ID_NUMBER_CONTEXT = b"members.id_number"
NAME_CONTEXT = b"members.name"
PHONE_CONTEXT = b"households.phone"

_INCOME_KINDS = ("wage", "business", "property", "transfer", "insurance_claims", "exempt")
_EXPENSE_KINDS = ("compliant_oop_medical", "education", "employment_costs", "other_rigid")
_MEMBER_COLUMNS = (
    "household_id",
    "position",
    "id_number_enc",
    "id_number_index",
    "id_number_masked",
    "name_enc",
    "relation",
    "sex",
    "birth_date",
    "labor_capacity",
    "disability_grade",
    "disability_kind",
    "serious_illness",
    "schooling",
)
_HOUSEHOLD_COLUMNS = (
    "id",
    "household_number",
    "region_code",
    "escaped_poverty",
    "dibao_status",
    "phone_enc",
    "phone_index",
    "facts",
    "status",
    "category",
    "low_income_category",
    "warning",
    "per_capita_income",
    "assessed_at",
    "source",
    "version",
    "created_at",
    "updated_at",
    "content_hash",
)


@dataclass(frozen=True, slots=True)
class HouseholdRecord:
    """A household to store: its number (the provincial platform's key), village, the validated
    `HouseholdIn` and the contact phone."""

    household_number: str
    region_code: str
    household: HouseholdIn
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class UpsertOutcome:
    household_id: str
    outcome: str  # inserted | updated | unchanged


@dataclass
class UpsertSummary:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: household_number → household id, for every record of the call
    ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredMember:
    household_id: str
    position: int
    id_number_masked: str
    relation: str
    sex: str
    birth_date: dt.date
    labor_capacity: str
    disability_grade: int | None
    disability_kind: str | None
    serious_illness: bool
    schooling: str
    #: Clear values only when read with a cipher (never log them).
    id_number: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class StoredHousehold:
    id: str
    household_number: str
    region_code: str
    escaped_poverty: bool
    dibao_status: str
    status: str
    category: str | None
    low_income_category: str | None
    warning: str | None
    per_capita_income: Decimal | None
    version: int
    facts: dict[str, Any]
    members: tuple[StoredMember, ...]
    phone: str | None = None

    def to_domain(self) -> Household:
        """The domain household. Without decrypted ID numbers (read without a cipher) each member
        gets a stand-in number carrying only the stored birth date — all the rules use — so
        screenings never decrypt personal data."""
        ms = []
        for m in self.members:
            ms.append(
                Member(
                    id_number=m.id_number or _stand_in_id(m.birth_date, m.position),
                    name=m.name or f"member{m.position}",
                    relation=m.relation,
                    labor_capacity=LaborCapacity(m.labor_capacity),
                    disability_grade=m.disability_grade,
                    disability_kind=DisabilityKind(m.disability_kind) if m.disability_kind else None,
                    serious_illness=m.serious_illness,
                    schooling=Schooling(m.schooling),
                )
            )
        f = self.facts
        last = f.get("last_year_income")
        return Household(
            members=tuple(ms),
            income=_income(f.get("income") or {}),
            expenses=Expenses(**{k: Decimal(f.get("expenses", {}).get(k, "0")) for k in _EXPENSE_KINDS}),
            assets=Assets(**(f.get("assets") or {})),
            escaped_poverty=self.escaped_poverty,
            dibao_status=DibaoStatus(self.dibao_status),
            last_year_income=_income(last) if last else None,
            residence=residence_of_region(self.region_code),
            declared_risks=frozenset(RiskType(r) for r in f.get("declared_risks", ())),
        )


def _income(d: dict[str, Any]) -> Income:
    return Income(
        **{k: Decimal(d.get(k, "0")) for k in _INCOME_KINDS},
        unverified_earners=int(d.get("unverified_earners", 0)),
    )


_DIGIT_RUN = re.compile(r"[0-9]{11}")


def new_household_id() -> str:
    """A UUID4 without a run of 11 digits: event payloads carry household ids, and the outbox
    refuses anything that looks like a mobile number (shared.events.assert_no_personal_data)."""
    while True:
        value = str(uuid.uuid4())
        if not _DIGIT_RUN.search(value):
            return value


def _stand_in_id(born: dt.date, position: int) -> str:
    first17 = f"000000{born:%Y%m%d}{position % 1000:03d}"
    return first17 + id_check_digit(first17)


def facts_of(household: HouseholdIn) -> dict[str, Any]:
    """The non-personal facts kept as JSON: income, expenses, last year's income, assets, declared risks."""
    dumped = household.model_dump(mode="json", include={"income", "expenses", "last_year_income", "assets"})
    dumped["declared_risks"] = [str(r) for r in household.declared_risks]
    return dumped


def _content_hash(cipher: FieldCipher, record: HouseholdRecord) -> str:
    body = {
        "n": record.household_number,
        "r": record.region_code,
        "p": record.phone,
        "h": record.household.model_dump(mode="json"),
    }
    # keyed (blind-index key): the hash of a record with ID numbers must not be guessable
    return cipher.blind_index(json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


def _household_row(
    cipher: FieldCipher, record: HouseholdRecord, hid: str, digest: str, now: dt.datetime, source: str
) -> dict[str, Any]:
    h = record.household
    return {
        "id": hid,
        "household_number": record.household_number,
        "region_code": record.region_code,
        "escaped_poverty": h.escaped_poverty,
        "dibao_status": str(h.dibao_status),
        "phone_enc": cipher.encrypt(record.phone, context=PHONE_CONTEXT) if record.phone else None,
        "phone_index": cipher.blind_index(record.phone) if record.phone else None,
        "facts": json.dumps(facts_of(h), ensure_ascii=False, separators=(",", ":")),
        "status": "registered",
        "category": None,
        "low_income_category": None,
        "warning": None,
        "per_capita_income": None,
        "assessed_at": None,
        "source": source,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "content_hash": digest,
    }


def _member_rows(cipher: FieldCipher, hid: str, household: HouseholdIn) -> list[dict[str, Any]]:
    out = []
    for i, m in enumerate(household.members):
        out.append(
            {
                "household_id": hid,
                "position": i,
                "id_number_enc": cipher.encrypt(m.id_number, context=ID_NUMBER_CONTEXT),
                "id_number_index": cipher.blind_index(m.id_number),
                "id_number_masked": mask_id_number(m.id_number),
                "name_enc": cipher.encrypt(m.name, context=NAME_CONTEXT),
                "relation": m.relation,
                "sex": id_sex(m.id_number),
                "birth_date": id_birth_date(m.id_number),
                "labor_capacity": str(m.labor_capacity),
                "disability_grade": m.disability_grade,
                "disability_kind": None if m.disability_kind is None else str(m.disability_kind),
                "serious_illness": m.serious_illness,
                "schooling": str(m.schooling),
            }
        )
    return out


async def _copy_rows(
    session: AsyncSession, table: sa.Table, columns: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    """PostgreSQL: COPY through asyncpg inside the unit of work's transaction."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    apg = raw.driver_connection
    assert apg is not None
    await apg.copy_records_to_table(
        table.name, records=[tuple(r[c] for c in columns) for r in rows], columns=list(columns)
    )


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
    summary = UpsertSummary()
    if not records:
        return summary
    latest: dict[str, HouseholdRecord] = {}
    for r in records:
        latest[r.household_number] = r
    existing = {
        row.household_number: (row.id, row.content_hash, row.version)
        for row in (
            await session.execute(
                sa.select(
                    households.c.household_number, households.c.id, households.c.content_hash, households.c.version
                ).where(households.c.household_number.in_(list(latest)))
            )
        ).all()
    }
    now = utcnow()
    new_households: list[dict[str, Any]] = []
    new_members: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for number, record in latest.items():
        digest = _content_hash(cipher, record)
        found = existing.get(number)
        if found is not None and found[1] == digest:
            summary.unchanged += 1
            summary.ids[number] = found[0]
            continue
        hid = found[0] if found is not None else new_household_id()
        summary.ids[number] = hid
        row = _household_row(cipher, record, hid, digest, now, source)
        new_members.extend(_member_rows(cipher, hid, record.household))
        if found is None:
            new_households.append(row)
            summary.inserted += 1
        else:
            upd = {
                f"b_{k}": row[k]
                for k in (
                    "region_code",
                    "escaped_poverty",
                    "dibao_status",
                    "phone_enc",
                    "phone_index",
                    "facts",
                    "content_hash",
                )
            }
            upd |= {"b_id": hid, "b_updated_at": now, "b_version": found[2] + 1}
            updates.append(upd)
            summary.updated += 1
    if updates:
        await session.execute(
            sa.update(households)
            .where(households.c.id == sa.bindparam("b_id"))
            .values(
                region_code=sa.bindparam("b_region_code"),
                escaped_poverty=sa.bindparam("b_escaped_poverty"),
                dibao_status=sa.bindparam("b_dibao_status"),
                phone_enc=sa.bindparam("b_phone_enc"),
                phone_index=sa.bindparam("b_phone_index"),
                facts=sa.bindparam("b_facts"),
                content_hash=sa.bindparam("b_content_hash"),
                updated_at=sa.bindparam("b_updated_at"),
                version=sa.bindparam("b_version"),
            )
            .execution_options(synchronize_session=False),
            updates,
        )
        await session.execute(sa.delete(members).where(members.c.household_id.in_([u["b_id"] for u in updates])))
    if is_postgres(session.bind):
        if new_households:
            await _copy_rows(session, households, _HOUSEHOLD_COLUMNS, new_households)
        if new_members:
            await _copy_rows(session, members, _MEMBER_COLUMNS, new_members)
    else:
        if new_households:
            await session.execute(sa.insert(households), new_households)
        if new_members:
            await session.execute(sa.insert(members), new_members)
    return summary


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


async def get_household(
    session: AsyncSession, household_id: str, *, cipher: FieldCipher | None = None
) -> StoredHousehold | None:
    """One household with its members in order; ID numbers, names and phone decrypted only when
    `cipher` is given (check the caller's jurisdiction on `region_code` before showing it)."""
    row = (await session.execute(sa.select(households).where(households.c.id == household_id))).first()
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
    stmt = sa.select(households).where(region_filter(region))
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
