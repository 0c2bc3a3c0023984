"""An in-memory `application.ports.Work` for decision use-case tests without a database: decision
rows kept in a dict, the ledger read back from them, the totals a report sums (given), the shipped
policies, audit entries, events and commits recorded."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from services.subsidy.application.policies import policy_not_found
from services.subsidy.application.ports import DecisionRow
from services.subsidy.domain import (
    DecisionState,
    LedgerLine,
    PriorDecision,
    load_shipped_policies,
    resolve_subsidy_policy,
)
from services.subsidy.domain.rounding import yuan
from shared import contracts
from shared.events import Event
from shared.policy import PolicyNotFound, PolicyVersion, ResolvedPolicy

__all__ = ["FakeWork"]

_SHIPPED = load_shipped_policies()


def _record(row: dict[str, Any]) -> DecisionRow:
    return SimpleNamespace(**row, _mapping=dict(row))


class FakeDecisions:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.persons: dict[str, set[str]] = {}
        self.locked: list[set[str]] = []

    async def lock_subjects(self, keys: Iterable[str]) -> None:
        self.locked.append(set(keys))

    async def ledger(self, keys: Iterable[str]) -> list[PriorDecision]:
        wanted = set(keys)
        return [
            PriorDecision(
                decision_id=r["id"],
                kind=r["kind"],
                subject_id=r["subject_id"],
                amount=yuan(r["amount_fen"]),
                as_of=r["as_of"],
                state=DecisionState(r["state"]),
                lines=tuple(
                    LedgerLine(line["component"], Decimal(line["amount"]), line.get("person_id"))
                    for line in json.loads(r["breakdown"])
                ),
            )
            for r in self.rows.values()
            if r["subject_id"] in wanted or self.persons[r["id"]] & wanted
        ]

    async def insert(self, row: dict[str, Any], persons: Iterable[str]) -> None:
        defaults = dict.fromkeys(("approved_by", "approved_at", "paid_by", "paid_at", "rejected_by", "rejected_at"))
        self.rows[row["id"]] = {**defaults, **row, "seq": len(self.rows) + 1}
        self.persons[row["id"]] = set(persons)

    async def get(self, decision_id: str) -> DecisionRow | None:
        row = self.rows.get(decision_id)
        return None if row is None else _record(row)

    async def for_payment(self, payment_id: str) -> DecisionRow | None:
        return next((_record(r) for r in self.rows.values() if r["payment_id"] == payment_id), None)

    async def update(self, decision_id: str, version: int, values: dict[str, Any]) -> bool:
        row = self.rows.get(decision_id)
        if row is None or row["version"] != version:
            return False
        row.update(values, version=version + 1)
        return True

    async def list(self, *, region_prefix: str, limit: int = 50, **_: Any) -> Sequence[DecisionRow]:
        rows = [r for r in self.rows.values() if r["region_code"].startswith(region_prefix)]
        return [_record(r) for r in sorted(rows, key=lambda r: -r["seq"])[:limit]]


class FakeAudit:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    async def record(self, *, detail: Mapping[str, Any], **entry: Any) -> None:
        self.entries.append({**entry, "detail": dict(detail)})


class FakeTotals:
    """The database's sums, as given: (group key, state, decisions, whole fen) rows."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, int]] = []
        self.asked: list[dict[str, Any]] = []

    async def totals(
        self, *, region: str, group_by: str, as_of_from: dt.date | None, as_of_to: dt.date | None
    ) -> list[tuple[str, str, int, int]]:
        self.asked.append({"region": region, "group_by": group_by, "as_of_from": as_of_from, "as_of_to": as_of_to})
        return list(self.rows)


@dataclass
class FakeWork:
    decisions: FakeDecisions = field(default_factory=FakeDecisions)
    audit: FakeAudit = field(default_factory=FakeAudit)
    totals: FakeTotals = field(default_factory=FakeTotals)
    events: list[Event] = field(default_factory=list)
    commits: list[Any] = field(default_factory=list)
    _pending: list[Event] = field(default_factory=list)

    def add_event(self, event: Event) -> None:
        contracts.check(event)  # as the real unit of work does: the payload keeps its contract
        self._pending.append(event)

    async def policy(self, region_code: str, as_of: dt.date) -> ResolvedPolicy:
        try:
            return resolve_subsidy_policy(region_code, as_of, _SHIPPED)
        except PolicyNotFound as exc:
            raise policy_not_found(exc) from None

    async def policy_versions(self) -> list[PolicyVersion]:
        return list(_SHIPPED)

    async def commit(self, result: Any = None) -> None:
        """Keeps what the use case answered (an idempotency key would store it)."""
        self.events.extend(self._pending)
        self._pending.clear()
        self.commits.append(result)

    async def rollback(self) -> None:
        self._pending.clear()
