"""What the subsidy use cases need from the outside, as Protocols: the unit of work with its
decisions repository, audit chain, totals query and the policy in force (SQL lives in `adapters/`).

Decision rows are read-only records with the table's columns as attributes (and as a mapping,
`row._mapping`); amounts in whole fen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from services.subsidy.domain import PriorDecision
from shared.events import Event
from shared.policy import PolicyVersion, ResolvedPolicy

__all__ = ["AuditTrail", "DecisionTotals", "DecisionsRepository", "Work"]


class DecisionsRepository(Protocol):
    async def lock_subjects(self, keys: Iterable[str]) -> None:
        """Serialise decisions on these subjects until the transaction ends (caps stay whole)."""
        ...

    async def ledger(self, keys: Iterable[str]) -> list[PriorDecision]:
        """Every decision recorded against one of `keys` as subject, or paying one of them as a person."""
        ...

    async def insert(self, row: dict[str, Any], persons: Iterable[str]) -> None: ...
    async def get(self, decision_id: str) -> Any | None: ...
    async def for_payment(self, payment_id: str) -> Any | None:
        """The decision already recorded for a civil-affairs payment order, if any."""
        ...

    async def update(self, decision_id: str, version: int, values: dict[str, Any]) -> bool:
        """Optimistic update: False when someone else changed the decision first."""
        ...

    async def list(
        self,
        *,
        region_prefix: str,
        kind: str | None = None,
        state: str | None = None,
        subject_id: str | None = None,
        household_id: str | None = None,
        as_of_from: dt.date | None = None,
        as_of_to: dt.date | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> Sequence[Any]:
        """Newest first; `before_seq` is the keyset cursor."""
        ...


class AuditTrail(Protocol):
    """The service's audit chain; an entry is written with the transaction it describes."""

    async def record(
        self,
        *,
        kind: str,
        subject_type: str,
        subject_id: str,
        region_code: str,
        actor: str,
        role: str,
        detail: Mapping[str, Any],
        household_id: str | None = None,
        at: dt.datetime | None = None,
    ) -> None: ...


class DecisionTotals(Protocol):
    async def totals(
        self, *, region: str, group_by: str, as_of_from: dt.date | None, as_of_to: dt.date | None
    ) -> list[tuple[str, str, int, int]]:
        """(group key, decision state, decisions, whole fen) for the decisions within `region`,
        summed by the database; `group_by` is kind, month, funding_source or region_level."""
        ...


class Work(Protocol):
    """One use case = one transaction: the repositories, the events to publish with it, and the
    policy in force (read in the same transaction)."""

    @property
    def decisions(self) -> DecisionsRepository: ...
    @property
    def audit(self) -> AuditTrail: ...
    @property
    def totals(self) -> DecisionTotals: ...

    def add_event(self, event: Event) -> None: ...
    async def policy(self, region_code: str, as_of: dt.date) -> ResolvedPolicy:
        """The subsidy policy in force, or 422 `policy_not_found`."""
        ...

    async def policy_versions(self) -> list[PolicyVersion]:
        """Every subsidy policy version: the shipped ones and those added by officers."""
        ...

    async def commit(self, result: Any = None) -> None:
        """Commit the change; `result` is what the use case answers (kept with an idempotency key)."""
        ...

    async def rollback(self) -> None:
        """End the transaction without a change (a long read lets go of its connection)."""
        ...
