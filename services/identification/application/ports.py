"""What registration and its procedures (households, applications, assessments, cases,
duplicates) need of the database: repository Protocols reached through the unit of work
(`Work`), implemented in `adapters/` (`adapters/work_registration.py`) and by in-memory fakes in
the unit tests. Rows come back as read-only views naming the columns the use cases read
(`CaseRow`, `CaseListRow`, `HouseholdStatusRow`, `ApplicationRow`, `DuplicateRow`): a result
row, an ORM object or a fake's namespace fits them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, cast

from shared.events import Event
from shared.policy import ResolvedPolicy
from shared.policy_store import PolicyStore

if TYPE_CHECKING:
    from services.identification.application.import_rows import ChunkResult
    from services.identification.application.monitoring_ports import LoopsRepository
    from services.identification.application.stored import (
        HouseholdRecord,
        Job,
        Outbound,
        Partner,
        PreparedBatch,
        StoredHousehold,
        Subscription,
        Transaction,
        UpsertOutcome,
        UpsertSummary,
    )
    from services.identification.domain.cases import Case
    from services.identification.domain.dci import HouseholdView, SearchQuery
    from shared.app import ServiceContext
    from shared.idempotency import IdempotencyClaim
    from shared.pii import FieldCipher
    from shared.settings import Settings

__all__ = [
    "ApplicationExists",
    "ApplicationRepository",
    "ApplicationRow",
    "AuditTrail",
    "CaseFilter",
    "CaseListRow",
    "CaseRepository",
    "CaseRow",
    "CaseStamp",
    "DciKeys",
    "DciRepository",
    "DciTransport",
    "DuplicateRepository",
    "DuplicateRow",
    "FlagRepository",
    "HouseholdRepository",
    "HouseholdStatusRow",
    "HouseholdsWrittenMeanwhile",
    "ImportRepository",
    "ImportWorker",
    "MeasuresTold",
    "RegistrationUnit",
    "StaleCase",
    "Work",
    "open_work",
]


class StaleCase(Exception):
    """The case changed since it was read (another officer's transition won)."""


class HouseholdsWrittenMeanwhile(Exception):
    """A concurrent import stored one of the chunk's households first (its number is taken):
    the chunk is written again."""


class ApplicationExists(Exception):
    """The household already has an open application (the database's uniqueness said so)."""


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """Which cases `GET /cases` lists: inside `prefix` (a region code prefix, "" = everywhere)
    and, when given, in one of `states`, of `procedure`, of `household_id`, overdue on `today`
    or not, with an open objection or not."""

    prefix: str
    today: dt.date
    states: tuple[str, ...] = ()
    procedure: str | None = None
    household_id: str | None = None
    overdue: bool | None = None
    has_open_objection: bool | None = None


@dataclass(frozen=True, slots=True)
class CaseStamp:
    """One case of a household as the §5 facts read it: which, its procedure and state, and the
    local date of its last change."""

    id: str
    procedure: str
    state: str
    is_open: bool
    updated_on: dt.date


class MeasuresTold(Protocol):
    """What assistance told about a household's measures (application/loops.py keeps it)."""

    @property
    def measures_since(self) -> dt.date | None: ...
    @property
    def measures_open(self) -> int | None: ...


class CaseRow(Protocol):
    """A `cases` row as a case's read and an application's refusal see it: which case, its
    village, the application that opened it (None for an officer's case)."""

    @property
    def id(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def application_id(self) -> str | None: ...


class CaseListRow(CaseRow, Protocol):
    """A `cases` row as `GET /cases` lists it (`risk_types`: the JSON list as stored)."""

    @property
    def household_id(self) -> str: ...
    @property
    def procedure(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def is_open(self) -> bool: ...
    @property
    def category(self) -> str | None: ...
    @property
    def risk_types(self) -> str: ...
    @property
    def urgent(self) -> bool: ...
    @property
    def deadline(self) -> dt.date | None: ...
    @property
    def comparison_due(self) -> dt.date | None: ...
    @property
    def version(self) -> int: ...


class HouseholdStatusRow(Protocol):
    """A `households` row as the procedure reads it: its monitoring status."""

    @property
    def status(self) -> str: ...


class ApplicationRow(Protocol):
    """An `applications` row (`risk_types`: the declared JSON list as stored)."""

    @property
    def id(self) -> str: ...
    @property
    def case_id(self) -> str: ...
    @property
    def household_id(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def risk_types(self) -> str: ...
    @property
    def urgent(self) -> bool: ...
    @property
    def submitter_role(self) -> str: ...


class DuplicateRow(Protocol):
    """A `household_duplicates` row (`history`: the JSON list as stored)."""

    @property
    def id(self) -> str: ...
    @property
    def match(self) -> str: ...
    @property
    def person_index(self) -> str | None: ...
    @property
    def person_masked(self) -> str | None: ...
    @property
    def household_id(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def other_household_id(self) -> str | None: ...
    @property
    def other_region_code(self) -> str: ...
    @property
    def resolve_region(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def refused(self) -> bool: ...
    @property
    def found_by(self) -> str: ...
    @property
    def found_at(self) -> dt.datetime: ...
    @property
    def seen(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def resolution(self) -> str | None: ...
    @property
    def resolution_note(self) -> str | None: ...
    @property
    def resolved_by(self) -> str | None: ...
    @property
    def resolved_at(self) -> dt.datetime | None: ...
    @property
    def split_household_id(self) -> str | None: ...
    @property
    def history(self) -> str: ...


class CaseRepository(Protocol):
    """Cases, their append-only history and exclusions, and the household reads and writes the
    procedure needs. `save_transition` raises `StaleCase` on a lost update."""

    async def get(self, case_id: str) -> tuple[Case, CaseRow] | None: ...
    async def get_row(self, case_id: str) -> CaseRow | None: ...
    async def add(self, case: Case, *, region_code: str, application_id: str | None = None) -> None: ...
    async def save_transition(self, before: Case, after: Case, *, opened: Case | None, region_code: str) -> None: ...
    async def stamps_of(self, household_id: str) -> list[CaseStamp]: ...
    async def open_cases_of(self, household_id: str) -> list[CaseRow]: ...
    async def application_of_case(self, case_id: str) -> str | None: ...
    async def page(self, where: CaseFilter, *, offset: int, limit: int) -> tuple[int, list[CaseListRow]]: ...
    async def household(self, household_id: str) -> HouseholdStatusRow | None: ...
    async def set_household_status(self, household_id: str, status: str) -> None: ...
    async def labor_capacities(self, household_id: str) -> list[str]: ...
    async def is_member(self, household_id: str, id_number_index: str) -> bool: ...
    async def village_figures(self, village: str) -> tuple[int, int]: ...
    async def measures_told(self, household_id: str) -> MeasuresTold: ...


class ApplicationRepository(Protocol):
    """Self-applications (`applications` rows). `add` raises `ApplicationExists` when the
    household has an open one already."""

    async def add(self, values: dict[str, Any]) -> None: ...
    async def get(self, application_id: str) -> ApplicationRow | None: ...
    async def submitted_by(self, household_id: str, submitter_index: str) -> bool: ...


class OutcomeWriter(Protocol):
    """Writes a household's evaluation (category, low-income category, warning, income, as of,
    the policy version behind it): the assessment of registration and the loops' re-assessment."""

    async def record_outcome(
        self,
        household_id: str,
        *,
        category: str | None,
        low_income_category: str | None,
        warning: str | None,
        per_capita_income: Decimal,
        as_of: dt.date,
        policy_id: str,
        policy_version: str,
    ) -> None: ...


class HouseholdRepository(OutcomeWriter, Protocol):
    """Stored households: one by id (clear values only with a cipher), insert-or-update by
    number, the latest evaluation."""

    async def get(self, household_id: str, *, cipher: FieldCipher | None = None) -> StoredHousehold | None: ...
    async def upsert(self, cipher: FieldCipher, record: HouseholdRecord, *, source: str) -> UpsertOutcome: ...
    async def member_households(self, indexes: Sequence[str]) -> dict[str, list[tuple[str, str]]]: ...
    async def member_holders(self, indexes: Sequence[str]) -> dict[str, list[tuple[str, str]]]: ...
    async def by_number(self, household_number: str) -> tuple[str, str] | None: ...
    async def flags(self, household_id: str) -> list[dict[str, Any]]: ...


class ImportRepository(Protocol):
    """A bulk import's job and its chunks' writes; `write` raises `HouseholdsWrittenMeanwhile`."""

    @property
    def postgres(self) -> bool: ...
    async def find_job(self, *, created_by: str, idempotency_key: str) -> Job | None: ...
    async def create_job(
        self,
        *,
        region: str,
        created_by: str,
        idempotency_key: str | None,
        params: dict[str, Any],
        rows_total: int | None,
    ) -> Job: ...
    async def write(self, batch: PreparedBatch, *, within: str) -> UpsertSummary: ...
    async def save_progress(self, job: Job) -> None: ...
    async def get_job(self, job_id: str) -> Job | None: ...
    async def chunk_summary(self, job_id: str) -> dict[str, Any] | None: ...


class DuplicateRepository(Protocol):
    """Duplicate-person records (一人多户); `resolve` closes one only while it is open."""

    async def open_touching(self, household_ids: Sequence[str]) -> list[DuplicateRow]: ...
    async def add(self, values: dict[str, Any]) -> None: ...
    async def seen_again(self, duplicate_id: str, *, history: str, at: dt.datetime) -> None: ...
    async def get(self, duplicate_id: str) -> DuplicateRow | None: ...
    async def page(self, *, status: str, prefix: str, after: str | None, limit: int) -> list[DuplicateRow]: ...
    async def resolve(self, duplicate_id: str, values: dict[str, Any]) -> dict[str, Any] | None: ...


class FlagRepository(Protocol):
    """Negative-list flags other services raise on a household, and its facts rewritten with
    the flag set (`lock_household` first: two flags at once must not lose one)."""

    async def lock_household(self, household_id: str) -> None: ...
    async def exists(self, household_id: str, code: str, person_ref: str) -> bool: ...
    async def add(self, row: dict[str, Any]) -> None: ...
    async def store_facts(self, household_id: str, facts: dict[str, Any], profile: Any, at: dt.datetime) -> None: ...


class DciRepository(Protocol):
    """The DCI partners (their keys), transactions, subscriptions, queued outbound messages,
    and the household search and views DCI answers with (adapters/dci_repo.py)."""

    async def get_partner(self, sender_id: str) -> Partner | None: ...
    async def list_partners(self) -> list[Partner]: ...
    async def put_partner(
        self, *, sender_id: str, name: str, client_sub: str, jwks: dict[str, Any], by: str, at: dt.datetime
    ) -> None: ...
    async def find_transaction(self, sender_id: str, kind: str, transaction_id: str) -> Transaction | None: ...
    async def get_transaction(self, correlation_id: str) -> Transaction | None: ...
    async def recent_transactions(self, sender_id: str, kind: str, *, limit: int = 500) -> list[Transaction]: ...
    async def add_transaction(self, **values: Any) -> None: ...
    async def finish_transaction(
        self, correlation_id: str, *, status: str, summary: dict[str, Any], at: dt.datetime
    ) -> None: ...
    async def add_subscription(self, **values: Any) -> None: ...
    async def active_subscription(self, sender_id: str, reg_event_type: str, region: str) -> str | None: ...
    async def subscriptions(self, codes: Sequence[str]) -> dict[str, Subscription]: ...
    async def set_subscription_status(self, codes: Sequence[str], status: str, at: dt.datetime) -> None: ...
    async def subscribers_of(self, reg_event_type: str) -> list[Subscription]: ...
    async def queue_outbound(self, **values: Any) -> bool: ...
    async def get_outbound(self, outbound_id: str) -> Outbound | None: ...
    async def mark_delivered(self, outbound_id: str, at: dt.datetime) -> None: ...
    async def search_households(
        self, *, region: str, query: SearchQuery, id_number_index: str | None
    ) -> tuple[int, list[str]]: ...
    async def household_views(
        self, ids: Sequence[str], *, cipher: FieldCipher | None, reveal: bool
    ) -> list[HouseholdView]: ...


class AuditTrail(Protocol):
    """The service's hash-chained audit log (shared.audit), written in the transaction."""

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
    ) -> None: ...
    async def unmasked_read(
        self, *, actor: str, role: str, household_id: str, fields: str, reason: str, request_id: str
    ) -> None: ...


class CaseEventsWork(Protocol):
    """What writing a case's events needs (`application.cases.emit_case_events`, from a
    registration use case or a department signal): the cases (labour capacities, the household's
    status, the village's figures), the audit trail, the policy in force (the scale-risk
    threshold), the outbox."""

    @property
    def cases(self) -> CaseRepository: ...
    @property
    def audit(self) -> AuditTrail: ...
    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy: ...
    def add_event(self, event: Event) -> None: ...


class Work(Protocol):
    """The unit of work as registration's use cases see it: one transaction, its repositories,
    the policy in force read in it, the events it will write to the outbox, its commit.
    `snapshot()` before the first read makes the transaction's reads agree (one state); `loops`
    is monitoring's, read for the household page (measures, re-assessment, red mark)."""

    @property
    def cases(self) -> CaseRepository: ...
    @property
    def applications(self) -> ApplicationRepository: ...
    @property
    def households(self) -> HouseholdRepository: ...
    @property
    def imports(self) -> ImportRepository: ...
    @property
    def duplicates(self) -> DuplicateRepository: ...
    @property
    def flags(self) -> FlagRepository: ...
    @property
    def dci(self) -> DciRepository: ...
    @property
    def audit(self) -> AuditTrail: ...
    @property
    def loops(self) -> LoopsRepository: ...
    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy: ...
    async def complete_claim(self, table: Any, claim: IdempotencyClaim, status: int, body: Any) -> None: ...
    async def snapshot(self) -> None: ...
    def add_event(self, event: Event) -> None: ...
    async def commit(self) -> None: ...


class RegistrationUnit(Protocol):
    """`ctx.uow()` as registration opens it: `async with open_work(ctx) as uow`."""

    async def __aenter__(self) -> Work: ...
    async def __aexit__(self, *exc: object) -> None: ...


def open_work(ctx: ServiceContext[Any]) -> RegistrationUnit:
    """A unit of work of the app (`ctx.uow()`, the service's own class) typed as registration's
    use cases see it."""
    return cast("RegistrationUnit", ctx.uow())


class DciKeys(Protocol):
    """fangfan's DCI signing key and a partner's keys (`adapters/dci_keys.py`)."""

    def sender_id(self) -> str: ...
    def sign(self, settings: Settings, header: dict[str, Any], message: Any) -> str: ...
    def public_jwks(self, settings: Settings) -> dict[str, Any]: ...
    def jwks_problem(self, jwks: Any) -> str | None: ...
    def verify(self, signature: Any, header: dict[str, Any], message: Any, jwks: dict[str, Any]) -> None: ...


class DciTransport(Protocol):
    """Where a DCI partner's callbacks go (`adapters/dci_http.py`): the allow-list and address
    check of a destination, and the POST of a signed envelope (its HTTP status)."""

    async def check_destination(self, url: str, allowlist: str) -> list[str]: ...
    async def post_message(self, url: str, envelope: dict[str, Any], allowlist: str) -> int: ...


class ImportWorker(Protocol):
    """What a bulk import runs in the worker processes (`adapters/import_worker.py`): the pool's
    initializer (the PII keys, dying with the service) and the two chunk tasks — NDJSON bytes, or
    rows already parsed — each returning the chunk prepared for writing. Module-level functions,
    so they pickle by name."""

    @property
    def init(self) -> Callable[..., None]: ...
    @property
    def ndjson(self) -> Callable[..., ChunkResult]: ...
    @property
    def rows(self) -> Callable[..., ChunkResult]: ...
