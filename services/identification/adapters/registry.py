"""Queries of the household registry look-up (the officer console's household list): one keyset
page of a region's households with their latest outcome, signal warning, head and open case.

Nothing here decrypts personal data except `refresh_head_index` (which keeps only a keyed hash of
each head's name, for the exact name search of the roles that may see names); the page carries
the head's masked ID number and no name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.households import NAME_CONTEXT, StoredMember, find_members_by_id_number
from services.identification.adapters.orm import household_outcomes, households, members
from services.identification.adapters.orm_cases import cases, risk_warnings
from services.identification.adapters.orm_loops import household_loops
from services.identification.adapters.orm_registry import household_heads
from services.identification.application.monitoring_ports import (
    HOUSEHOLD_STATUSES,
    HouseholdHead,
    OpenCaseRef,
    OutcomeRowView,
    RedMarkRow,
    RegistryFilter,
    RegistryItem,
    RegistryPageRow,
    WarningRowView,
)
from shared.db import is_postgres
from shared.pii import FieldCipher

__all__ = [
    "HOUSEHOLD_STATUSES",
    "WARNING_COLOUR",
    "RegistryFilter",
    "RegistryQueries",
    "heads_named",
    "narrow",
    "page_items",
    "refresh_head_index",
    "registry_page",
]


#: The household's warning colour as statistics count it: a county officer's red mark (004 §三(二)
#: 红色标注) first, then a department signal's colour, then the screening's (application/statistics.py).
WARNING_COLOUR = sa.case(
    (household_loops.c.red_mark_reason.is_not(None), sa.literal("red")),
    else_=sa.func.coalesce(risk_warnings.c.colour, household_outcomes.c.warning),
)

_FROM = (
    households.outerjoin(household_outcomes, household_outcomes.c.household_id == households.c.id)
    .outerjoin(risk_warnings, risk_warnings.c.household_id == households.c.id)
    .outerjoin(household_loops, household_loops.c.household_id == households.c.id)
)


def _region_range(region: str) -> list[Any]:
    # a range, not LIKE: SQLite uses the (region_code, id) index for it whatever the collation
    if not region:
        return []
    return [households.c.region_code >= region, households.c.region_code < region + ":"]  # ":" follows "9"


def _number_prefix(prefix: str, postgres: bool) -> Any:
    """Household numbers starting with `prefix`: LIKE (escaped) is exact under any collation; on
    SQLite (binary collation) a range beside it lets the unique index serve."""
    starts = households.c.household_number.startswith(prefix, autoescape=True)
    if postgres:
        return starts
    return sa.and_(
        households.c.household_number >= prefix, households.c.household_number < prefix + "\U0010ffff", starts
    )


def _where(f: RegistryFilter, *, postgres: bool) -> list[Any]:
    where = _region_range(f.region)
    if f.state == "open_case":
        where.append(
            sa.exists().where(cases.c.household_id == households.c.id, cases.c.is_open.is_(True)).correlate(households)
        )
    elif f.state is not None:
        where.append(households.c.status == f.state)
    if f.warning is not None:
        where.append(f.warning == WARNING_COLOUR)
    if f.category is not None:
        where.append(household_outcomes.c.category == f.category)
    if f.number_prefix is not None:
        where.append(_number_prefix(f.number_prefix, postgres))
    if f.household_ids is not None:
        where.append(households.c.id.in_(list(f.household_ids)))
    if f.after is not None:
        where.append(sa.tuple_(households.c.region_code, households.c.id) > sa.tuple_(*f.after))
    return where


async def narrow(session: AsyncSession, f: RegistryFilter, *, cap: int = 5000) -> RegistryFilter:
    """`f` with `household_ids` set to a superset of its matches when one of its filters is
    selective (at most `cap` households anywhere): the page then reads those few households
    instead of walking the region's keyset until a page of rare matches is full (a county of
    100,000 with 4 red unstable-escaped households would otherwise be read whole)."""
    sets: list[set[str]] = []

    async def ids(stmt: Any) -> set[str] | None:
        found = set((await session.execute(stmt.limit(cap + 1))).scalars())
        return None if len(found) > cap else found

    probes: list[Any] = []
    if f.category is not None:
        probes.append([sa.select(household_outcomes.c.household_id).where(household_outcomes.c.category == f.category)])
    if f.warning is not None:  # the red mark's, else the signal's, else the screening's: any may say it
        probes.append(
            [
                sa.select(risk_warnings.c.household_id).where(risk_warnings.c.colour == f.warning),
                sa.select(household_outcomes.c.household_id).where(household_outcomes.c.warning == f.warning),
                *(
                    [sa.select(household_loops.c.household_id).where(household_loops.c.red_mark_reason.is_not(None))]
                    if f.warning == "red"
                    else []
                ),
            ]
        )
    if f.state == "open_case":
        probes.append([sa.select(cases.c.household_id).where(cases.c.is_open.is_(True))])
    if f.number_prefix is not None:
        probes.append([sa.select(households.c.id).where(_number_prefix(f.number_prefix, is_postgres(session.bind)))])
    for union in probes:
        found: set[str] | None = set()
        for stmt in union:
            part = await ids(stmt)
            if part is None or found is None:
                found = None
                break
            found |= part
        if found is not None and len(found) <= cap:
            sets.append(found)
    if not sets:
        return f
    chosen = set.intersection(*sets)
    if f.household_ids is not None:
        chosen &= set(f.household_ids)
    return replace(f, household_ids=sorted(chosen))


async def registry_page(session: AsyncSession, f: RegistryFilter, *, limit: int) -> list[RegistryPageRow]:
    """Up to `limit` + 1 household rows in (region_code, id) order (the extra one says there is more)."""
    stmt = (
        sa.select(
            households.c.id,
            households.c.household_number,
            households.c.region_code,
            households.c.status,
            households.c.updated_at,
            household_outcomes.c.category,
            household_outcomes.c.low_income_category,
            WARNING_COLOUR.label("warning"),
        )
        .select_from(_FROM)
        .where(*_where(f, postgres=is_postgres(session.bind)))
        .order_by(households.c.region_code, households.c.id)
        .limit(limit + 1)
    )
    return list((await session.execute(stmt)).all())


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time with its offset (SQLite keeps none: UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


async def page_items(session: AsyncSession, rows: Sequence[RegistryPageRow], *, today: dt.date) -> list[RegistryItem]:
    """The list items of `rows`: members count, head (masked ID number, no name), open case."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    counts: dict[str, int] = {}
    heads: dict[str, Any] = {}
    mstmt = sa.select(
        members.c.household_id,
        members.c.position,
        members.c.relation,
        members.c.sex,
        members.c.birth_date,
        members.c.id_number_masked,
    ).where(members.c.household_id.in_(ids))
    for m in (await session.execute(mstmt)).all():
        counts[m.household_id] = counts.get(m.household_id, 0) + 1
        seen = heads.get(m.household_id)
        # the member recorded as head; else the first one
        if (
            seen is None
            or (m.relation == "head") > (seen.relation == "head")
            or ((m.relation == "head") == (seen.relation == "head") and m.position < seen.position)
        ):
            heads[m.household_id] = m
    open_cases: dict[str, Any] = {}
    cstmt = sa.select(
        cases.c.household_id,
        cases.c.id,
        cases.c.procedure,
        cases.c.state,
        cases.c.deadline,
        cases.c.comparison_due,
    ).where(cases.c.household_id.in_(ids), cases.c.is_open.is_(True))
    for c in (await session.execute(cstmt)).all():
        open_cases[c.household_id] = c
    out = []
    for r in rows:
        head = heads.get(r.id)
        case = open_cases.get(r.id)
        out.append(
            RegistryItem(
                id=r.id,
                household_number=r.household_number,
                region_code=r.region_code,
                status=r.status,
                category=r.category,
                low_income_category=r.low_income_category,
                warning=r.warning,
                members=counts.get(r.id, 0),
                head=None
                if head is None
                else HouseholdHead(
                    relation=head.relation,
                    sex=head.sex,
                    birth_year=head.birth_date.year,
                    id_number_masked=head.id_number_masked,
                ),
                open_case=None
                if case is None
                else OpenCaseRef(
                    id=case.id,
                    procedure=case.procedure,
                    state=case.state,
                    deadline=case.deadline,
                    overdue=_overdue(today, case),
                ),
                updated_at=_aware(r.updated_at),
            )
        )
    return out


