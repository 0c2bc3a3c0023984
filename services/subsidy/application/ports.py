"""What the subsidy use cases need from the outside, as Protocols: the unit of work with its
decisions repository, audit chain, totals query and the policy in force (SQL lives in `adapters/`).

Decision rows are read-only records with the table's columns as attributes (and as a mapping,
`row._mapping`): `DecisionRow`; amounts in whole fen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from services.subsidy.domain import PriorDecision
from shared.events import Event
from shared.policy import PolicyVersion, ResolvedPolicy

__all__ = ["AuditTrail", "DecisionRow", "DecisionTotals", "DecisionsRepository", "Work"]


class DecisionRow(Protocol):
    """A `decisions` row: its columns (`inputs`, `parameters`, `breakdown`, `explanations`,
    `history`, `reference`: JSON text as stored; amounts in whole fen) and the same as a mapping
    (`_mapping`, for the events and the audit entry)."""

    @property
    def seq(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def subject_id(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def household_id(self) -> str | None: ...
    @property
    def as_of(self) -> dt.date: ...
    @property
    def state(self) -> str: ...
    @property
    def amount_fen(self) -> int: ...
    @property
    def calculated_fen(self) -> int: ...
    @property
    def funding_source(self) -> str | None: ...
    @property
    def policy_id(self) -> str: ...
    @property
    def policy_version(self) -> str: ...
    @property
    def clause(self) -> str: ...
    @property
    def inputs(self) -> str: ...
    @property
    def parameters(self) -> str: ...
    @property
    def breakdown(self) -> str: ...
    @property
    def explanations(self) -> str: ...
    @property
    def history(self) -> str: ...
    @property
    def rejection_reason(self) -> str | None: ...
    @property
    def origin(self) -> str: ...
    @property
    def origin_event_id(self) -> str | None: ...
    @property
    def created_by(self) -> str: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def approved_by(self) -> str | None: ...
    @property
    def approved_at(self) -> dt.datetime | None: ...
    @property
    def paid_by(self) -> str | None: ...
    @property
    def paid_at(self) -> dt.datetime | None: ...
    @property
    def rejected_by(self) -> str | None: ...
    @property
    def rejected_at(self) -> dt.datetime | None: ...
    @property
    def version(self) -> int: ...
    @property
    def payment_id(self) -> str | None: ...
    @property
    def reference(self) -> str | None: ...
    @property
    def _mapping(self) -> Mapping[Any, Any]: ...


class DecisionsRepository(Protocol):
    async def lock_subjects(self, keys: Iterable[str]) -> None:
        """Serialise decisions on these subjects until the transaction ends (caps stay whole)."""
        ...

    async def ledger(self, keys: Iterable[str]) -> list[PriorDecision]:
        """Every decision recorded against one of `keys` as subject, or paying one of them as a person."""
        ...

    async def insert(self, row: dict[str, Any], persons: Iterable[str]) -> None: ...
    async def get(self, decision_id: str) -> DecisionRow | None: ...
    async def for_payment(self, payment_id: str) -> DecisionRow | None:
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
    ) -> Sequence[DecisionRow]:
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
