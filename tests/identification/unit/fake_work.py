"""In-memory repositories implementing `services.identification.application.ports` and a fake
unit of work over them (`FakeWork`), with a fake service context: registration's use cases run
against them without a database (their real-database tests are in ../integration)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from services.identification.adapters.households import (
    HouseholdRecord,
    StoredHousehold,
    StoredMember,
    UpsertOutcome,
    facts_of,
)
from services.identification.adapters.jobs import Job
from services.identification.application.ports import (
    ApplicationExists,
    ApplicationRow,
    CaseFilter,
    CaseListRow,
    CaseRow,
    CaseStamp,
    DuplicateRow,
    HouseholdStatusRow,
    StaleCase,
)
from services.identification.domain.cases import Case
from services.identification.main import extras
from shared import contracts
from shared.events import Event
from shared.pii import FieldCipher, mask_id_number
from shared.policy import ResolvedPolicy, resolve_policy
from shared.policy_store import PolicyStore

CST = dt.timezone(dt.timedelta(hours=8), "CST")


class FakeCases:
    """Cases by id with the columns the use cases read (`region_code`, `application_id`)."""

    def __init__(self, work: FakeWork) -> None:
        self.work = work
        self.by_id: dict[str, tuple[Case, SimpleNamespace]] = {}
        self.statuses: dict[str, str] = {}

    async def get(self, case_id: str) -> tuple[Case, CaseRow] | None:
        return self.by_id.get(case_id)

    async def get_row(self, case_id: str) -> CaseRow | None:
        found = self.by_id.get(case_id)
        return None if found is None else found[1]

    async def add(self, case: Case, *, region_code: str, application_id: str | None = None) -> None:
        self.by_id[case.id] = (
            case,
            SimpleNamespace(id=case.id, region_code=region_code, application_id=application_id),
        )

    async def save_transition(self, before: Case, after: Case, *, opened: Case | None, region_code: str) -> None:
        stored, row = self.by_id[before.id]
        if stored.version != before.version:
            raise StaleCase(before.id)
        self.by_id[before.id] = (after, row)
        if opened is not None:
            await self.add(opened, region_code=region_code)

    async def stamps_of(self, household_id: str) -> list[CaseStamp]:
        return [
            CaseStamp(c.id, str(c.procedure), str(c.state), c.is_open, c.submitted_on)
            for c, _ in self.by_id.values()
            if c.household_id == household_id
        ]

    async def open_cases_of(self, household_id: str) -> list[CaseRow]:
        return [row for c, row in self.by_id.values() if c.household_id == household_id and c.is_open]

    async def application_of_case(self, case_id: str) -> str | None:
        return next((a.id for a in self.work.applications.rows.values() if a.case_id == case_id), None)

    async def page(self, where: CaseFilter, *, offset: int, limit: int) -> tuple[int, list[CaseListRow]]:
        """The cases inside the prefix, of the states, procedure and household asked, in id
        order (`overdue` and `has_open_objection` are the SQL's: tested against the database)."""
        if where.overdue is not None or where.has_open_objection is not None:
            raise NotImplementedError
        found = sorted(
            (
                (c, row)
                for c, row in self.by_id.values()
                if row.region_code.startswith(where.prefix)
                and (not where.states or str(c.state) in where.states)
                and (where.procedure is None or str(c.procedure) == where.procedure)
                and (where.household_id is None or c.household_id == where.household_id)
            ),
            key=lambda found: found[0].id,
        )
        rows: list[CaseListRow] = [
            SimpleNamespace(
                id=c.id,
                household_id=c.household_id,
                region_code=row.region_code,
                procedure=str(c.procedure),
                state=str(c.state),
                category=c.category,
                risk_types=json.dumps(list(c.risk_types)),
                urgent=int(c.urgent),
                deadline=c.deadline,
                comparison_due=c.comparison_due,
                is_open=int(c.is_open),
                version=c.version,
            )
            for c, row in found
        ]
        return len(rows), rows[offset : offset + limit]

    async def household(self, household_id: str) -> HouseholdStatusRow | None:
        if household_id not in self.work.households.by_id:
            return None
        return SimpleNamespace(id=household_id, status=self.statuses.get(household_id, "registered"))

    async def set_household_status(self, household_id: str, status: str) -> None:
        self.statuses[household_id] = status

    async def labor_capacities(self, household_id: str) -> list[str]:
        stored = self.work.households.by_id.get(household_id)
        return [] if stored is None else [m.labor_capacity for m in stored.members]

    async def is_member(self, household_id: str, id_number_index: str) -> bool:
        return id_number_index in self.work.households.indexes.get(household_id, ())

    async def village_figures(self, village: str) -> tuple[int, int]:
        held = [h for h in self.work.households.by_id.values() if h.region_code == village]
        monitored = sum(1 for h in held if self.statuses.get(h.id) == "monitored")
        return sum(len(h.members) for h in held), monitored

    async def measures_told(self, household_id: str) -> Any:
        return SimpleNamespace(measures_since=None, measures_open=None)


class FakeApplications:
    def __init__(self, work: FakeWork) -> None:
        self.work = work
        self.rows: dict[str, SimpleNamespace] = {}

    async def add(self, values: dict[str, Any]) -> None:
        for row in self.rows.values():  # the unique index: one open application per household
            case = self.work.cases.by_id.get(row.case_id)
            same_household = row.household_id == values["household_id"] and row.case_id != values["case_id"]
            if same_household and case is not None and case[0].is_open:
                raise ApplicationExists(values["household_id"])
        self.rows[values["id"]] = SimpleNamespace(**values)

    async def get(self, application_id: str) -> ApplicationRow | None:
        return self.rows.get(application_id)

    async def submitted_by(self, household_id: str, submitter_index: str) -> bool:
        return any(r.household_id == household_id and r.submitter_index == submitter_index for r in self.rows.values())


class FakeHouseholds:
    """Households by id, keyed by number, with their members' blind indexes."""

    def __init__(self, cipher: FieldCipher) -> None:
        self.cipher = cipher
        self.by_id: dict[str, StoredHousehold] = {}
        self.indexes: dict[str, set[str]] = {}
        self.outcomes: dict[str, dict[str, Any]] = {}

    async def get(self, household_id: str, *, cipher: FieldCipher | None = None) -> StoredHousehold | None:
        """With a cipher, members' clear ID numbers and names; without, none (as stored)."""
        stored = self.by_id.get(household_id)
        if stored is None or cipher is not None:
            return stored
        hidden = tuple(dataclasses.replace(m, id_number=None, name=None) for m in stored.members)
        return dataclasses.replace(stored, members=hidden)

    async def upsert(self, cipher: FieldCipher, record: HouseholdRecord, *, source: str) -> UpsertOutcome:
        found = next((h for h in self.by_id.values() if h.household_number == record.household_number), None)
        household_id = found.id if found is not None else f"h{len(self.by_id) + 1}"
        members = tuple(
            StoredMember(
                household_id=household_id,
                position=i,
                id_number_masked=mask_id_number(m.id_number),
                relation=m.relation,
                sex="",
                birth_date=dt.date(1980, 1, 1),
                labor_capacity=str(m.labor_capacity),
                disability_grade=m.disability_grade,
                disability_kind=None,
                serious_illness=m.serious_illness,
                schooling=str(m.schooling),
                id_number=m.id_number,
                name=m.name,
            )
            for i, m in enumerate(record.household.members)
        )
        self.by_id[household_id] = StoredHousehold(
            id=household_id,
            household_number=record.household_number,
            region_code=record.region_code,
            escaped_poverty=record.household.escaped_poverty,
            dibao_status=str(record.household.dibao_status),
            status="registered",
            category=None,
            low_income_category=None,
            warning=None,
            per_capita_income=None,
            version=1 if found is None else found.version + 1,
            facts=facts_of(record.household),
            members=members,
        )
        self.indexes[household_id] = {cipher.blind_index(m.id_number) for m in record.household.members}
        return UpsertOutcome(household_id, "inserted" if found is None else "updated")

    async def record_outcome(self, household_id: str, **values: Any) -> None:
        self.outcomes[household_id] = values

    async def member_households(self, indexes: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        out: dict[str, list[tuple[str, str]]] = {}
        for index in indexes:
            for hid, held in self.indexes.items():
                if index in held:
                    out.setdefault(index, []).append((hid, self.by_id[hid].region_code))
        return out

    async def member_holders(self, indexes: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        return await self.member_households(indexes)

    async def by_number(self, household_number: str) -> tuple[str, str] | None:
        found = next((h for h in self.by_id.values() if h.household_number == household_number), None)
        return None if found is None else (found.id, found.region_code)

    async def flags(self, household_id: str) -> list[dict[str, Any]]:
        return []


class FakeDuplicates:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    async def open_touching(self, household_ids: Sequence[str]) -> list[DuplicateRow]:
        wanted = set(household_ids)
        return [
            SimpleNamespace(**r)
            for r in self.rows.values()
            if r["status"] == "open" and (r["household_id"] in wanted or r["other_household_id"] in wanted)
        ]

    #: the columns a new record leaves empty (NULL in the table)
    _UNRESOLVED = dict.fromkeys(("resolution", "resolution_note", "resolved_by", "resolved_at", "split_household_id"))

    async def add(self, values: dict[str, Any]) -> None:
        self.rows[values["id"]] = self._UNRESOLVED | dict(values)

    async def seen_again(self, duplicate_id: str, *, history: str, at: dt.datetime) -> None:
        row = self.rows[duplicate_id]
        row.update(seen=row["seen"] + 1, history=history, updated_at=at)

    async def get(self, duplicate_id: str) -> DuplicateRow | None:
        row = self.rows.get(duplicate_id)
        return None if row is None else SimpleNamespace(**row)

    async def page(self, *, status: str, prefix: str, after: str | None, limit: int) -> list[DuplicateRow]:
        rows = sorted((r for r in self.rows.values() if r["status"] == status), key=lambda r: r["id"])
        found: list[DuplicateRow] = [SimpleNamespace(**r) for r in rows if r["resolve_region"].startswith(prefix)]
        return found[:limit]

    async def resolve(self, duplicate_id: str, values: dict[str, Any]) -> dict[str, Any] | None:
        row = self.rows.get(duplicate_id)
        if row is None or row["status"] != "open":
            return None
        row.update(values, status="resolved")
        return dict(row)


class FakeImports:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.keys: dict[tuple[str, str], str] = {}

    @property
    def postgres(self) -> bool:
        return False

    async def find_job(self, *, created_by: str, idempotency_key: str) -> Job | None:
        job_id = self.keys.get((created_by, idempotency_key))
        return None if job_id is None else self.jobs[job_id]

    async def create_job(
        self,
        *,
        region: str,
        created_by: str,
        idempotency_key: str | None,
        params: dict[str, Any],
        rows_total: int | None,
    ) -> Job:
        now = dt.datetime.now(dt.UTC)
        job = Job(
            id=f"job{len(self.jobs) + 1}",
            kind="import",
            status="running",
            region=region,
            created_by=created_by,
            idempotency_key=idempotency_key,
            params=params,
            cursor=None,
            rows_done=0,
            rows_failed=0,
            rows_total=rows_total,
            errors=[],
            error_count=0,
            result={},
            started_at=now,
            updated_at=now,
            finished_at=None,
        )
        self.jobs[job.id] = job
        if idempotency_key:
            self.keys[(created_by, idempotency_key)] = job.id
        return job

    async def save_progress(self, job: Job) -> None:
        self.jobs[job.id] = dataclasses.replace(job)

    async def get_job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    async def chunk_summary(self, job_id: str) -> dict[str, Any] | None:
        return None


class FakeAudit:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.unmasked: list[dict[str, Any]] = []

    async def record(self, **entry: Any) -> None:
        self.entries.append(entry)

    async def unmasked_read(self, **entry: Any) -> None:
        self.unmasked.append(entry)


class FakeWork:
    """`application.ports.Work` in memory: what is committed is what was added before `commit`."""

    def __init__(self, cipher: FieldCipher) -> None:
        self.cases = FakeCases(self)
        self.applications = FakeApplications(self)
        self.households = FakeHouseholds(cipher)
        self.duplicates = FakeDuplicates()
        self.imports = FakeImports()
        self.audit = FakeAudit()
        self.claims: list[tuple[Any, int, Any]] = []
        self.pending: list[Event] = []
        self.committed: list[Event] = []
        self.commits = 0

    async def __aenter__(self) -> FakeWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.pending = []  # left without commit: rolled back

    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy:
        return resolve_policy(store.shipped, service=store.service, region_code=region_code, as_of=as_of)

    async def complete_claim(self, table: Any, claim: Any, status: int, body: Any) -> None:
        self.claims.append((claim, status, body))

    async def snapshot(self) -> None:
        return None

    def add_event(self, event: Event) -> None:
        contracts.check(event)  # as the real unit of work does: the payload keeps its contract
        self.pending.append(event)

    async def commit(self) -> None:
        self.committed += self.pending
        self.pending = []
        self.commits += 1

    def events(self, subject: str) -> list[Event]:
        """The committed events `aggregate.name` (e.g. `case.status_changed`)."""
        return [e for e in self.committed if f"{e.domain}.{e.name}" == subject]


class FakeContext:
    """The few things of `ServiceContext` registration's use cases read: the clock (CST, set
    by the test), the field cipher, the app's extras (its policy store), its unit of work."""

    def __init__(self, now: dt.datetime) -> None:
        self.clock = now
        self.cipher = FieldCipher(b"k" * 32, b"i" * 32)
        self.extras = extras()
        self.tables: dict[str, Any] = {"idempotency_keys": None}
        self.work = FakeWork(self.cipher)

    def now(self) -> dt.datetime:
        return self.clock.astimezone(CST)

    def today(self) -> dt.date:
        return self.now().date()

    def uow(self) -> FakeWork:
        return self.work