def _overdue(today: dt.date, case: Any) -> bool:
    # = domain.cases.is_overdue for an open case
    if case.deadline is not None and case.deadline < today:
        return True
    return case.state == "county_review" and case.comparison_due is not None and case.comparison_due < today


async def refresh_head_index(session: AsyncSession, cipher: FieldCipher, region: str) -> int:
    """Bring `household_heads` up to date for `region`: every household whose head has no
    entry for its current version gets one (its head's name decrypted here, only its keyed
    hash kept). Returns how many were written; the caller's unit of work commits."""
    # which households changed (a cheap anti-join on households alone), then only their heads
    changed = sa.select(households.c.id, households.c.version).select_from(
        households.outerjoin(household_heads, household_heads.c.household_id == households.c.id)
    )
    changed = changed.where(
        *_region_range(region),
        sa.or_(
            household_heads.c.household_id.is_(None),
            household_heads.c.household_version != households.c.version,
        ),
    )
    versions: dict[str, int] = {r[0]: r[1] for r in (await session.execute(changed)).all()}
    rows: dict[str, dict[str, Any]] = {}
    ids = list(versions)
    for i in range(0, len(ids), 500):
        heads = (
            sa.select(members.c.household_id, members.c.name_enc)
            .where(members.c.household_id.in_(ids[i : i + 500]), members.c.relation == "head")
            .order_by(members.c.household_id, members.c.position)
        )
        for hid, blob in (await session.execute(heads)).all():
            if hid not in rows:  # the first member recorded as head
                name = cipher.decrypt(blob, context=NAME_CONTEXT)
                rows[hid] = {
                    "household_id": hid,
                    "name_index": cipher.blind_index(name),
                    "household_version": versions[hid],
                }
    values = list(rows.values())
    insert = pg_insert if is_postgres(session.bind) else sqlite_insert
    for i in range(0, len(values), 2000):
        stmt_ins = insert(household_heads)
        upsert = stmt_ins.on_conflict_do_update(
            index_elements=["household_id"],
            set_={"name_index": stmt_ins.excluded.name_index, "household_version": stmt_ins.excluded.household_version},
        )
        await session.execute(upsert, values[i : i + 2000])
    return len(values)


