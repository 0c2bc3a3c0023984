"""The repositories and queries of registration and its procedures (households, imports,
applications, assessments, cases, duplicates, negative flags, DCI), as properties of the
identification unit of work over its one session (`adapters/unit_of_work.py`); the use cases see
them as `application.ports.Work`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.applications_repo import ApplicationsRepository
from services.identification.adapters.audit import audit_chain, record_unmasked_read
from services.identification.adapters.cases_repo import CasesRepository
from services.identification.adapters.dci_repo import DciRepository
from services.identification.adapters.duplicates_repo import DuplicatesRepository
from services.identification.adapters.flags_repo import FlagsRepository
from services.identification.adapters.households_repo import HouseholdsRepository
from services.identification.adapters.imports_repo import ImportsRepository
from shared import idempotency
from shared.audit import record_audit
from shared.db import one_snapshot

__all__ = ["ChainAudit", "RegistrationRepositories"]


class ChainAudit:
    """`application.ports.AuditTrail`: the service's decision chain (`audit_chain`) and the log
    of unmasked reads (`audit_log`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        *,
        kind: str,
        subject_type: str,
        subject_id: str,
        household_id: str | None,
        region_code: str,
        actor: str,
        role: str,
        at: dt.datetime,
        detail: dict[str, Any],
    ) -> None:
        await record_audit(
            self.session,
            audit_chain,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            household_id=household_id,
            region_code=region_code,
            actor=actor,
            role=role,
            at=at,
            detail=detail,
        )

    async def unmasked_read(
        self, *, actor: str, role: str, household_id: str, fields: str, reason: str, request_id: str
    ) -> None:
        """One row of the log of unmasked reads of personal data (`audit_log`)."""
        await record_unmasked_read(
            self.session,
            actor=actor,
            role=role,
            household_id=household_id,
            fields=fields,
            reason=reason,
            request_id=request_id,
        )


class RegistrationRepositories:
    session: AsyncSession

    @property
    def cases(self) -> CasesRepository:
        return CasesRepository(self.session)

    @property
    def applications(self) -> ApplicationsRepository:
        return ApplicationsRepository(self.session)

    @property
    def households(self) -> HouseholdsRepository:
        return HouseholdsRepository(self.session)

    @property
    def imports(self) -> ImportsRepository:
        return ImportsRepository(self.session)

    @property
    def duplicates(self) -> DuplicatesRepository:
        return DuplicatesRepository(self.session)

    @property
    def flags(self) -> FlagsRepository:
        return FlagsRepository(self.session)

    @property
    def dci(self) -> DciRepository:
        return DciRepository(self.session)

    @property
    def audit(self) -> ChainAudit:
        return ChainAudit(self.session)

    async def snapshot(self) -> None:
        """The transaction's reads see one state of the database (call before the first)."""
        await one_snapshot(self.session)

    async def complete_claim(
        self, table: sa.Table, claim: idempotency.IdempotencyClaim, status: int, body: Any
    ) -> None:
        """Store the response of an Idempotency-Key's first request with the change it made."""
        await idempotency.complete(self.session, table, claim, status, body)
