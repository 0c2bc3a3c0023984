"""The subsidy unit of work: shared's UnitOfWork (the only thing that commits) with the decisions
repository, the audit chain and the totals query over its one session, and the policy store of
the app it runs in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from services.subsidy.adapters.orm import audit_chain
from services.subsidy.adapters.policy import resolve
from services.subsidy.adapters.reports import SqlDecisionTotals
from services.subsidy.adapters.repository import SqlDecisions
from shared.audit import record_audit
from shared.db import UnitOfWork
from shared.policy import PolicyVersion, ResolvedPolicy
from shared.policy_store import PolicyStore

__all__ = ["SubsidyUnitOfWork"]


class SqlAuditTrail:
    """`application.ports.AuditTrail` over the service's audit chain."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def record(self, *, detail: Mapping[str, Any], **entry: Any) -> None:
        await record_audit(self._uow.session, audit_chain, detail=detail, **entry)


class SubsidyUnitOfWork(UnitOfWork):
    """`application.ports.Work`. `before_commit` hooks (storing an idempotent response) run inside
    the transaction, before it commits. Each app has its own subclass (`for_store`) bound to its
    policy store, since `ctx.uow()` builds the unit of work from the shared constructor."""

    policy_store: ClassVar[PolicyStore]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_commit: list[Callable[[Any], Awaitable[None]]] = []

    @classmethod
    def for_store(cls, store: PolicyStore) -> type[SubsidyUnitOfWork]:
        return type(cls.__name__, (cls,), {"policy_store": store, "__doc__": cls.__doc__})

    @property
    def decisions(self) -> SqlDecisions:
        return SqlDecisions(self.session)

    @property
    def audit(self) -> SqlAuditTrail:
        return SqlAuditTrail(self)

    @property
    def totals(self) -> SqlDecisionTotals:
        return SqlDecisionTotals(self.session)

    async def policy_versions(self) -> list[PolicyVersion]:
        return await self.policy_store.versions(self.session)

    async def policy(self, region_code: str, as_of: dt.date) -> ResolvedPolicy:
        return await resolve(self.policy_store, self.session, region_code, as_of)

    async def commit(self, result: Any = None) -> None:
        for hook in self.before_commit:
            await hook(result)
        await super().commit()
