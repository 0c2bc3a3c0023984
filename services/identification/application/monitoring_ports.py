"""What monitoring's use cases need of the database (screenings, signals, loops, statistics,
the registry lists, low-income rosters and comparisons, the national sync): repository and
query Protocols reached through the unit of work (`MonitoringWork`), implemented in `adapters/`
(`adapters/work_monitoring.py`) and by in-memory fakes in the unit tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from services.identification.application.ports import CaseEventsWork, OutcomeWriter
from services.identification.domain.national_format import HouseholdMoney, NationalMember
from shared.events import Event
from shared.policy import ResolvedPolicy
from shared.policy_store import PolicyStore

if TYPE_CHECKING:
    from services.identification.application.stored import Chunk, Job, StoredHousehold, StoredMember
    from services.identification.domain.cases import Case
    from services.identification.domain.low_income_roster import OtherFacts
    from shared.pii import FieldCipher

__all__ = [
    "CHUNK_ROW",
    "ChunkRow",
    "ComparisonRowView",
    "FileWriter",
    "HouseholdHead",
    "JobStateView",
    "JointScreeningRead",
    "JointScreeningRowView",
    "LeadListRow",
    "LeadResolutionView",
    "LeadRowView",
    "LoopsRepository",
    "LoopsRowView",
    "LoopsWork",
    "LowIncomeQueries",
    "LowIncomeRepository",
    "LowIncomeWork",
    "MarkRowView",
    "MonitoringUnit",
    "MonitoringWork",
    "NationalFiles",
    "NationalSyncRepository",
    "NoticeCaseRow",
    "OpenCaseRef",
    "OutcomeBuffer",
    "OutcomeRowView",
    "OutcomesWrittenMeanwhile",
    "PolicyRef",
    "RedMarkRow",
    "RegionCountsRow",
    "RegistryItem",
    "RegistryPageRow",
    "RegistryQueries",
    "RosterRow",
    "ScheduleRepository",
    "ScreeningCodec",
    "ScreeningRepository",
    "SignalHousehold",
    "SignalRowView",
    "SignalsRepository",
    "SignalsWork",
    "StatisticsQueries",
    "StatisticsWork",
    "SummaryScanRow",
    "WarningRowView",
]

#: The positions in a screening chunk's row (`ScreeningRepository.chunk_rows`): household id,
#: household number, village code, screening profile, previous warning ('' when the outcome has
#: none, None when there is no outcome yet).
CHUNK_ROW = (ID, NUMBER, REGION, PROFILE, WARNING) = range(5)
#: A screening chunk's row as SQLite gives it (PostgreSQL gives the chunk as COPY text).
ChunkRow = tuple[str, str, str, str | None, str | None]


@dataclass(frozen=True, slots=True)
class HouseholdHead:
    """A list item's household head: never a name (`name` is always None), the masked ID number."""

    relation: str | None
    sex: str | None
    birth_year: int
    id_number_masked: str | None


@dataclass(frozen=True, slots=True)
class OpenCaseRef:
    """A list item's open case: its procedure, state, deadline and whether it is overdue."""

    id: str
    procedure: str
    state: str
    deadline: dt.date | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class RegistryItem:
    """One household of a registry list (`GET /households`, the roster): its outcome's category
    and warning, its member count, its masked head and its open case."""

    id: str
    household_number: str
    region_code: str
    status: str
    category: str | None
    low_income_category: str | None
    warning: str | None
    members: int
    head: HouseholdHead | None
    open_case: OpenCaseRef | None
    updated_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """The policy version an outcome was evaluated under."""

    id: str | None
    version: str | None


@dataclass(frozen=True, slots=True)
class RosterRow:
    """A roster page's household with its stored outcome's figures and the facts behind the
    `other` low-income reasons."""

    household: RegistryItem
    per_capita_income: Decimal | None
    assessed_as_of: dt.date | None
    policy: PolicyRef | None
    facts: OtherFacts


# --------------------------------------------------------------------------- stored rows
# What the use cases read of a stored row: read-only Protocols (a SQLAlchemy `Row` of the
# adapter's select, or a test's fake, satisfies them), so mypy checks every attribute read.


