"""The civil-affairs unit of work: shared's UnitOfWork (the only thing that commits) with the
service's repositories over its one session and the policy store of the app it runs in."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ClassVar

from services.civil_affairs.adapters.appeals_repository import (
    AlertsRepository,
    AppealsRepository,
    ComplaintsRepository,
)
from services.civil_affairs.adapters.policy import PROGRAMME_PARAMETERS
from services.civil_affairs.adapters.repository_programmes import (
    SqlApplications,
    SqlChecks,
    SqlEnrolments,
    SqlPayments,
)
from services.civil_affairs.adapters.repository_relief import ReliefRepository
from services.civil_affairs.domain.programmes import ProgrammePolicy
from shared.db import UnitOfWork
from shared.errors import FieldError, Unprocessable
from shared.policy import PolicyNotFound, PolicyParameterMissing, PolicyVersion, ResolvedPolicy
from shared.policy_store import PolicyStore

__all__ = ["CivilAffairsUnitOfWork", "to_programme_policy"]


def to_programme_policy(resolved: ResolvedPolicy) -> ProgrammePolicy:
    values = {n: resolved[n] for n in PROGRAMME_PARAMETERS}
    return ProgrammePolicy(
        id=resolved.id,
        version=resolved.version,
        values=values,
        sources={n: resolved.source_of(n) for n in PROGRAMME_PARAMETERS},
    )


class CivilAffairsUnitOfWork(UnitOfWork):
    """`application.ports.Work`. `before_commit` hooks (storing an idempotent response) run inside
    the transaction, before it commits. Each app has its own subclass (`for_store`) bound to its
    policy store, since `ctx.uow()` builds the unit of work from the shared constructor."""

    policy_store: ClassVar[PolicyStore]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_commit: list[Callable[[Any], Awaitable[None]]] = []
        self._held = False

    @classmethod
    def for_store(cls, store: PolicyStore) -> type[CivilAffairsUnitOfWork]:
        return type(cls.__name__, (cls,), {"policy_store": store, "__doc__": cls.__doc__})

    @property
    def applications(self) -> SqlApplications:
        return SqlApplications(self.session)

    @property
    def checks(self) -> SqlChecks:
        return SqlChecks(self.session)

    @property
    def enrolments(self) -> SqlEnrolments:
        return SqlEnrolments(self.session)

    @property
    def payments(self) -> SqlPayments:
        return SqlPayments(self.session)

    @property
    def appeals(self) -> AppealsRepository:
        return AppealsRepository(self.session)

    @property
    def complaints(self) -> ComplaintsRepository:
        return ComplaintsRepository(self.session)

    @property
    def alerts(self) -> AlertsRepository:
        return AlertsRepository(self.session)

    @property
    def relief(self) -> ReliefRepository:
        return ReliefRepository(self.session)

    async def policy_versions(self) -> list[PolicyVersion]:
        return await self.policy_store.versions(self.session)

    async def policy(self, region_code: str, on: dt.date) -> ProgrammePolicy:
        try:
            return to_programme_policy(await self.policy_store.resolve(self.session, region_code, on))
        except (PolicyNotFound, PolicyParameterMissing) as exc:
            raise Unprocessable(
                str(exc), code="policy_not_found", errors=[FieldError("region_code", str(exc), "policy_not_found")]
            ) from None

    @contextlib.contextmanager
    def in_consumer(self) -> Iterator[CivilAffairsUnitOfWork]:
        """Inside an inbox consumer's transaction the consumer commits (with its inbox row): the
        use case's `commit` only runs the hooks."""
        self._held = True
        try:
            yield self
        finally:
            self._held = False

    async def commit(self, result: Any = None) -> None:
        for hook in self.before_commit:
            await hook(result)
        if not self._held:
            await super().commit()
