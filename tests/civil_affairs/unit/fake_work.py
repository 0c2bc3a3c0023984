"""An in-memory `application.ports.Work` for use-case tests without a database: the dibao / 特困
(applications, checks, enrolments, payment orders), grievance and relief repositories over lists
and dicts, the shipped policy versions, events and commits kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any, Generic, TypeVar, cast

from services.civil_affairs.adapters.policy import POLICY_DIR, SERVICE
from services.civil_affairs.adapters.unit_of_work import to_programme_policy
from services.civil_affairs.application.ports import (
    AppealRow,
    ComplaintRow,
    PaymentOrder,
    ReliefPaymentRow,
    ReliefRequestRow,
    StaleVersion,
)
from services.civil_affairs.domain.applications import Application
from services.civil_affairs.domain.economic_check import CheckRecord
from services.civil_affairs.domain.enrolments import Enrolment
from services.civil_affairs.domain.programmes import ProgrammePolicy
from shared import contracts
from shared.events import Event
from shared.policy import PolicyVersion, load_policy_dir, resolve_policy

__all__ = ["FakeWork"]

_SHIPPED = load_policy_dir(POLICY_DIR)


def _pages(items: list[Any], page: int, page_size: int) -> list[Any]:
    return items[(page - 1) * page_size : page * page_size]


def _one_of(value: str, wanted: str | None) -> bool:
    """The repositories' filter: a state / status, or several comma-separated."""
    return not wanted or value in {w.strip() for w in wanted.split(",") if w.strip()}


class FakeApplications:
    def __init__(self) -> None:
        self.rows: dict[str, Application] = {}
        self.sealed: dict[str, list[str]] = {}

    async def add(self, app: Application, sealed_members: Sequence[str]) -> None:
        self.rows[app.id] = app
        self.sealed[app.id] = list(sealed_members)

    async def sealed_members(self, application_id: str) -> list[str]:
        return list(self.sealed.get(application_id, []))

    async def get(self, application_id: str) -> Application | None:
        return self.rows.get(application_id)

    async def save(self, app: Application, *, expected_version: int) -> None:
        stored = self.rows.get(app.id)
        if stored is None or stored.version != expected_version:
            raise StaleVersion(app.id)
        self.rows[app.id] = app

    async def page(
        self,
        *,
        region_prefix: str,
        state: str | None,
        programme: str | None,
        household_id: str | None,
        submitter_index: str | None,
        page: int,
        page_size: int,
    ) -> tuple[list[Application], int]:
        found = [
            a
            for a in reversed(self.rows.values())  # newest first
            if a.region_code.startswith(region_prefix)
            and _one_of(str(a.state), state)
            and (not programme or str(a.programme) == programme)
            and (not household_id or a.household_id == household_id)
            and (submitter_index is None or a.submitter_index == submitter_index)
        ]
        return _pages(found, page, page_size), len(found)


class FakeChecks:
    def __init__(self) -> None:
        self.rows: dict[str, CheckRecord] = {}

    async def add(self, check: CheckRecord) -> None:
        self.rows[check.id] = check

    async def get(self, check_id: str) -> CheckRecord | None:
        return self.rows.get(check_id)

    async def save(self, check: CheckRecord) -> None:
        self.rows[check.id] = check

    async def open_checks(self) -> list[CheckRecord]:
        return [c for c in self.rows.values() if c.status == "pending"]


class FakeEnrolments:
    def __init__(self) -> None:
        self.rows: dict[str, Enrolment] = {}

    async def add(self, e: Enrolment) -> None:
        self.rows[e.id] = e

    async def get(self, enrolment_id: str) -> Enrolment | None:
        return self.rows.get(enrolment_id)

    async def save(self, e: Enrolment, *, expected_version: int) -> None:
        stored = self.rows.get(e.id)
        if stored is None or stored.version != expected_version:
            raise StaleVersion(e.id)
        self.rows[e.id] = e

    def _in(self, region_prefix: str) -> list[Enrolment]:
        return [e for e in self.rows.values() if e.region_code.startswith(region_prefix)]

    async def page(
        self,
        *,
        region_prefix: str,
        status: str | None,
        programme: str | None,
        household_id: str | None,
        page: int,
        page_size: int,
    ) -> tuple[list[Enrolment], int]:
        found = [
            e
            for e in self._in(region_prefix)
            if _one_of(str(e.status), status)
            and (not programme or str(e.programme) == programme)
            and (not household_id or e.household_id == household_id)
        ]
        return _pages(found, page, page_size), len(found)

    async def due_for_recheck(self, *, region_prefix: str, before: dt.date) -> list[Enrolment]:
        return [
            e
            for e in self._in(region_prefix)
            if str(e.status) in ("active", "suspended") and e.next_recheck_on <= before
        ]

    async def open_in(self, *, region_prefix: str) -> list[Enrolment]:
        return [e for e in self._in(region_prefix) if str(e.status) in ("active", "gradual_exit", "voluntary_exit")]

    async def open_for_household(self, household_id: str) -> list[Enrolment]:
        return [e for e in self.rows.values() if e.household_id == household_id and str(e.status) != "exited"]