async def heads_named(session: AsyncSession, cipher: FieldCipher, region: str, name: str, *, cap: int) -> list[str]:
    """Ids of the households of `region` whose head's name is exactly `name` (at most `cap`),
    by the blind index of `refresh_head_index` (entries of an older household version are
    ignored)."""
    stmt = (
        sa.select(households.c.id)
        .select_from(
            household_heads.join(
                households,
                sa.and_(
                    households.c.id == household_heads.c.household_id,
                    households.c.version == household_heads.c.household_version,
                ),
            )
        )
        .where(household_heads.c.name_index == cipher.blind_index(name), *_region_range(region))
        .limit(cap)
    )
    return list((await session.execute(stmt)).scalars())


class RegistryQueries:
    """The registry look-up's reads (and the name index it refreshes) in the unit of work's
    session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def refresh_head_index(self, cipher: FieldCipher, region: str) -> int:
        return await refresh_head_index(self.session, cipher, region)

    async def heads_named(self, cipher: FieldCipher, region: str, name: str, *, cap: int) -> list[str]:
        return await heads_named(self.session, cipher, region, name, cap=cap)

    async def narrow(self, f: RegistryFilter) -> RegistryFilter:
        return await narrow(self.session, f)

    async def page(self, f: RegistryFilter, *, limit: int) -> list[RegistryPageRow]:
        return await registry_page(self.session, f, limit=limit)

    async def page_items(self, rows: Sequence[RegistryPageRow], *, today: dt.date) -> list[RegistryItem]:
        return await page_items(self.session, rows, today=today)

    async def members_with_id_number(self, cipher: FieldCipher, id_number: str) -> list[StoredMember]:
        return await find_members_by_id_number(self.session, cipher, id_number)

    async def outcome(self, household_id: str) -> OutcomeRowView | None:
        """The household's latest outcome row (None before its first evaluation)."""
        stmt = sa.select(household_outcomes).where(household_outcomes.c.household_id == household_id)
        return (await self.session.execute(stmt)).first()

    async def signal_warning(self, household_id: str) -> WarningRowView | None:
        """The departments' signals' warning row of the household (None: none)."""
        return (
            await self.session.execute(sa.select(risk_warnings).where(risk_warnings.c.household_id == household_id))
        ).first()

    async def red_mark(self, household_id: str) -> RedMarkRow | None:
        """(red_mark_reason, red_marked_at) of a household marked red, else None."""
        stmt = sa.select(household_loops.c.red_mark_reason, household_loops.c.red_marked_at).where(
            household_loops.c.household_id == household_id, household_loops.c.red_mark_reason.is_not(None)
        )
        return (await self.session.execute(stmt)).first()
