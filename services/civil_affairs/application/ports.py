"""What the civil-affairs use cases need from the outside, as Protocols: the unit of work with its
repositories (SQL lives in `adapters/`), the policy in force, the county's household
economic-situation check system (居民家庭经济状况核对, HTTP or file drop-in), and the service that
owns the decision an appeal is about."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from services.civil_affairs.domain.applications import Application
from services.civil_affairs.domain.economic_check import CheckRecord, CheckResult
from services.civil_affairs.domain.enrolments import Enrolment
from services.civil_affairs.domain.programmes import ProgrammePolicy
from shared.auth import Principal
from shared.events import Event
from shared.policy import PolicyVersion

__all__ = [
    "AlertsRepository",
    "AppealRow",
    "AppealsRepository",
    "ApplicationsRepository",
    "ChecksRepository",
    "ComplaintRow",
    "ComplaintsRepository",
    "EconomicCheck",
    "EnrolmentsRepository",
    "PaymentOrder",
    "PaymentsRepository",
    "ReliefPaymentRow",
    "ReliefRepository",
    "ReliefRequestRow",
    "StaleVersion",
    "SubjectFacts",
    "SubjectLookup",
    "SubjectUnavailable",
    "Work",
]


class StaleVersion(Exception):
    """Another writer changed the aggregate since it was read (optimistic concurrency)."""


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    id: str  # payment_id
    enrolment_id: str
    period: str
    kind: str
    household_id: str
    region_code: str
    status: str  # ordered | recorded
    inputs: Mapping[str, Any]
    funding_source: str
    created_at: dt.datetime
    amount: str | None = None
    decision_id: str | None = None
    decision_state: str | None = None
    recorded_at: dt.datetime | None = None


class ApplicationsRepository(Protocol):
    async def add(self, app: Application, sealed_members: Sequence[str]) -> None:
        """`sealed_members`: the members' ID numbers, encrypted (FieldCipher), in member order."""
        ...

    async def sealed_members(self, application_id: str) -> list[str]: ...
    async def get(self, application_id: str) -> Application | None: ...
    async def save(self, app: Application, *, expected_version: int) -> None: ...
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
    ) -> tuple[list[Application], int]: ...


class ChecksRepository(Protocol):
    async def add(self, check: CheckRecord) -> None: ...
    async def get(self, check_id: str) -> CheckRecord | None: ...
    async def save(self, check: CheckRecord) -> None: ...
    async def open_checks(self) -> list[CheckRecord]: ...


class EnrolmentsRepository(Protocol):
    async def add(self, e: Enrolment) -> None: ...
    async def get(self, enrolment_id: str) -> Enrolment | None: ...
    async def save(self, e: Enrolment, *, expected_version: int) -> None: ...
    async def page(
        self,
        *,
        region_prefix: str,
        status: str | None,
        programme: str | None,
        household_id: str | None,
        page: int,
        page_size: int,
    ) -> tuple[list[Enrolment], int]: ...
    async def due_for_recheck(self, *, region_prefix: str, before: dt.date) -> list[Enrolment]: ...
    async def open_in(self, *, region_prefix: str) -> list[Enrolment]: ...
    async def open_for_household(self, household_id: str) -> list[Enrolment]: ...


class PaymentsRepository(Protocol):
    async def add(self, order: PaymentOrder) -> bool:
        """False when the enrolment already has an order for the period (idempotent run)."""
        ...

    async def get(self, payment_id: str) -> PaymentOrder | None: ...
    async def mark_recorded(
        self, payment_id: str, *, decision_id: str, decision_state: str, amount: str, at: dt.datetime
    ) -> None: ...
    async def page(
        self, *, region_prefix: str, period: str | None, enrolment_id: str | None, page: int, page_size: int
    ) -> tuple[list[PaymentOrder], int]: ...