class FakePayments:
    def __init__(self) -> None:
        self.rows: dict[str, PaymentOrder] = {}

    async def add(self, order: PaymentOrder) -> bool:
        if any(o.enrolment_id == order.enrolment_id and o.period == order.period for o in self.rows.values()):
            return False  # the unique (enrolment, period): a second run orders nothing
        self.rows[order.id] = order
        return True

    async def get(self, payment_id: str) -> PaymentOrder | None:
        return self.rows.get(payment_id)

    async def mark_recorded(
        self, payment_id: str, *, decision_id: str, decision_state: str, amount: str, at: dt.datetime
    ) -> None:
        self.rows[payment_id] = replace(
            self.rows[payment_id],
            status="recorded",
            decision_id=decision_id,
            decision_state=decision_state,
            amount=amount,
            recorded_at=at,
        )

    async def page(
        self, *, region_prefix: str, period: str | None, enrolment_id: str | None, page: int, page_size: int
    ) -> tuple[list[PaymentOrder], int]:
        found = [
            o
            for o in self.rows.values()
            if o.region_code.startswith(region_prefix)
            and (not period or o.period == period)
            and (not enrolment_id or o.enrolment_id == enrolment_id)
        ]
        return _pages(found, page, page_size), len(found)


_R = TypeVar("_R", AppealRow, ComplaintRow)


class FakeRows(Generic[_R]):
    def __init__(self, open_states: Sequence[str]) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self._open = set(open_states)

    async def add(self, row: Mapping[str, Any]) -> None:
        self.rows[row["id"]] = dict(row)

    async def get(self, record_id: str) -> _R | None:
        row = self.rows.get(record_id)
        return cast(_R, dict(row)) if row is not None else None

    async def update(self, record_id: str, expected_version: int, values: dict[str, Any]) -> None:
        row = self.rows.get(record_id)
        if row is None or row["version"] != expected_version:
            raise StaleVersion(record_id)
        row.update(values)

    async def open_ones(self) -> list[_R]:
        return [cast(_R, dict(r)) for r in self.rows.values() if r["state"] in self._open]


class FakeAppeals(FakeRows[AppealRow]):
    def __init__(self) -> None:
        super().__init__(("received", "under_review"))

    async def page(self, **_: Any) -> tuple[list[AppealRow], int]:
        rows = [cast(AppealRow, r) for r in self.rows.values()]
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


class FakeComplaints(FakeRows[ComplaintRow]):
    def __init__(self) -> None:
        super().__init__(("received", "accepted"))

    async def page(self, **_: Any) -> tuple[list[ComplaintRow], int]:
        rows = [cast(ComplaintRow, r) for r in self.rows.values()]
        return rows, len(rows)


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

    async def get(self, request_id: str) -> ReliefRequestRow | None:
        row = self.rows.get(request_id)
        return SimpleNamespace(**row) if row is not None else None

    async def update(self, request_id: str, version: int, values: dict[str, Any]) -> bool:
        row = self.rows.get(request_id)
        if row is None or row["version"] != version:
            return False
        row.update(values, version=version + 1)
        return True

    async def list(
        self,
        *,
        region_prefix: str,
        state: str | None = None,
        household_id: str | None = None,
        submitted_by: str | None = None,
        overdue_on: dt.date | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> Sequence[ReliefRequestRow]:
        """Newest first, as the repository's keyset page."""
        found = [
            r
            for r in sorted(self.rows.values(), key=lambda r: -r["seq"])
            if r["region_code"].startswith(region_prefix)
            and all(
                v is None or r[k] == v
                for k, v in (("state", state), ("household_id", household_id), ("submitted_by", submitted_by))
            )
            and (overdue_on is None or (r["state"] == "relief_first" and r["paperwork_due_on"] < overdue_on))
            and (before_seq is None or r["seq"] < before_seq)
        ]
        return [SimpleNamespace(**r) for r in found[:limit]]

    async def insert_payment(self, row: dict[str, Any]) -> None:
        self.orders.append(dict(row))

    async def payments(self, request_id: str) -> Sequence[ReliefPaymentRow]:
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

    applications: FakeApplications = field(default_factory=FakeApplications)
    checks: FakeChecks = field(default_factory=FakeChecks)
    enrolments: FakeEnrolments = field(default_factory=FakeEnrolments)
    payments: FakePayments = field(default_factory=FakePayments)
    appeals: FakeAppeals = field(default_factory=FakeAppeals)
    complaints: FakeComplaints = field(default_factory=FakeComplaints)
    alerts: FakeAlerts = field(default_factory=FakeAlerts)
    relief: FakeRelief = field(default_factory=FakeRelief)
    versions: list[PolicyVersion] = field(default_factory=lambda: list(_SHIPPED))
    events: list[Event] = field(default_factory=list)
    commits: int = 0
    #: what each commit was told the use case answers (an idempotent request stores it)
    results: list[Any] = field(default_factory=list)
    _pending: list[Event] = field(default_factory=list)

    def add_event(self, event: Event) -> None:
        contracts.check(event)  # as the real unit of work does: the payload keeps its contract
        self._pending.append(event)

    async def policy(self, region_code: str, on: dt.date) -> ProgrammePolicy:
        """As the real unit of work: the programme figures of the versions in force."""
        return to_programme_policy(resolve_policy(self.versions, service=SERVICE, region_code=region_code, as_of=on))

    async def policy_versions(self) -> list[PolicyVersion]:
        return list(self.versions)

    async def commit(self, result: Any = None) -> None:
        self.events.extend(self._pending)
        self._pending.clear()
        self.commits += 1
        self.results.append(result)
