"""The SQL of department signals: signals recorded once per (department, signal id), the
households they match, the household's signal warning, leads (unknown persons) and their
resolution — in the unit of work's session."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.audit import audit_chain
from services.identification.adapters.cases_repo import CasesRepository
from services.identification.adapters.orm import household_outcomes, households
from services.identification.adapters.orm_cases import lead_resolutions, leads, risk_warnings, signals
from services.identification.application.monitoring_ports import (
    LeadListRow,
    LeadResolutionView,
    LeadRowView,
    SignalHousehold,
    SignalRowView,
    WarningRowView,
)
from services.identification.domain.cases import Case
from shared.audit import record_audit

__all__ = ["SignalsRepository"]

#: a matched household as the signal rules see it: id, region_code, status, category
_HOUSEHOLD_ROW = sa.select(
    households.c.id, households.c.region_code, households.c.status, household_outcomes.c.category
).select_from(households.outerjoin(household_outcomes, household_outcomes.c.household_id == households.c.id))


class SignalsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._cases = CasesRepository(session)

    # ------------------------------------------------------------------ signals and households

    async def existing(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SignalRowView]:
        """The signals already received, by (source_dept, signal_id)."""
        out: dict[tuple[str, str], SignalRowView] = {}
        by_dept: dict[str, list[str]] = {}
        for dept, signal_id in keys:
            by_dept.setdefault(dept, []).append(signal_id)
        for dept, ids in by_dept.items():
            for i in range(0, len(ids), 500):
                stmt = sa.select(signals).where(
                    signals.c.source_dept == dept, signals.c.signal_id.in_(ids[i : i + 500])
                )
                for row in (await self.session.execute(stmt)).all():
                    out[(row.source_dept, row.signal_id)] = row
        return out

    async def households(self, ids: Sequence[str]) -> dict[str, SignalHousehold]:
        """Households (id, region_code, status, category) by id; unknown ids left out."""
        out: dict[str, SignalHousehold] = {}
        for i in range(0, len(ids), 500):
            stmt = _HOUSEHOLD_ROW.where(households.c.id.in_(ids[i : i + 500]))
            for row in (await self.session.execute(stmt)).all():
                out[row.id] = row
        return out

    async def households_by_member_index(self, indexes: Sequence[str]) -> dict[str, tuple[str, str]]:
        return await self._cases.households_by_member_index(indexes)

    async def open_cases_of_households(self, household_ids: Sequence[str]) -> dict[str, str]:
        return await self._cases.open_cases_of_households(household_ids)

    async def labor_capacities(self, household_id: str) -> list[str]:
        return await self._cases.labor_capacities(household_id)

    async def add_case(self, case: Case, *, region_code: str) -> None:
        await self._cases.add(case, region_code=region_code)

    async def add_signals(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for i in range(0, len(rows), 1000):
            await self.session.execute(sa.insert(signals), list(rows[i : i + 1000]))

    async def set_signal_household(self, signal_row_id: str, household_id: str, case_id: str | None) -> None:
        await self.session.execute(
            sa.update(signals).where(signals.c.id == signal_row_id).values(household_id=household_id, case_id=case_id)
        )

    # ------------------------------------------------------------------ the household's warning

    async def warning(self, household_id: str) -> WarningRowView | None:
        """The household's signal warning row (None: none yet)."""
        stmt = sa.select(risk_warnings).where(risk_warnings.c.household_id == household_id)
        return (await self.session.execute(stmt)).first()

    async def add_warning(
        self,
        household_id: str,
        *,
        region_code: str,
        colour: str,
        risk_types: Sequence[str],
        kinds: Sequence[str],
        signals: int,
        at: dt.datetime,
    ) -> None:
        await self.session.execute(
            sa.insert(risk_warnings).values(
                household_id=household_id,
                region_code=region_code,
                colour=colour,
                risk_types=json.dumps(list(risk_types)),
                kinds=json.dumps(list(kinds)),
                signals=signals,
                raised_at=at,
                updated_at=at,
            )
        )

    async def update_warning(
        self,
        household_id: str,
        *,
        colour: str,
        risk_types: Sequence[str],
        kinds: Sequence[str],
        more_signals: int,
        at: dt.datetime,
    ) -> None:
        """The warning's colour and kinds; its signal count grows by `more_signals` in the
        statement (two batches at once both count)."""
        await self.session.execute(
            sa.update(risk_warnings)
            .where(risk_warnings.c.household_id == household_id)
            .values(
                colour=colour,
                risk_types=json.dumps(list(risk_types)),
                kinds=json.dumps(list(kinds)),
                signals=risk_warnings.c.signals + more_signals,
                updated_at=at,
            )
        )

    # ------------------------------------------------------------------ leads

    async def open_lead(self, id_number_index: str, region_code: str) -> LeadRowView | None:
        """The open lead of this person in this region (None: none)."""
        stmt = sa.select(leads).where(
            leads.c.id_number_index == id_number_index, leads.c.region_code == region_code, leads.c.status == "open"
        )
        return (await self.session.execute(stmt)).first()

    async def add_to_lead(self, lead_id: str, *, warning: str, risk_types: Sequence[str], at: dt.datetime) -> None:
        """One more signal on the lead (its count grows in the statement)."""
        await self.session.execute(
            sa.update(leads)
            .where(leads.c.id == lead_id)
            .values(
                signals=leads.c.signals + 1, warning=warning, risk_types=json.dumps(list(risk_types)), updated_at=at
            )
        )

    async def add_lead(self, values: Mapping[str, Any]) -> None:
        await self.session.execute(sa.insert(leads).values(**values))

    async def leads(self, prefix: str, *, status: str, limit: int) -> list[LeadListRow]:
        """Leads of the region with their resolution (if any), oldest first."""
        res = lead_resolutions.c
        stmt = (
            sa.select(leads, res.household_id, res.reason, res.resolved_at, res.resolved_role)
            .select_from(leads.outerjoin(lead_resolutions, res.lead_id == leads.c.id))
            .where(leads.c.region_code.like(prefix + "%"), leads.c.status == status)
            .order_by(leads.c.created_at, leads.c.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).all())

    async def lead(self, lead_id: str) -> LeadRowView | None:
        return (await self.session.execute(sa.select(leads).where(leads.c.id == lead_id))).first()

    async def resolution(self, lead_id: str) -> LeadResolutionView | None:
        stmt = sa.select(lead_resolutions).where(lead_resolutions.c.lead_id == lead_id)
        return (await self.session.execute(stmt)).first()

    async def lead_signals(self, lead_id: str) -> list[SignalRowView]:
        """The signals of the lead, in the order they were received."""
        stmt = sa.select(signals).where(signals.c.lead_id == lead_id).order_by(signals.c.received_at)
        return list((await self.session.execute(stmt)).all())

    async def resolve_lead(self, lead_id: str, *, status: str, resolution: Mapping[str, Any], at: dt.datetime) -> None:
        """The lead's new status and its resolution row."""
        await self.session.execute(sa.update(leads).where(leads.c.id == lead_id).values(status=status, updated_at=at))
        await self.session.execute(sa.insert(lead_resolutions).values(lead_id=lead_id, **resolution))

    async def audit(self, **entry: Any) -> None:
        """An entry of the hash-chained audit log (`shared.audit.record_audit`), with this
        transaction."""
        await record_audit(self.session, audit_chain, **entry)
