"""SQL of the national monitoring system export: runs and their lease, the per-county cursor, the
changed households of a county (keyset pages, members decrypted for the file), staged rows and
the exported-row hashes. None of these commit (the unit of work does)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.audit import record_unmasked_read
from services.identification.adapters.households import ID_NUMBER_CONTEXT, NAME_CONTEXT
from services.identification.adapters.jobs import Job, create_job, get_job, save_progress
from services.identification.adapters.orm import household_outcomes, households, members
from services.identification.adapters.orm_cases import cases
from services.identification.adapters.orm_loops import household_measures
from services.identification.adapters.orm_national_sync import (
    national_sync_cursors,
    national_sync_days,
    national_sync_exported,
    national_sync_rows,
    national_sync_runs,
)
from services.identification.application.monitoring_ports import ROW_CONTEXT, Candidate, Run, StagedRow
from services.identification.domain.national_format import HouseholdMoney, NationalMember
from shared.db import is_postgres, utcnow
from shared.pii import FieldCipher

__all__ = [
    "ROW_CONTEXT",
    "Candidate",
    "NationalSyncRepository",
    "Run",
    "StagedRow",
    "candidates",
    "claim_day",
    "claim_run",
    "complete_run",
    "count_candidates",
    "counties_in",
    "create_run",
    "exported_hashes",
    "get_cursor",
    "get_run",
    "list_runs",
    "removals",
    "set_day_run",
    "set_phase",
    "stage_rows",
    "staged_page",
    "still_holds",
]


def _rowcount(result: sa.Result[Any]) -> int:
    """The rows an UPDATE / INSERT changed (`execute` is typed as returning a plain Result)."""
    return cast("CursorResult[Any]", result).rowcount


def _aware(v: dt.datetime | None) -> dt.datetime | None:
    return None if v is None else v if v.tzinfo else v.replace(tzinfo=dt.UTC)


def _run(row: Any) -> Run:
    return Run(
        id=row.id,
        county=row.county,
        sequence=row.sequence,
        full=bool(row.full),
        status=row.status,
        since=_aware(row.since),
        until=_aware(row.until) or row.until,
        period=row.period,
        file_name=row.file_name,
        phase=row.phase,
        households=row.households,
        checksum=row.checksum,
        bytes=row.bytes,
        created_by=row.created_by,
        claimed_by=row.claimed_by,
        created_at=_aware(row.created_at) or row.created_at,
        finished_at=_aware(row.finished_at),
    )


async def counties_in(session: AsyncSession, region: str) -> list[str]:
    """The counties (6-digit codes) with households inside `region` (a 2–6 digit prefix)."""
    county = sa.func.substr(households.c.region_code, 1, 6)
    stmt = sa.select(county).where(households.c.region_code.like(f"{region}%")).group_by(county).order_by(county)
    return [str(c) for c in (await session.execute(stmt)).scalars()]


async def get_cursor(session: AsyncSession, county: str) -> tuple[int, dt.datetime | None]:
    """(last sequence, last completed run's `until`) of the county; (0, None) before its first."""
    row = (
        await session.execute(sa.select(national_sync_cursors).where(national_sync_cursors.c.county == county))
    ).first()
    return (0, None) if row is None else (row.last_sequence, _aware(row.last_until))


async def running_run(session: AsyncSession, county: str) -> Run | None:
    row = (
        await session.execute(
            sa.select(national_sync_runs).where(
                national_sync_runs.c.county == county, national_sync_runs.c.status == "running"
            )
        )
    ).first()
    return None if row is None else _run(row)


async def create_run(session: AsyncSession, values: dict[str, Any]) -> tuple[Run, bool]:
    """Insert a running run for `values["county"]`, or return the county's running one (False)."""
    existing = await running_run(session, values["county"])
    if existing is not None:
        return existing, False
    try:
        async with session.begin_nested():
            await session.execute(sa.insert(national_sync_runs).values(**values))
    except IntegrityError:  # a concurrent request inserted it first
        found = await running_run(session, values["county"])
        if found is None:
            raise
        return found, False
    run = await get_run(session, values["id"])
    assert run is not None
    return run, True


async def get_run(session: AsyncSession, run_id: str) -> Run | None:
    row = (await session.execute(sa.select(national_sync_runs).where(national_sync_runs.c.id == run_id))).first()
    return None if row is None else _run(row)


async def list_runs(
    session: AsyncSession, region: str, *, county: str | None, status: str | None, limit: int
) -> list[Run]:
    stmt = sa.select(national_sync_runs).where(national_sync_runs.c.county.like(f"{region}%"))
    if county:
        stmt = stmt.where(national_sync_runs.c.county == county)
    if status:
        stmt = stmt.where(national_sync_runs.c.status == status)
    stmt = stmt.order_by(national_sync_runs.c.created_at.desc(), national_sync_runs.c.id.desc()).limit(limit)
    return [_run(r) for r in (await session.execute(stmt))]


async def claim_run(session: AsyncSession, *, replica: str, lease: dt.timedelta) -> Run | None:
    """A running run nobody holds (or whose lease ran out, or that this replica held before a
    restart), leased to `replica`. PostgreSQL: `FOR UPDATE SKIP LOCKED`."""
    now = utcnow()
    pick = (
        sa.select(national_sync_runs.c.id)
        .where(
            national_sync_runs.c.status == "running",
            sa.or_(
                national_sync_runs.c.claimed_by.is_(None),
                national_sync_runs.c.claimed_by == replica,
                national_sync_runs.c.lease_until < now,
            ),
        )
        .order_by(national_sync_runs.c.created_at, national_sync_runs.c.id)
        .limit(1)
    )
    if is_postgres(session.bind):
        pick = pick.with_for_update(skip_locked=True)
    run_id = (await session.execute(pick)).scalar_one_or_none()
    if run_id is None:
        return None
    await session.execute(
        sa.update(national_sync_runs)
        .where(national_sync_runs.c.id == run_id)
        .values(claimed_by=replica, lease_until=now + lease)
    )
    return await get_run(session, run_id)


async def still_holds(session: AsyncSession, run_id: str, *, replica: str, lease: dt.timedelta) -> bool:
    """Extend the lease if `replica` still holds the running run (first statement of a chunk's
    transaction: it locks the row, so a replica whose lease ran out cannot commit a chunk too)."""
    done = await session.execute(
        sa.update(national_sync_runs)
        .where(
            national_sync_runs.c.id == run_id,
            national_sync_runs.c.status == "running",
            national_sync_runs.c.claimed_by == replica,
        )
        .values(lease_until=utcnow() + lease)
    )
    return _rowcount(done) == 1


async def set_phase(session: AsyncSession, run_id: str, phase: str) -> None:
    await session.execute(sa.update(national_sync_runs).where(national_sync_runs.c.id == run_id).values(phase=phase))


def _changed_since(lo: dt.datetime) -> Any:
    """The household, its latest outcome, a case or a measure changed after `lo`."""
    hid = households.c.id
    o, c, m = household_outcomes.alias("changed_o"), cases.alias("changed_c"), household_measures.alias("changed_m")
    return sa.or_(
        households.c.updated_at > lo,
        sa.exists().where(o.c.household_id == hid, o.c.assessed_at > lo).correlate(households),
        sa.exists().where(c.c.household_id == hid, c.c.updated_at > lo).correlate(households),
        sa.exists().where(m.c.household_id == hid, m.c.updated_at > lo).correlate(households),
    )


def _candidate_filter(county: str, lo: dt.datetime | None) -> list[Any]:
    where = [households.c.region_code.like(f"{county}%")]
    if lo is not None:
        where.append(_changed_since(lo))
    return where


async def count_candidates(session: AsyncSession, county: str, lo: dt.datetime | None) -> int:
    stmt = sa.select(sa.func.count()).select_from(households).where(*_candidate_filter(county, lo))
    return int((await session.execute(stmt)).scalar_one())


async def candidates(
    session: AsyncSession,
    cipher: FieldCipher,
    county: str,
    *,
    lo: dt.datetime | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[Candidate]:
    """The next `limit` households of the county changed after `lo` (None: all) in (village, id)
    keyset order after `after`, with what the file says about them."""
    stmt = (
        sa.select(
            households.c.id,
            households.c.household_number,
            households.c.region_code,
            households.c.status,
            households.c.escaped_poverty,
            households.c.facts,
            household_outcomes.c.category,
            household_outcomes.c.low_income_category,
            household_outcomes.c.per_capita_income,
        )
        .select_from(households.outerjoin(household_outcomes, household_outcomes.c.household_id == households.c.id))
        .where(*_candidate_filter(county, lo))
    )
    if after is not None:
        stmt = stmt.where(sa.tuple_(households.c.region_code, households.c.id) > sa.tuple_(*after))
    rows = (await session.execute(stmt.order_by(households.c.region_code, households.c.id).limit(limit))).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    people: dict[str, list[NationalMember]] = {i: [] for i in ids}
    for m in await session.execute(
        sa.select(members).where(members.c.household_id.in_(ids)).order_by(members.c.household_id, members.c.position)
    ):
        people[m.household_id].append(
            NationalMember(
                position=m.position,
                id_number=cipher.decrypt(m.id_number_enc, context=ID_NUMBER_CONTEXT),
                name=cipher.decrypt(m.name_enc, context=NAME_CONTEXT),
                relation=m.relation,
                sex=m.sex,
                birth_date=m.birth_date,
                labor_capacity=m.labor_capacity,
                disability_grade=m.disability_grade,
                serious_illness=bool(m.serious_illness),
                schooling=m.schooling,
            )
        )
    # the procedure's view: the latest case with a category (identification), the monitoring
    # start and the latest elimination (标注风险消除)
    case_info: dict[str, dict[str, Any]] = {i: {} for i in ids}
    for c in await session.execute(
        sa.select(
            cases.c.household_id,
            cases.c.category,
            cases.c.risk_types,
            cases.c.monitored_since,
            cases.c.eliminated_on,
        )
        .where(cases.c.household_id.in_(ids))
        .order_by(cases.c.household_id, cases.c.created_at, cases.c.id)
    ):
        info = case_info[c.household_id]
        if c.category:
            info["category"] = c.category
            info["risk_types"] = tuple(json.loads(c.risk_types or "[]"))
        if c.monitored_since:
            info["monitored_since"] = c.monitored_since
        if c.eliminated_on:
            info["eliminated_on"] = c.eliminated_on
    measures: dict[str, set[tuple[str, str]]] = {i: set() for i in ids}
    for m in await session.execute(
        sa.select(household_measures.c.household_id, household_measures.c.type, household_measures.c.status).where(
            household_measures.c.household_id.in_(ids)
        )
    ):
        measures[m.household_id].add((m.type or "other", m.status))
    out = []
    for r in rows:
        info = case_info[r.id]
        facts = json.loads(r.facts)
        out.append(
            Candidate(
                id=r.id,
                household_number=r.household_number,
                region_code=r.region_code,
                status=r.status,
                escaped_poverty=bool(r.escaped_poverty),
                category=info.get("category") or r.category,
                risk_types=info.get("risk_types") or tuple(facts.get("declared_risks") or ()),
                low_income_category=r.low_income_category,
                per_capita_income=None if r.per_capita_income is None else Decimal(r.per_capita_income),
                income=_money_of(facts),
                monitored_since=info.get("monitored_since"),
                eliminated_on=info.get("eliminated_on") if r.status == "eliminated" else None,
                measures=tuple(sorted(measures[r.id])),
                members=tuple(people[r.id]),
            )
        )
    return out


def _money_of(facts: dict[str, Any]) -> HouseholdMoney:
    income, spent = facts.get("income") or {}, facts.get("expenses") or {}
    return HouseholdMoney(
        wage=Decimal(income.get("wage", "0")),
        business=Decimal(income.get("business", "0")),
        property=Decimal(income.get("property", "0")),
        transfer=Decimal(income.get("transfer", "0")),
        medical=Decimal(spent.get("compliant_oop_medical", "0")),
        education=Decimal(spent.get("education", "0")),
        other_rigid=Decimal(spent.get("other_rigid", "0")),
    )


async def exported_hashes(session: AsyncSession, county: str, ids: Sequence[str]) -> dict[str, str]:
    """household id → the keyed hash of its row in the county's last file (absent: never sent)."""
    if not ids:
        return {}
    rows = await session.execute(
        sa.select(national_sync_exported.c.household_id, national_sync_exported.c.row_hash).where(
            national_sync_exported.c.county == county, national_sync_exported.c.household_id.in_(ids)
        )
    )
    return {r.household_id: r.row_hash for r in rows}


async def stage_rows(session: AsyncSession, run_id: str, rows: Sequence[StagedRow]) -> None:
    if rows:
        await session.execute(
            sa.insert(national_sync_rows),
            [
                {
                    "run_id": run_id,
                    "household_id": r.household_id,
                    "region_code": r.region_code,
                    "household_number": r.household_number,
                    "change": r.change,
                    "row_hash": r.row_hash,
                    "row_enc": r.row_enc,
                }
                for r in rows
            ],
        )


async def removals(session: AsyncSession, county: str, run_id: str) -> list[tuple[str, str, str]]:
    """(household id, number, village) of households the county's files hold that are no longer
    in the county (deleted, merged away, moved) and not already staged in this run."""
    e = national_sync_exported
    h = households
    stmt = (
        sa.select(e.c.household_id, e.c.household_number, e.c.region_code)
        .select_from(e.outerjoin(h, h.c.id == e.c.household_id))
        .where(
            e.c.county == county,
            sa.or_(h.c.id.is_(None), sa.func.substr(h.c.region_code, 1, 6) != county),
            ~sa.exists().where(
                national_sync_rows.c.run_id == run_id, national_sync_rows.c.household_id == e.c.household_id
            ),
        )
        .order_by(e.c.region_code, e.c.household_id)
    )
    return [(r.household_id, r.household_number, r.region_code) for r in await session.execute(stmt)]


async def staged_page(
    session: AsyncSession, run_id: str, *, after: tuple[str, str] | None, limit: int
) -> list[StagedRow]:
    """The run's staged rows in file order (village, household id)."""
    r = national_sync_rows
    stmt = sa.select(r).where(r.c.run_id == run_id)
    if after is not None:
        stmt = stmt.where(sa.tuple_(r.c.region_code, r.c.household_id) > sa.tuple_(*after))
    rows = await session.execute(stmt.order_by(r.c.region_code, r.c.household_id).limit(limit))
    return [StagedRow(x.household_id, x.region_code, x.household_number, x.change, x.row_hash, x.row_enc) for x in rows]


async def complete_run(
    session: AsyncSession, run: Run, *, households_count: int, checksum: str, size: int, at: dt.datetime
) -> None:
    """The file is written: what it said becomes the county's exported state, the cursor moves to
    the run's `until`, the staged rows go. One transaction (the unit of work's)."""
    r, e = national_sync_rows, national_sync_exported
    staged = sa.select(r.c.household_id).where(r.c.run_id == run.id)
    await session.execute(sa.delete(e).where(e.c.county == run.county, e.c.household_id.in_(staged)))
    await session.execute(
        sa.insert(e).from_select(
            ["county", "household_id", "household_number", "region_code", "row_hash", "run_id"],
            sa.select(
                sa.literal(run.county),
                r.c.household_id,
                r.c.household_number,
                r.c.region_code,
                r.c.row_hash,
                sa.literal(run.id),
            ).where(r.c.run_id == run.id, r.c.change != "D"),
        )
    )
    await session.execute(sa.delete(r).where(r.c.run_id == run.id))
    values = {"last_sequence": run.sequence, "last_until": run.until, "last_run_id": run.id, "updated_at": at}
    updated = await session.execute(
        sa.update(national_sync_cursors).where(national_sync_cursors.c.county == run.county).values(**values)
    )
    if _rowcount(updated) == 0:
        await session.execute(sa.insert(national_sync_cursors).values(county=run.county, **values))
    await session.execute(
        sa.update(national_sync_runs)
        .where(national_sync_runs.c.id == run.id)
        .values(
            status="completed",
            phase="done",
            households=households_count,
            checksum=checksum,
            bytes=size,
            finished_at=at,
            claimed_by=None,
            lease_until=None,
        )
    )


async def claim_day(session: AsyncSession, county: str, day: dt.date, replica: str) -> bool:
    """Insert the county's (county, day) schedule row; False when it is there already."""
    insert = pg_insert if is_postgres(session.bind) else sqlite_insert
    done = await session.execute(
        insert(national_sync_days)
        .values(county=county, day=day, started_by=replica)
        .on_conflict_do_nothing(index_elements=["county", "day"])
    )
    return _rowcount(done) == 1


async def set_day_run(session: AsyncSession, county: str, day: dt.date, run_id: str) -> None:
    await session.execute(
        sa.update(national_sync_days)
        .where(national_sync_days.c.county == county, national_sync_days.c.day == day)
        .values(run_id=run_id)
    )


class NationalSyncRepository:
    """These statements, the run's job and the file download's audit row in the unit of work's
    session (`uow.national_sync`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def counties_in(self, region: str) -> list[str]:
        return await counties_in(self.session, region)

    async def get_cursor(self, county: str) -> tuple[int, dt.datetime | None]:
        return await get_cursor(self.session, county)

    async def running_run(self, county: str) -> Run | None:
        return await running_run(self.session, county)

    async def create_run(self, values: dict[str, Any]) -> tuple[Run, bool]:
        return await create_run(self.session, values)

    async def get_run(self, run_id: str) -> Run | None:
        return await get_run(self.session, run_id)

    async def list_runs(self, region: str, *, county: str | None, status: str | None, limit: int) -> list[Run]:
        return await list_runs(self.session, region, county=county, status=status, limit=limit)

    async def claim_run(self, *, replica: str, lease: dt.timedelta) -> Run | None:
        return await claim_run(self.session, replica=replica, lease=lease)

    async def still_holds(self, run_id: str, *, replica: str, lease: dt.timedelta) -> bool:
        return await still_holds(self.session, run_id, replica=replica, lease=lease)

    async def set_phase(self, run_id: str, phase: str) -> None:
        return await set_phase(self.session, run_id, phase)

    async def count_candidates(self, county: str, lo: dt.datetime | None) -> int:
        return await count_candidates(self.session, county, lo)

    async def candidates(
        self, cipher: FieldCipher, county: str, *, lo: dt.datetime | None, after: tuple[str, str] | None, limit: int
    ) -> list[Candidate]:
        return await candidates(self.session, cipher, county, lo=lo, after=after, limit=limit)

    async def exported_hashes(self, county: str, ids: Sequence[str]) -> dict[str, str]:
        return await exported_hashes(self.session, county, ids)

    async def stage_rows(self, run_id: str, rows: Sequence[StagedRow]) -> None:
        return await stage_rows(self.session, run_id, rows)

    async def removals(self, county: str, run_id: str) -> list[tuple[str, str, str]]:
        return await removals(self.session, county, run_id)

    async def staged_page(self, run_id: str, *, after: tuple[str, str] | None, limit: int) -> list[StagedRow]:
        return await staged_page(self.session, run_id, after=after, limit=limit)

    async def complete_run(self, run: Run, *, households_count: int, checksum: str, size: int, at: dt.datetime) -> None:
        return await complete_run(
            self.session, run, households_count=households_count, checksum=checksum, size=size, at=at
        )

    async def claim_day(self, county: str, day: dt.date, replica: str) -> bool:
        return await claim_day(self.session, county, day, replica)

    async def set_day_run(self, county: str, day: dt.date, run_id: str) -> None:
        return await set_day_run(self.session, county, day, run_id)

    async def create_job(
        self, *, kind: str, region: str, created_by: str, params: dict[str, Any], rows_total: int
    ) -> Job:
        return await create_job(
            self.session, kind=kind, region=region, created_by=created_by, params=params, rows_total=rows_total
        )

    async def get_job(self, job_id: str) -> Job | None:
        return await get_job(self.session, job_id)

    async def save_progress(self, job: Job) -> None:
        await save_progress(self.session, job)

    async def record_unmasked_read(
        self, *, actor: str, role: str, household_id: str, fields: str, reason: str, request_id: str
    ) -> None:
        await record_unmasked_read(
            self.session,
            actor=actor,
            role=role,
            household_id=household_id,
            fields=fields,
            reason=reason,
            request_id=request_id,
        )
