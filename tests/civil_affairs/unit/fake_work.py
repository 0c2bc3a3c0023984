"""An in-memory `application.ports.Work` for use-case tests without a database: the grievance and
relief repositories over lists and dicts, the shipped policy versions, events and commits kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from services.civil_affairs.adapters.policy import POLICY_DIR
from services.civil_affairs.application.ports import StaleVersion
from shared import contracts
from shared.events import Event
from shared.policy import PolicyVersion, load_policy_dir

__all__ = ["FakeWork"]

_SHIPPED = load_policy_dir(POLICY_DIR)


class FakeRows:
    def __init__(self, open_states: Sequence[str]) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self._open = set(open_states)

    async def add(self, row: dict[str, Any]) -> None:
        self.rows[row["id"]] = dict(row)

    async def get(self, record_id: str) -> dict[str, Any] | None:
        row = self.rows.get(record_id)
        return dict(row) if row is not None else None

    async def update(self, record_id: str, expected_version: int, values: dict[str, Any]) -> None:
        row = self.rows.get(record_id)
        if row is None or row["version"] != expected_version:
            raise StaleVersion(record_id)
        row.update(values)

    async def open_ones(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows.values() if r["state"] in self._open]


class FakeAppeals(FakeRows):
    def __init__(self) -> None:
        super().__init__(("received", "under_review"))

    async def page(self, **_: Any) -> tuple[list[dict[str, Any]], int]:
        rows = list(self.rows.values())
        return rows, len(rows)

    async def open_for_subject(self, kind: str, subject_id: str) -> str | None:
        return next(
            (
                r["id"]
                for r in self.rows.values()
                if r["subject_kind"] == kind and r["subject_id"] == subject_id and r["state"] in self._open
            ),
            None,
        )


class FakeAlerts:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}

    async def claim(self, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
        fresh = {(r["kind"], r["key"]) for r in rows if (r["kind"], r["key"]) not in self.rows}
        self.rows.update({(r["kind"], r["key"]): r for r in rows if (r["kind"], r["key"]) in fresh})
        return fresh

    async def known(self, ref_ids: set[str]) -> set[tuple[str, str]]:
        return {k for k, r in self.rows.items() if r["ref_id"] in ref_ids}


class FakeRelief:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.orders: list[dict[str, Any]] = []

    async def insert(self, row: dict[str, Any]) -> None:
        self.rows[row["id"]] = {**row, "seq": len(self.rows) + 1}

    async def get(self, request_id: str) -> Any | None:
        row = self.rows.get(request_id)
        return SimpleNamespace(**row) if row is not None else None

    async def update(self, request_id: str, version: int, values: dict[str, Any]) -> bool:
        row = self.rows.get(request_id)
        if row is None or row["version"] != version:
            return False
        row.update(values, version=version + 1)
        return True

    async def list(self, **_: Any) -> Sequence[Any]:
        return [SimpleNamespace(**r) for r in reversed(self.rows.values())]

    async def insert_payment(self, row: dict[str, Any]) -> None:
        self.orders.append(dict(row))

    async def payments(self, request_id: str) -> Sequence[Any]:
        return [SimpleNamespace(**o) for o in self.orders if o["request_id"] == request_id]

    async def mark_payment(self, payment_id: str, values: dict[str, Any]) -> bool:
        for o in self.orders:
            if o["payment_id"] == payment_id and o["status"] == "ordered":
                o.update(values)
                return True
        return False


@dataclass
class FakeWork:
    """What the use cases see of a unit of work; `commits` counts the transactions they closed,
    `events` what went to the outbox with them (events added but not committed are dropped)."""

    appeals: FakeAppeals = field(default_factory=FakeAppeals)
    complaints: FakeRows = field(default_factory=lambda: FakeRows(("received", "accepted")))
    alerts: FakeAlerts = field(default_factory=FakeAlerts)
    relief: FakeRelief = field(default_factory=FakeRelief)
    versions: list[PolicyVersion] = field(default_factory=lambda: list(_SHIPPED))
    events: list[Event] = field(default_factory=list)
    commits: int = 0
    _pending: list[Event] = field(default_factory=list)

    @property
    def applications(self) -> Any:
        raise AssertionError("no dibao application in these tests")

    def add_event(self, event: Event) -> None:
        contracts.check(event)  # as the real unit of work does: the payload keeps its contract
        self._pending.append(event)

    async def policy(self, region_code: str, on: dt.date) -> Any:
        raise AssertionError("no dibao policy in these tests")

    async def policy_versions(self) -> list[PolicyVersion]:
        return list(self.versions)

    async def commit(self, result: Any = None) -> None:
        self.events.extend(self._pending)
        self._pending.clear()
        self.commits += 1
