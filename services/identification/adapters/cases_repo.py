"""The case repository (`application.ports.CaseRepository`): maps domain.cases.Case to the
`cases` row plus its append-only `case_history`, with optimistic concurrency (a lost update
raises `StaleCase`), the case list's query, and the few household reads and writes the procedure
needs (status, labour capacity, look-up by blind index, the village's figures, what assistance
told)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.loops_repo import LoopFacts, loop_facts
from services.identification.adapters.orm import households, members
from services.identification.adapters.orm_cases import applications, case_exclusions, case_history, cases
from services.identification.application.ports import (
    CaseFilter,
    CaseListRow,
    CaseRow,
    CaseStamp,
    HouseholdStatusRow,
    StaleCase,
)
from services.identification.domain.cases import (
    Action,
    AssemblyDecision,
    Case,
    CaseExclusion,
    CaseState,
    ExclusionOverride,
    HistoryEntry,
    Objection,
    Procedure,
    Role,
)
from shared.pii import mask_numbers_in_value

__all__ = [
    "CST",
    "CasesRepository",
    "StaleCase",
    "as_local",
    "village_figures",
]

#: China Standard Time: the domain reads every date from a local datetime.
CST = dt.timezone(dt.timedelta(hours=8), "CST")


def as_local(value: dt.datetime) -> dt.datetime:
    """Database datetimes come back naive from SQLite (stored UTC): make them CST-aware."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(CST)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _objection_to_json(o: Objection) -> dict[str, Any]:
    return {
        "id": o.id,
        "raised_by": o.raised_by,
        "raised_at": o.raised_at.isoformat(),
        "text": o.text,
        "resolved_by": o.resolved_by,
        "resolved_at": o.resolved_at.isoformat() if o.resolved_at else None,
        "resolution": o.resolution,
    }


def _objection_from_json(d: dict[str, Any]) -> Objection:
    return Objection(
        id=d["id"],
        raised_by=d["raised_by"],
        raised_at=dt.datetime.fromisoformat(d["raised_at"]),
        text=d["text"],
        resolved_by=d.get("resolved_by"),
        resolved_at=dt.datetime.fromisoformat(d["resolved_at"]) if d.get("resolved_at") else None,
        resolution=d.get("resolution"),
    )


def _case_values(case: Case) -> dict[str, Any]:
    return {
        "household_id": case.household_id,
        "procedure": str(case.procedure),
        "state": str(case.state),
        "is_open": case.is_open,
        "category": case.category,
        "risk_types": json.dumps(list(case.risk_types)),
        "urgent": case.urgent,
        "deadline": case.deadline,
        "comparison_due": case.comparison_due,
        "submitted_at": _utc(case.submitted_at),
        "notice_started_on": case.notice_started_on,
        "notice_days": case.notice_days,
        "objections": json.dumps([_objection_to_json(o) for o in case.objections], ensure_ascii=False),
        "investigators": json.dumps(list(case.investigators), ensure_ascii=False),
        "monitored_since": case.monitored_since,
        "eliminated_on": case.eliminated_on,
        "parent_case_id": case.parent_case_id,
        "reason": case.reason,
        "version": case.version,
    }


def _history_rows(case_id: str, entries: Iterable[HistoryEntry], start_seq: int) -> list[dict[str, Any]]:
    return [
        {
            "case_id": case_id,
            "seq": start_seq + i,
            "action": str(e.action),
            "from_state": str(e.from_state) if e.from_state is not None else None,
            "to_state": str(e.to_state),
            "by": e.by,
            "role": str(e.role),
            "at": _utc(e.at),
            "note": e.note,
        }
        for i, e in enumerate(entries)
    ]


def _exclusion_row(case_id: str, position: int, e: CaseExclusion) -> dict[str, Any]:
    o = e.override
    return {
        "case_id": case_id,
        "code": e.code,
        "position": position,
        "detail": e.detail,
        "source": e.source,
        "inputs": json.dumps(dict(e.inputs), ensure_ascii=False, sort_keys=True, default=str),
        "policy_id": e.policy_id,
        "policy_version": e.policy_version,
        **_override_values(o),
    }


def _override_values(o: ExclusionOverride | None) -> dict[str, Any]:
    return {
        "overridden": o is not None,
        "override_by": o.by if o else None,
        "override_role": str(o.role) if o else None,
        "override_at": _utc(o.at) if o else None,
        "override_reason": o.reason if o else None,
        "assembly_decided_on": o.assembly_decision.decided_on if o else None,
        "assembly_minutes_ref": o.assembly_decision.minutes_ref if o else None,
    }


def _to_exclusion(r: Any) -> CaseExclusion:
    override = None
    if r.overridden:
        override = ExclusionOverride(
            by=r.override_by,
            role=Role(r.override_role),
            at=as_local(r.override_at),
            reason=r.override_reason,
            assembly_decision=AssemblyDecision(r.assembly_decided_on, r.assembly_minutes_ref),
        )
    return CaseExclusion(
        code=r.code,
        detail=r.detail,
        source=r.source,
        inputs=json.loads(r.inputs),
        policy_id=r.policy_id,
        policy_version=r.policy_version,
        override=override,
    )