class AppealRow(TypedDict):
    """An `appeals` row as stored (`attachments`, `history`, `explanation`: JSON columns)."""

    id: str
    household_id: str
    region_code: str
    subject_kind: str
    subject_id: str
    state: str
    decided_level: str
    review_level: str
    review_region: str
    grounds: str
    attachments: list[Any]
    appellant_index: str | None
    filed_by: str
    filed_by_role: str
    received_on: dt.date
    deadline: dt.date
    outcome: str | None
    reason: str | None
    history: list[dict[str, Any]]
    explanation: dict[str, Any]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ComplaintRow(TypedDict):
    """A `complaints` row as stored (`history`, `explanation`: JSON columns; the person's ID
    number and the contact phone encrypted)."""

    id: str
    channel: str
    topic: str
    text: str
    household_id: str | None
    person_id_enc: bytes | None
    person_index: str | None
    contact_phone_enc: bytes | None
    region_code: str
    officer_level: str | None
    responsible_level: str
    responsible_region: str
    responsible_department: str | None
    escalated_level: str | None
    escalated_region: str | None
    state: str
    received_on: dt.date
    ack_due: dt.date
    reply_due: dt.date
    acknowledged_on: dt.date | None
    replied_on: dt.date | None
    reply: str | None
    satisfaction: str | None
    reopen_count: int
    complainant_index: str
    filed_by: str
    filed_by_role: str
    history: list[dict[str, Any]]
    explanation: dict[str, Any]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class GrievanceRows(Protocol):
    """Appeals and complaints travel as plain rows (dicts of their columns: `AppealRow`,
    `ComplaintRow`); an update names the version it read and raises `StaleVersion` when another
    writer changed the record first."""

    async def add(self, row: Mapping[str, Any]) -> None: ...
    async def update(self, record_id: str, expected_version: int, values: dict[str, Any]) -> None: ...


class AppealsRepository(GrievanceRows, Protocol):
    async def get(self, record_id: str) -> AppealRow | None: ...
    async def open_ones(self) -> list[AppealRow]:
        """Those whose deadlines still run (the sweep's candidates)."""
        ...

    async def page(
        self,
        *,
        region: str,
        appellant_index: str | None,
        state: str | None,
        household_id: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[AppealRow], int]: ...
    async def open_for_subject(self, kind: str, subject_id: str) -> str | None:
        """The id of the open appeal of this decision, if any."""
        ...


class ComplaintsRepository(GrievanceRows, Protocol):
    async def get(self, record_id: str) -> ComplaintRow | None: ...
    async def open_ones(self) -> list[ComplaintRow]:
        """Those whose deadlines still run (the sweep's candidates)."""
        ...

    async def page(
        self,
        *,
        region: str,
        complainant_index: str | None,
        department: str | None,
        state: str | None,
        topic: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[ComplaintRow], int]: ...