class LoopsRowView(Protocol):
    """A household's loops row (`household_loops`)."""

    @property
    def reassessment(self) -> str | None: ...  # JSON
    @property
    def red_mark_reason(self) -> str | None: ...
    @property
    def red_marked_by(self) -> str | None: ...
    @property
    def red_marked_at(self) -> dt.datetime | None: ...
    @property
    def income_visited_on(self) -> dt.date | None: ...


class MarkRowView(Protocol):
    """A row of a household's mark history (`household_marks`)."""

    @property
    def action(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def by(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def at(self) -> dt.datetime: ...


class SignalRowView(Protocol):
    """A received department signal (`signals`)."""

    @property
    def id(self) -> str: ...
    @property
    def source_dept(self) -> str: ...
    @property
    def signal_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def household_id(self) -> str | None: ...
    @property
    def lead_id(self) -> str | None: ...
    @property
    def observed_at(self) -> dt.datetime: ...
    @property
    def payload(self) -> str: ...  # JSON
    @property
    def outcome(self) -> str: ...
    @property
    def warning(self) -> str | None: ...
    @property
    def case_id(self) -> str | None: ...
    @property
    def received_by(self) -> str: ...


class SignalHousehold(Protocol):
    """A household as the signal rules see it: id, region, status and its outcome's category."""

    @property
    def id(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def category(self) -> str | None: ...


class WarningRowView(Protocol):
    """A household's department-signal warning (`risk_warnings`)."""

    @property
    def colour(self) -> str: ...
    @property
    def risk_types(self) -> str: ...  # JSON list
    @property
    def kinds(self) -> str: ...  # JSON list
    @property
    def signals(self) -> int: ...
    @property
    def raised_at(self) -> dt.datetime: ...
    @property
    def updated_at(self) -> dt.datetime: ...


class LeadRowView(Protocol):
    """A lead: an unknown person named by departments (`leads`)."""

    @property
    def id(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def id_number_masked(self) -> str: ...
    @property
    def source_dept(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def risk_types(self) -> str: ...  # JSON list
    @property
    def warning(self) -> str | None: ...
    @property
    def signals(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def first_observed_at(self) -> dt.datetime: ...


class LeadListRow(LeadRowView, Protocol):
    """A lead of a list with its resolution's columns (None while it is open)."""

    @property
    def household_id(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def resolved_at(self) -> dt.datetime | None: ...
    @property
    def resolved_role(self) -> str | None: ...


class LeadResolutionView(Protocol):
    """A lead's resolution (`lead_resolutions`)."""

    @property
    def household_id(self) -> str | None: ...


class RegionCountsRow(Protocol):
    """`StatisticsQueries.by_region`: a region's households and how many of them are in which status."""

    @property
    def region(self) -> str: ...
    @property
    def households(self) -> int: ...
    @property
    def monitored(self) -> int | None: ...
    @property
    def eliminated(self) -> int | None: ...
    @property
    def cleared(self) -> int | None: ...


#: `StatisticsQueries.summary_scan`: (region, status, category, low-income category, warning
#: colour, households).
SummaryScanRow = tuple[str, str, str | None, str | None, str | None, int]


class NoticeCaseRow(Protocol):
    """A case under public notice (`cases`), as the notice prints it."""

    @property
    def household_id(self) -> str: ...
    @property
    def procedure(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def risk_types(self) -> str: ...  # JSON list
    @property
    def notice_started_on(self) -> dt.date | None: ...
    @property
    def notice_days(self) -> int | None: ...


class ComparisonRowView(Protocol):
    """A monthly comparison task (`low_income_comparisons`); JSON columns as text."""

    @property
    def id(self) -> str: ...
    @property
    def county(self) -> str: ...
    @property
    def month(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def due_on(self) -> dt.date: ...
    @property
    def due_rule(self) -> str: ...
    @property
    def receipt(self) -> str | None: ...
    @property
    def received_at(self) -> dt.datetime | None: ...
    @property
    def received_by(self) -> str | None: ...
    @property
    def result(self) -> str | None: ...
    @property
    def compared_at(self) -> dt.datetime | None: ...
    @property
    def compared_by(self) -> str | None: ...
    @property
    def overdue_at(self) -> dt.datetime | None: ...
    @property
    def history(self) -> str: ...
    @property
    def version(self) -> int: ...


class JointScreeningRowView(Protocol):
    """A joint screening run (`joint_screenings`); JSON columns as text."""

    @property
    def id(self) -> str: ...
    @property
    def county(self) -> str: ...
    @property
    def period(self) -> str: ...
    @property
    def job_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def as_of(self) -> dt.date: ...
    @property
    def schedule(self) -> str: ...
    @property
    def result(self) -> str | None: ...
    @property
    def started_by(self) -> str: ...
    @property
    def started_at(self) -> dt.datetime: ...
    @property
    def finished_at(self) -> dt.datetime | None: ...


class JointScreeningRead(JointScreeningRowView, Protocol):
    """A joint screening run with its job's progress (`LowIncomeQueries.joint_screening_rows`)."""

    @property
    def job_status(self) -> str | None: ...
    @property
    def rows_done(self) -> int | None: ...
    @property
    def rows_total(self) -> int | None: ...


class JobStateView(Protocol):
    """A job's status and progress (`LowIncomeQueries.job_state`)."""

    @property
    def status(self) -> str: ...
    @property
    def rows_done(self) -> int: ...
    @property
    def rows_total(self) -> int | None: ...
    @property
    def result(self) -> str | None: ...


class RegistryPageRow(Protocol):
    """A household of a registry page before its items are made (`RegistryQueries.page`)."""

    @property
    def id(self) -> str: ...
    @property
    def household_number(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def updated_at(self) -> dt.datetime | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def low_income_category(self) -> str | None: ...
    @property
    def warning(self) -> str | None: ...


class OutcomeRowView(Protocol):
    """A household's latest stored outcome (`household_outcomes`)."""

    @property
    def category(self) -> str | None: ...
    @property
    def low_income_category(self) -> str | None: ...
    @property
    def warning(self) -> str | None: ...
    @property
    def per_capita_income(self) -> Decimal | None: ...
    @property
    def assessed_at(self) -> dt.datetime: ...
    @property
    def as_of(self) -> dt.date | None: ...
    @property
    def policy_id(self) -> str | None: ...
    @property
    def policy_version(self) -> str | None: ...
    @property
    def screening_job_id(self) -> str | None: ...


class RedMarkRow(Protocol):
    """A household's red mark (`RegistryQueries.red_mark`)."""

    @property
    def red_mark_reason(self) -> str: ...
    @property
    def red_marked_at(self) -> dt.datetime | None: ...


class OutcomesWrittenMeanwhile(Exception):
    """A household the chunk read without an outcome was given one before the chunk's write (an
    application's assessment): the chunk is written again, every outcome as an upsert."""


class ScreeningRepository(Protocol):
    """Screening jobs and chunks, a chunk's rows, its outcomes and outbox rows in bulk."""

    async def create_job(self, *, region: str, created_by: str, as_of: dt.date, size: int) -> tuple[Job, int]: ...
    async def get_job(self, job_id: str) -> Job | None: ...
    async def lock_job(self, job_id: str) -> Job | None: ...
    async def save_progress(self, job: Job) -> None: ...
    async def claim_chunk(self, *, replica: str, lease: dt.timedelta) -> Chunk | None: ...
    async def finish_chunk(self, chunk: Chunk, *, replica: str, counts: dict[str, int]) -> bool: ...
    async def chunks_left(self, job_id: str) -> int: ...
    async def chunk_villages(self, chunk: Chunk) -> list[str]: ...
    async def chunk_rows(self, chunk: Chunk) -> bytes | list[ChunkRow]: ...
    async def stored_household(self, household_id: str) -> StoredHousehold | None: ...
    async def region_page(self, region: str, *, after: tuple[str, str] | None, limit: int) -> list[StoredHousehold]: ...
    def codec(self) -> ScreeningCodec: ...
    async def write_outcomes(self, rows: list[Any], *, new: Sequence[Any] = ()) -> None: ...
    async def write_outbox(self, rows: list[tuple[str, str, bytes, dt.datetime]]) -> None: ...


class ScheduleRepository(Protocol):
    """The counties screened on a schedule and the (county, period) row one replica takes."""

    async def counties(self) -> list[str]: ...
    async def claim_slot(self, county: str, period: str, *, replica: str, at: dt.datetime) -> bool: ...
    async def set_job(self, county: str, period: str, job_id: str) -> None: ...


class LoopsRepository(OutcomeWriter, Protocol):
    """A household's loops row, measures and mark history, and what an income update writes."""

    async def ensure_row(self, household_id: str, region_code: str, at: dt.datetime) -> LoopsRowView: ...
    async def record_measures_since(self, household_id: str, on: dt.date, at: dt.datetime) -> None: ...
    async def measure_status(self, measure_id: str) -> str | None: ...
    async def add_measure(
        self,
        *,
        measure_id: str,
        household_id: str,
        plan_id: str | None,
        type_: str | None,
        status: str,
        on: dt.date | None,
        at: dt.datetime,
    ) -> None: ...
    async def set_measure_status(self, measure_id: str, status: str, on: dt.date | None, at: dt.datetime) -> None: ...
    async def household_for_update(self, household_id: str) -> StoredHousehold | None: ...
    async def household(self, household_id: str) -> StoredHousehold | None: ...
    async def store_facts(self, household_id: str, facts: Mapping[str, Any], profile: str, at: dt.datetime) -> None: ...
    async def save_reassessment(
        self,
        household_id: str,
        *,
        visited_on: dt.date,
        visit_id: str | None,
        reassessment: Mapping[str, Any],
        at: dt.datetime,
    ) -> None: ...
    async def set_red_mark(self, household_id: str, *, mark: bool, reason: str, by: str, at: dt.datetime) -> bool: ...
    async def add_mark(
        self, household_id: str, *, action: str, reason: str, by: str, role: str, at: dt.datetime
    ) -> None: ...
    async def audit(
        self,
        *,
        kind: str,
        household_id: str,
        region_code: str,
        actor: str,
        role: str,
        at: dt.datetime,
        detail: Mapping[str, Any],
    ) -> None: ...
    async def row(self, household_id: str) -> LoopsRowView | None: ...
    async def facts(self, household_id: str) -> LoopFacts: ...
    async def marks(self, household_id: str) -> list[MarkRowView]: ...


class LoopsWork(Protocol):
    """What the loops' use cases need of the unit of work (a consumer's or a request's)."""

    @property
    def loops(self) -> LoopsRepository: ...
    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy: ...
    def add_event(self, event: Event) -> None: ...
    async def commit(self) -> None: ...


class SignalsRepository(Protocol):
    """Department signals, the households they match, their warning, leads and resolutions."""

    async def existing(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SignalRowView]: ...
    async def households(self, ids: Sequence[str]) -> dict[str, SignalHousehold]: ...
    async def households_by_member_index(self, indexes: Sequence[str]) -> dict[str, tuple[str, str]]: ...
    async def open_cases_of_households(self, household_ids: Sequence[str]) -> dict[str, str]: ...
    async def labor_capacities(self, household_id: str) -> list[str]: ...
    async def add_case(self, case: Case, *, region_code: str) -> None: ...
    async def add_signals(self, rows: Sequence[Mapping[str, Any]]) -> None: ...
    async def set_signal_household(self, signal_row_id: str, household_id: str, case_id: str | None) -> None: ...
    async def warning(self, household_id: str) -> WarningRowView | None: ...
    async def add_warning(
        self,
        household_id: str,
        *,
        region_code: str,
        colour: str,
        risk_types: Sequence[str],
        kinds: Sequence[str],
        signals: int,
        at: dt.datetime,
    ) -> None: ...
    async def update_warning(
        self,
        household_id: str,
        *,
        colour: str,
        risk_types: Sequence[str],
        kinds: Sequence[str],
        more_signals: int,
        at: dt.datetime,
    ) -> None: ...
    async def open_lead(self, id_number_index: str, region_code: str) -> LeadRowView | None: ...
    async def add_to_lead(self, lead_id: str, *, warning: str, risk_types: Sequence[str], at: dt.datetime) -> None: ...
    async def add_lead(self, values: Mapping[str, Any]) -> None: ...
    async def leads(self, prefix: str, *, status: str, limit: int) -> list[LeadListRow]: ...
    async def lead(self, lead_id: str) -> LeadRowView | None: ...
    async def resolution(self, lead_id: str) -> LeadResolutionView | None: ...
    async def lead_signals(self, lead_id: str) -> list[SignalRowView]: ...
    async def resolve_lead(
        self, lead_id: str, *, status: str, resolution: Mapping[str, Any], at: dt.datetime
    ) -> None: ...
    async def audit(self, **entry: Any) -> None: ...


class SignalsWork(CaseEventsWork, Protocol):
    """What the signals' use cases need of the unit of work; a case a signal opens is written
    through `application.cases.emit_case_events` (`CaseEventsWork`)."""

    @property
    def signals(self) -> SignalsRepository: ...
    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy: ...
    def add_event(self, event: Event) -> None: ...
    async def commit(self) -> None: ...


class StatisticsQueries(Protocol):
    """Counts over a region's households, outcomes, warnings and cases; a notice's members."""

    @property
    def nulls_first(self) -> bool: ...
    async def by_region(self, prefix: str, n: int) -> list[RegionCountsRow]: ...
    async def by_outcome_column(self, prefix: str, column_name: str) -> list[tuple[str | None, str, int]]: ...
    async def identification_risks(self, prefix: str) -> list[tuple[str, str | None]]: ...
    async def identified_by_month(self, prefix: str) -> list[tuple[str, str | None, int]]: ...
    async def by_warning(self, prefix: str) -> list[tuple[str, int]]: ...
    async def open_cases(self, prefix: str, n: int) -> dict[str, int]: ...
    async def case_states(self, prefix: str, today: dt.date) -> list[tuple[str, str, int, int | None]]: ...
    async def summary_scan(self, prefix: str, n: int) -> list[SummaryScanRow]: ...
    async def monitored_per_village(self, prefix: str) -> dict[str, int]: ...
    async def population(self, *, prefix: str | None = None, villages: Sequence[str] = ()) -> dict[str, int]: ...
    async def notice_cases(self, village: str) -> list[NoticeCaseRow]: ...
    async def masked_members(self, household_ids: Sequence[str]) -> list[tuple[str, str, str]]: ...
    async def region_page(self, prefix: str, *, after: tuple[str, str] | None, limit: int) -> list[StoredHousehold]: ...


class StatisticsWork(Protocol):
    """What the statistics need: their queries and the policy in force (read only)."""

    @property
    def statistics(self) -> StatisticsQueries: ...
    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy: ...


class LowIncomeRepository(Protocol):
    """Monthly comparison tasks (optimistic concurrency) and joint screening runs (the
    (county, half-year) row is the lease)."""

    async def add_comparison_tasks(self, rows: list[dict[str, Any]]) -> list[str]: ...
    async def comparison_for_update(self, task_id: str) -> ComparisonRowView | None: ...
    async def save_comparison(self, task_id: str, version: int, values: dict[str, Any]) -> bool: ...
    async def overdue_candidates(self, today: dt.date) -> list[ComparisonRowView]: ...
    async def claim_joint_screening(self, row: dict[str, Any]) -> bool: ...
    async def joint_screening(self, county: str, period: str) -> JointScreeningRowView | None: ...
    async def running_joint_screenings(self) -> list[JointScreeningRowView]: ...
    async def finish_joint_screening(
        self, run_id: str, *, status: str, result: dict[str, Any] | None, at: dt.datetime
    ) -> bool: ...


class LowIncomeQueries(Protocol):
    """The low-income side's reads: roster pages, category counts, comparisons, joint runs."""

    async def one_snapshot(self) -> None: ...
    async def roster_page(self, f: RosterFilter, *, limit: int, today: dt.date) -> tuple[list[RosterRow], bool]: ...
    async def category_counts(self, prefix: str, level: int) -> dict[tuple[str, str], tuple[int, int]]: ...
    async def counties_with_households(self) -> list[str]: ...
    async def linked_signal_counts(
        self, *, county: str, source_dept: str, since: dt.datetime, until: dt.datetime
    ) -> dict[str, int]: ...
    async def job_state(self, job_id: str) -> JobStateView | None: ...
    async def screening_result_counts(self, job_id: str) -> dict[str, Any]: ...
    async def joint_screening_rows(
        self, *, prefix: str, period: str | None = None, ids: Sequence[str] | None = None
    ) -> list[JointScreeningRead]: ...
    async def comparison_rows(
        self,
        *,
        prefix: str,
        month: str | None = None,
        state: str | None = None,
        department: str | None = None,
        task_id: str | None = None,
    ) -> list[ComparisonRowView]: ...


class LowIncomeWork(Protocol):
    """What the low-income use cases need: their repository and reads, the screening a joint
    run starts, the statistics a summary adds up to, the policy in force."""

    @property
    def low_income(self) -> LowIncomeRepository: ...
    @property
    def low_income_queries(self) -> LowIncomeQueries: ...
    @property
    def screening(self) -> ScreeningRepository: ...
    @property
    def statistics(self) -> StatisticsQueries: ...
    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy: ...
    def add_event(self, event: Event) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class NationalSyncRepository(Protocol):
    """National sync runs (leased to one replica), their staged rows, the county's cursor and
    exported state, the run's job, the file download's audit row."""

    async def counties_in(self, region: str) -> list[str]: ...
    async def get_cursor(self, county: str) -> tuple[int, dt.datetime | None]: ...
    async def running_run(self, county: str) -> Run | None: ...
    async def create_run(self, values: dict[str, Any]) -> tuple[Run, bool]: ...
    async def get_run(self, run_id: str) -> Run | None: ...
    async def list_runs(self, region: str, *, county: str | None, status: str | None, limit: int) -> list[Run]: ...
    async def claim_run(self, *, replica: str, lease: dt.timedelta) -> Run | None: ...
    async def still_holds(self, run_id: str, *, replica: str, lease: dt.timedelta) -> bool: ...
    async def set_phase(self, run_id: str, phase: str) -> None: ...
    async def count_candidates(self, county: str, lo: dt.datetime | None) -> int: ...
    async def candidates(
        self, cipher: FieldCipher, county: str, *, lo: dt.datetime | None, after: tuple[str, str] | None, limit: int
    ) -> list[Candidate]: ...
    async def exported_hashes(self, county: str, ids: Sequence[str]) -> dict[str, str]: ...
    async def stage_rows(self, run_id: str, rows: Sequence[StagedRow]) -> None: ...
    async def removals(self, county: str, run_id: str) -> list[tuple[str, str, str]]: ...
    async def staged_page(self, run_id: str, *, after: tuple[str, str] | None, limit: int) -> list[StagedRow]: ...
    async def complete_run(
        self, run: Run, *, households_count: int, checksum: str, size: int, at: dt.datetime
    ) -> None: ...
    async def claim_day(self, county: str, day: dt.date, replica: str) -> bool: ...
    async def set_day_run(self, county: str, day: dt.date, run_id: str) -> None: ...
    async def create_job(
        self, *, kind: str, region: str, created_by: str, params: dict[str, Any], rows_total: int
    ) -> Job: ...
    async def get_job(self, job_id: str) -> Job | None: ...
    async def save_progress(self, job: Job) -> None: ...
    async def record_unmasked_read(
        self, *, actor: str, role: str, household_id: str, fields: str, reason: str, request_id: str
    ) -> None: ...


class RegistryQueries(Protocol):
    """The household registry look-up: keyset pages, the head-name index, a household's risk."""

    async def refresh_head_index(self, cipher: FieldCipher, region: str) -> int: ...
    async def heads_named(self, cipher: FieldCipher, region: str, name: str, *, cap: int) -> list[str]: ...
    async def narrow(self, f: RegistryFilter) -> RegistryFilter: ...
    async def page(self, f: RegistryFilter, *, limit: int) -> list[RegistryPageRow]: ...
    async def page_items(self, rows: Sequence[RegistryPageRow], *, today: dt.date) -> list[RegistryItem]: ...
    async def members_with_id_number(self, cipher: FieldCipher, id_number: str) -> list[StoredMember]: ...
    async def outcome(self, household_id: str) -> OutcomeRowView | None: ...
    async def signal_warning(self, household_id: str) -> WarningRowView | None: ...
    async def red_mark(self, household_id: str) -> RedMarkRow | None: ...


class MonitoringWork(Protocol):
    """The unit of work as monitoring's use cases see it: one transaction, its repositories and
    queries, the events it will write to the outbox, its commit."""

    @property
    def screening(self) -> ScreeningRepository: ...
    @property
    def schedule(self) -> ScheduleRepository: ...
    @property
    def loops(self) -> LoopsRepository: ...
    @property
    def registry(self) -> RegistryQueries: ...
    @property
    def signals(self) -> SignalsRepository: ...
    @property
    def statistics(self) -> StatisticsQueries: ...
    @property
    def low_income(self) -> LowIncomeRepository: ...
    @property
    def low_income_queries(self) -> LowIncomeQueries: ...
    @property
    def national_sync(self) -> NationalSyncRepository: ...
    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy: ...
    def add_event(self, event: Event) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class MonitoringUnit(Protocol):
    """`ctx.uow()` as monitoring opens it: `async with work(ctx) as uow`."""

    async def __aenter__(self) -> MonitoringWork: ...
    async def __aexit__(self, *exc: object) -> None: ...


HOUSEHOLD_STATUSES = ("registered", "monitored", "eliminated", "cleared")


@dataclass(frozen=True, slots=True)
class RegistryFilter:
    """`region` is already the narrower of the caller's and the requested one ("" = everywhere)."""

    region: str
    state: str | None = None  # a household status, or "open_case"
    warning: str | None = None
    category: str | None = None
    number_prefix: str | None = None
    household_ids: Sequence[str] | None = None  # from a name or ID-number look-up
    after: tuple[str, str] | None = None  # keyset: (region_code, id) of the last item shown


@dataclass(frozen=True, slots=True)
class RosterFilter:
    region: str
    category: str | None = None
    warning: str | None = None
    after: tuple[str, str] | None = None


#: measure statuses that are final (delivered or given up)
FINAL = frozenset({"closed", "dropped"})


@dataclass(frozen=True, slots=True)
class LoopFacts:
    """What assistance told about a household, for the §5 guards."""

    measures_since: dt.date | None
    #: None: no measure heard of (the `measures_open` guard stays out)
    measures_open: int | None
    counts: Mapping[str, int]


#: associated data of a staged row's encryption
ROW_CONTEXT = b"national_sync_rows.row"


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    county: str
    sequence: int
    full: bool
    status: str
    since: dt.datetime | None
    until: dt.datetime
    period: str
    file_name: str
    phase: str
    households: int | None
    checksum: str | None
    bytes: int | None
    created_by: str
    claimed_by: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A county household as the national file needs it (members decrypted: never log it)."""

    id: str
    household_number: str
    region_code: str
    status: str
    escaped_poverty: bool
    category: str | None
    risk_types: tuple[str, ...]
    low_income_category: str | None
    per_capita_income: Decimal | None
    income: HouseholdMoney
    monitored_since: dt.date | None
    eliminated_on: dt.date | None
    measures: tuple[tuple[str, str], ...]
    members: tuple[NationalMember, ...]


@dataclass(frozen=True, slots=True)
class StagedRow:
    household_id: str
    region_code: str
    household_number: str
    change: str
    row_hash: str
    row_enc: bytes


class FileWriter(Protocol):
    """A national file being written: parts in order, then finish (or abort: nothing is left)."""

    def add(self, part: bytes) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


class NationalFiles(Protocol):
    """Where the national sync's files live and how they are written and read back, encrypted at
    rest (`adapters/national_sync_files.py`)."""

    def path(self, data_dir: Path, county: str, name: str) -> Path: ...
    def writer(self, path: Path, cipher: FieldCipher) -> FileWriter: ...
    def read(self, path: Path, cipher: FieldCipher) -> Iterator[bytes]: ...


class OutcomeBuffer(Protocol):
    """A chunk's outcomes as its database takes them (`write_outcomes`): `rows` of households that
    had an outcome row, `new` of those that had none."""

    rows: list[Any]
    new: list[Any]

    def __len__(self) -> int: ...
    def add(
        self, hs: list[Any], pc: list[int], category: list[int], low: list[int], warning: list[int], policy: Any
    ) -> None: ...


class ScreeningCodec(Protocol):
    """A screening chunk's rows in the database's wire format (`adapters/screening_rows.py`):
    decoded for the evaluator, and the outcomes encoded for writing. Picklable: it goes to the
    worker process with the chunk."""

    def decode(self, rows: bytes | Sequence[ChunkRow]) -> Sequence[Sequence[Any]]: ...
    def outcomes(self, now: dt.datetime, as_of: dt.date, job_id: str) -> OutcomeBuffer: ...