def _to_case(row: Any, history: Sequence[Any], exclusions: Sequence[Any] = ()) -> Case:
    return Case(
        id=row.id,
        household_id=row.household_id,
        procedure=Procedure(row.procedure),
        state=CaseState(row.state),
        submitted_at=as_local(row.submitted_at),
        category=row.category,
        risk_types=tuple(json.loads(row.risk_types)),
        urgent=bool(row.urgent),
        deadline=row.deadline,
        comparison_due=row.comparison_due,
        notice_started_on=row.notice_started_on,
        notice_days=row.notice_days,
        # free text is masked when written; masked again here for rows stored before (read path)
        objections=tuple(_objection_from_json(o) for o in mask_numbers_in_value(json.loads(row.objections))),
        investigators=tuple(mask_numbers_in_value(json.loads(row.investigators))),
        monitored_since=row.monitored_since,
        eliminated_on=row.eliminated_on,
        parent_case_id=row.parent_case_id,
        reason=mask_numbers_in_value(row.reason),
        history=tuple(
            HistoryEntry(
                action=Action(h.action),
                from_state=CaseState(h.from_state) if h.from_state else None,
                to_state=CaseState(h.to_state),
                by=h.by,
                role=Role(h.role),
                at=as_local(h.at),
                note=mask_numbers_in_value(h.note),
            )
            for h in history
        ),
        version=row.version,
        exclusions=tuple(_to_exclusion(r) for r in exclusions),
    )