class AlertsRepository(Protocol):
    """The deadline alerts already published, one row per (kind, key)."""

    async def claim(self, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
        """Insert alert rows, ignoring those already published; returns the (kind, key) that are new."""
        ...

    async def known(self, ref_ids: set[str]) -> set[tuple[str, str]]: ...


class ReliefRequestRow(Protocol):
    """A `relief_requests` row: amounts in whole fen; `household`, `explanations`, `history`,
    `paperwork`: JSON text as stored."""

    @property
    def seq(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def household_id(self) -> str | None: ...
    @property
    def household(self) -> str | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def requested_fen(self) -> int: ...
    @property
    def approved_fen(self) -> int | None: ...
    @property
    def state(self) -> str: ...
    @property
    def approved_level(self) -> str | None: ...
    @property
    def limit_fen(self) -> int: ...
    @property
    def policy_id(self) -> str: ...
    @property
    def policy_version(self) -> str: ...
    @property
    def as_of(self) -> dt.date: ...
    @property
    def explanations(self) -> str: ...
    @property
    def history(self) -> str: ...
    @property
    def paperwork(self) -> str | None: ...
    @property
    def paperwork_due_on(self) -> dt.date | None: ...
    @property
    def rejection_reason(self) -> str | None: ...
    @property
    def submitted_by(self) -> str: ...
    @property
    def submitted_role(self) -> str: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def updated_at(self) -> dt.datetime: ...
    @property
    def version(self) -> int: ...


class ReliefPaymentRow(Protocol):
    """A `relief_payments` row: a payment order sent to subsidy and its answer (`refusal`: JSON
    text as stored)."""

    @property
    def payment_id(self) -> str: ...
    @property
    def request_id(self) -> str: ...
    @property
    def amount_fen(self) -> int: ...
    @property
    def funding_source(self) -> str: ...
    @property
    def approved_level(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def decision_id(self) -> str | None: ...
    @property
    def recorded_fen(self) -> int | None: ...
    @property
    def refusal(self) -> str | None: ...
    @property
    def ordered_at(self) -> dt.datetime: ...
    @property
    def recorded_at(self) -> dt.datetime | None: ...


class ReliefRepository(Protocol):
    """Temporary-relief requests and their payment orders; rows are read-only records with the
    columns as attributes (`ReliefRequestRow`, `ReliefPaymentRow`), amounts in whole fen."""

    async def insert(self, row: dict[str, Any]) -> None: ...
    async def get(self, request_id: str) -> ReliefRequestRow | None: ...
    async def update(self, request_id: str, version: int, values: dict[str, Any]) -> bool:
        """False when someone else changed the request first."""
        ...

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
    ) -> Sequence[ReliefRequestRow]: ...
    async def insert_payment(self, row: dict[str, Any]) -> None: ...
    async def payments(self, request_id: str) -> Sequence[ReliefPaymentRow]: ...
    async def mark_payment(self, payment_id: str, values: dict[str, Any]) -> bool: ...


class Work(Protocol):
    """One use case = one transaction: the repositories, the events to publish with it, and the
    policy in force (read in the same transaction)."""

    @property
    def applications(self) -> ApplicationsRepository: ...
    @property
    def checks(self) -> ChecksRepository: ...
    @property
    def enrolments(self) -> EnrolmentsRepository: ...
    @property
    def payments(self) -> PaymentsRepository: ...
    @property
    def appeals(self) -> AppealsRepository: ...
    @property
    def complaints(self) -> ComplaintsRepository: ...
    @property
    def alerts(self) -> AlertsRepository: ...
    @property
    def relief(self) -> ReliefRepository: ...

    def add_event(self, event: Event) -> None: ...
    async def policy(self, region_code: str, on: dt.date) -> ProgrammePolicy:
        """The dibao / 特困 figures in force (422 `policy_not_found` when none cover the region)."""
        ...

    async def policy_versions(self) -> list[PolicyVersion]:
        """Every civil-affairs policy version: the shipped ones and those added by officers."""
        ...

    async def commit(self, result: Any = None) -> None:
        """Commit the change; `result` is what the use case answers (kept with an idempotency key)."""
        ...


class EconomicCheck(Protocol):
    """A county's check system. `send` delivers the request (with the ID numbers the query needs,
    under the applicant's authorisation) and returns the system's reference if it gives one;
    `poll` returns the result once there is one (None while pending)."""

    kind: str

    async def send(self, check: CheckRecord, request: Mapping[str, Any]) -> str | None: ...
    async def poll(self, check: CheckRecord) -> CheckResult | None: ...
    async def forget(self, check: CheckRecord) -> None:
        """The result is stored: drop what the exchange still holds (request/result files)."""
        ...


class SubjectUnavailable(Exception):
    """The owning service did not answer."""


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    kind: str
    id: str
    household_id: str
    region_code: str
    status: str
    #: the role recorded on the refusal (the history entry that ended the procedure)
    decided_by_role: str | None
    decided_at: str | None


class SubjectLookup(Protocol):
    """The service owning a decision, asked with the caller's own authority."""

    KINDS: frozenset[str]

    async def lookup(self, kind: str, subject_id: str, principal: Principal) -> SubjectFacts | None:
        """The facts, or None when the owner says there is no such record for this caller;
        raises `SubjectUnavailable` when it does not answer."""
        ...