class CasesRepository:
    """Cases and their history within one session (the unit of work commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------ cases

    async def add(self, case: Case, *, region_code: str, application_id: str | None = None) -> None:
        now = dt.datetime.now(dt.UTC)
        await self.session.execute(
            sa.insert(cases).values(
                id=case.id,
                region_code=region_code,
                application_id=application_id,
                created_at=now,
                updated_at=now,
                **_case_values(case),
            )
        )
        await self.session.execute(sa.insert(case_history), _history_rows(case.id, case.history, 1))
        if case.exclusions:
            await self.session.execute(
                sa.insert(case_exclusions), [_exclusion_row(case.id, i, e) for i, e in enumerate(case.exclusions)]
            )

    async def save(self, before: Case, after: Case) -> None:
        """Write `after` if the stored case is still `before` (same version); append its new
        history lines. Raises `StaleCase` on a lost update."""
        result = await self.session.execute(
            sa.update(cases)
            .where(cases.c.id == before.id, cases.c.version == before.version)
            .values(updated_at=dt.datetime.now(dt.UTC), **_case_values(after))
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
            raise StaleCase(before.id)
        new_entries = after.history[len(before.history) :]
        if new_entries:
            await self.session.execute(
                sa.insert(case_history), _history_rows(after.id, new_entries, len(before.history) + 1)
            )
        old = {e.code: e for e in before.exclusions}
        for e in after.exclusions:
            if old.get(e.code) != e:
                await self.session.execute(
                    sa.update(case_exclusions)
                    .where(case_exclusions.c.case_id == after.id, case_exclusions.c.code == e.code)
                    .values(**_override_values(e.override))
                )

    async def get_row(self, case_id: str) -> CaseRow | None:
        return (await self.session.execute(sa.select(cases).where(cases.c.id == case_id))).first()

    async def load(self, row: Any) -> Case:
        history = (
            await self.session.execute(
                sa.select(case_history).where(case_history.c.case_id == row.id).order_by(case_history.c.seq)
            )
        ).all()
        exclusions = (
            await self.session.execute(
                sa.select(case_exclusions)
                .where(case_exclusions.c.case_id == row.id)
                .order_by(case_exclusions.c.position)
            )
        ).all()
        return _to_case(row, history, exclusions)

    async def get(self, case_id: str) -> tuple[Case, CaseRow] | None:
        row = await self.get_row(case_id)
        if row is None:
            return None
        return await self.load(row), row

    async def open_cases_of(self, household_id: str) -> list[CaseRow]:
        stmt = sa.select(cases).where(cases.c.household_id == household_id, cases.c.is_open.is_(True))
        return list((await self.session.execute(stmt)).all())

    async def cases_of(self, household_id: str) -> list[Any]:
        stmt = sa.select(cases).where(cases.c.household_id == household_id).order_by(cases.c.created_at)
        return list((await self.session.execute(stmt)).all())

    async def open_cases_of_households(self, household_ids: Sequence[str]) -> dict[str, str]:
        """household id → one of its open case ids, for the households that have one."""
        out: dict[str, str] = {}
        for chunk in _chunks(list(household_ids), 500):
            stmt = sa.select(cases.c.household_id, cases.c.id).where(
                cases.c.household_id.in_(chunk), cases.c.is_open.is_(True)
            )
            for hid, cid in (await self.session.execute(stmt)).all():
                out.setdefault(hid, cid)
        return out

    async def save_transition(self, before: Case, after: Case, *, opened: Case | None, region_code: str) -> None:
        """An action's writes: `after` over `before` (`save`) and the case it opened. Another
        writer's step (the same history line, a second open case) is a lost race: `StaleCase`."""
        try:
            await self.save(before, after)
            if opened is not None:
                await self.add(opened, region_code=region_code)
            await self.session.flush()
        except sa.exc.IntegrityError:
            raise StaleCase(before.id) from None

    async def stamps_of(self, household_id: str) -> list[CaseStamp]:
        return [
            CaseStamp(r.id, r.procedure, r.state, bool(r.is_open), as_local(r.updated_at).date())
            for r in await self.cases_of(household_id)
        ]

    async def page(self, where: CaseFilter, *, offset: int, limit: int) -> tuple[int, list[CaseListRow]]:
        """(how many cases match, the rows of one page in creation order)."""
        conditions = _conditions(where)
        total = (
            await self.session.execute(sa.select(sa.func.count()).select_from(cases).where(*conditions))
        ).scalar_one()
        stmt = sa.select(cases).where(*conditions).order_by(cases.c.created_at, cases.c.id).offset(offset).limit(limit)
        return int(total), list((await self.session.execute(stmt)).all())

    async def application_of_case(self, case_id: str) -> str | None:
        stmt = sa.select(applications.c.id).where(applications.c.case_id == case_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # ------------------------------------------------------------------ households

    async def household(self, household_id: str) -> HouseholdStatusRow | None:
        stmt = sa.select(households).where(households.c.id == household_id)
        return (await self.session.execute(stmt)).first()

    async def set_household_status(self, household_id: str, status: str) -> None:
        await self.session.execute(
            sa.update(households)
            .where(households.c.id == household_id)
            .values(status=status, updated_at=dt.datetime.now(dt.UTC))
        )

    async def labor_capacities(self, household_id: str) -> list[str]:
        stmt = sa.select(members.c.labor_capacity).where(members.c.household_id == household_id)
        return list((await self.session.execute(stmt)).scalars())

    async def is_member(self, household_id: str, id_number_index: str) -> bool:
        stmt = sa.select(sa.func.count()).where(
            members.c.household_id == household_id, members.c.id_number_index == id_number_index
        )
        return bool((await self.session.execute(stmt)).scalar_one())

    async def village_figures(self, village: str) -> tuple[int, int]:
        return await village_figures(self.session, village)

    async def measures_told(self, household_id: str) -> LoopFacts:
        return await loop_facts(self.session, household_id)

    async def households_by_member_index(self, indexes: Sequence[str]) -> dict[str, tuple[str, str]]:
        """blind index → (household id, region code) for members found."""
        out: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(list(dict.fromkeys(indexes)), 500):
            stmt = (
                sa.select(members.c.id_number_index, households.c.id, households.c.region_code)
                .join(households, households.c.id == members.c.household_id)
                .where(members.c.id_number_index.in_(chunk))
            )
            for idx, hid, region in (await self.session.execute(stmt)).all():
                out.setdefault(idx, (hid, region))
        return out


async def village_figures(session: AsyncSession, village: str) -> tuple[int, int]:
    """(rural registered population = members of the village's households, households
    monitored and not eliminated — status `monitored`, which includes rolled-back ones)."""
    population = (
        await session.execute(
            sa.select(sa.func.count())
            .select_from(members.join(households, households.c.id == members.c.household_id))
            .where(households.c.region_code == village)
        )
    ).scalar_one()
    monitored = (
        await session.execute(
            sa.select(sa.func.count()).where(households.c.region_code == village, households.c.status == "monitored")
        )
    ).scalar_one()
    return int(population), int(monitored)


def _conditions(f: CaseFilter) -> list[Any]:
    where: list[Any] = [cases.c.region_code.like(f.prefix + "%")] if f.prefix else []
    if f.states:
        where.append(cases.c.state == f.states[0] if len(f.states) == 1 else cases.c.state.in_(f.states))
    if f.has_open_objection is not None:
        # objections are a JSON list; an open one has not been resolved ("resolved_at": null)
        open_objection = sa.and_(
            cases.c.state == str(CaseState.PUBLIC_NOTICE), cases.c.objections.like('%"resolved_at": null%')
        )
        where.append(open_objection if f.has_open_objection else sa.not_(open_objection))
    if f.procedure:
        where.append(cases.c.procedure == f.procedure)
    if f.household_id:
        where.append(cases.c.household_id == f.household_id)
    # = domain.cases.is_overdue: past the time limit, or in county review past the comparison's
    late = sa.and_(
        cases.c.is_open.is_(True),
        sa.or_(
            cases.c.deadline < f.today,
            sa.and_(cases.c.state == str(CaseState.COUNTY_REVIEW), cases.c.comparison_due < f.today),
        ),
    )
    if f.overdue is True:
        where.append(late)
    elif f.overdue is False:
        where.append(sa.not_(sa.func.coalesce(late, False)))
    return where


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
