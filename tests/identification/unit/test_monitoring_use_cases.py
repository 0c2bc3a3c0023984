"""Monitoring's use cases against in-memory units of work (the Protocols of
`application/monitoring_ports.py`, no database): a department signal applied to a household,
a measure's status and the red mark in the loops, a low-income comparison's state change. The
same use cases run against SQLite and PostgreSQL in tests/identification/integration."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from services.identification.adapters.dci_repo import Partner
from services.identification.adapters.loops_repo import FINAL, LoopFacts
from services.identification.adapters.national_sync_repo import Run
from services.identification.application import (
    dci,
    loops,
    low_income,
    national_sync,
    negative_flags,
    scheduled,
    signals,
)
from services.identification.application import registry as registry_uc
from services.identification.application import statistics as stats
from services.identification.application.low_income import ReceiveComparison, receive_comparison
from services.identification.application.monitoring_ports import (
    ComparisonRowView,
    HouseholdHead,
    JointScreeningRead,
    JointScreeningRowView,
    LeadListRow,
    LeadResolutionView,
    LeadRowView,
    LoopsRowView,
    MarkRowView,
    NoticeCaseRow,
    PolicyRef,
    RegionCountsRow,
    RegistryItem,
    RegistryPageRow,
    RosterRow,
    SignalHousehold,
    SignalRowView,
    SummaryScanRow,
    WarningRowView,
)
from services.identification.domain.low_income_roster import OTHER_SOURCE, OtherFacts
from services.identification.main import extras as app_extras
from shared import contracts
from shared.app import CST
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import Event
from shared.pii import FieldCipher
from shared.policy import PolicyNotFound

NOW = dt.datetime(2024, 6, 10, 9, 30, tzinfo=CST)
VILLAGE = "341221001001"
COUNTY_OFFICER = Principal(sub="officer-1", role="county", region="341221")


@dataclass
class FakeCtx:
    """What the use cases read of the service context: its clock, its cipher, its extras."""

    extras: Any = field(default_factory=app_extras)  # the app's own: its ports filled with the adapters
    cipher: FieldCipher = field(default_factory=lambda: FieldCipher(b"k" * 32, b"i" * 32))

    def now(self) -> dt.datetime:
        return NOW

    def today(self) -> dt.date:
        return NOW.date()


class FakeWork:
    """The unit of work: repositories in memory, the events it would write, whether it
    committed."""

    def __init__(self, **repositories: Any) -> None:
        self.__dict__.update(repositories)
        self.events: list[Event] = []
        self.committed = 0

    def add_event(self, event: Event) -> None:
        contracts.check(event)  # as the real unit of work does: the payload keeps its contract
        self.events.append(event)

    async def commit(self) -> None:
        self.committed += 1

    async def rollback(self) -> None:
        self.events = []

    async def resolve_policy(self, store: Any, region_code: str, as_of: dt.date) -> Any:
        raise AssertionError("no policy is needed here")


# --------------------------------------------------------------------------- signals


class FakeSignals:
    """`SignalsRepository` over dicts."""

    def __init__(self, households: dict[str, Any]) -> None:
        self.household_rows = households
        self.rows: list[dict[str, Any]] = []
        self.warnings: dict[str, SimpleNamespace] = {}

    async def existing(self, keys: Any) -> dict[tuple[str, str], SignalRowView]:
        wanted = set(keys)
        return {
            (r["source_dept"], r["signal_id"]): SimpleNamespace(**r)
            for r in self.rows
            if (r["source_dept"], r["signal_id"]) in wanted
        }

    async def households(self, ids: Any) -> dict[str, SignalHousehold]:
        return {i: self.household_rows[i] for i in ids if i in self.household_rows}

    async def households_by_member_index(self, indexes: Any) -> dict[str, tuple[str, str]]:
        return {}

    async def open_cases_of_households(self, household_ids: Any) -> dict[str, str]:
        return {}

    async def labor_capacities(self, household_id: str) -> list[str]:
        return ["full", "none"]

    async def add_signals(self, rows: Any) -> None:
        self.rows.extend(rows)

    async def warning(self, household_id: str) -> WarningRowView | None:
        return self.warnings.get(household_id)

    async def add_warning(
        self,
        household_id: str,
        *,
        region_code: str,
        colour: str,
        risk_types: Any,
        kinds: Any,
        signals: int,
        at: dt.datetime,
    ) -> None:
        self.warnings[household_id] = SimpleNamespace(
            colour=colour, risk_types=json.dumps(list(risk_types)), kinds=json.dumps(list(kinds)), signals=signals
        )

    async def update_warning(
        self, household_id: str, *, colour: str, risk_types: Any, kinds: Any, more_signals: int, at: dt.datetime
    ) -> None:
        w = self.warnings[household_id]
        w.colour, w.risk_types, w.kinds = colour, json.dumps(list(risk_types)), json.dumps(list(kinds))
        w.signals += more_signals


def _signal(signal_id: str, kind: str, household_id: str = "h1") -> signals.SignalItem:
    return signals.SignalItem(
        source_dept="civil_affairs",
        signal_id=signal_id,
        kind=kind,
        region_code=VILLAGE,
        observed_at=NOW,
        payload={},
        household_id=household_id,
    )


DEPARTMENT = Principal(sub="civil_affairs", role="department", region="341221", dept="civil_affairs")


async def test_a_signal_matched_to_a_household_raises_its_warning_once() -> None:
    """A department's signal for a known household: the warning is raised (yellow for a
    cancelled dibao, red once a dangerous-house report follows: the worse colour wins, the
    kinds add up), `risk.warning_raised` is written with the previous colour, and the same
    signal sent again is a duplicate with no second effect."""
    monitored = SimpleNamespace(id="h1", region_code=VILLAGE, status="monitored", category="marginal")
    repo = FakeSignals({"h1": monitored})
    work = FakeWork(signals=repo)
    ctx = FakeCtx()

    batch = signals.ReceiveSignals([_signal("s1", "dibao_cancelled")])
    first = await signals.receive_signals(ctx, work, DEPARTMENT, batch)  # type: ignore[arg-type]
    assert first.outcomes == [
        signals.SignalOutcome(
            signal_id="s1",
            source_dept="civil_affairs",
            kind="dibao_cancelled",
            outcome="warning",
            household_id="h1",
            warning="yellow",
        )
    ]
    assert first.received == 1
    assert repo.warnings["h1"].colour == "yellow"
    [raised] = work.events
    assert (raised.domain, raised.name, raised.data["warning"], raised.data["previous_warning"]) == (
        "risk",
        "warning_raised",
        "yellow",
        None,
    )
    assert raised.data["has_labor_capacity"] is True

    work.events.clear()
    second = await signals.receive_signals(
        ctx,
        work,  # type: ignore[arg-type]
        DEPARTMENT,
        signals.ReceiveSignals([_signal("s2", "dangerous_house"), _signal("s1", "dibao_cancelled")]),
    )
    assert [o.outcome for o in second.outcomes] == ["warning", "duplicate"]
    assert second.outcomes[1].first_outcome == "warning"
    assert second.counts == {"warning": 1, "duplicate": 1}
    w = repo.warnings["h1"]
    assert (w.colour, w.signals, json.loads(w.kinds)) == ("red", 2, ["dangerous_house", "dibao_cancelled"])
    [raised] = work.events
    assert (raised.data["warning"], raised.data["previous_warning"]) == ("red", "yellow")
    assert [r["signal_id"] for r in repo.rows] == ["s1", "s2"]
    assert work.committed == 2


async def test_a_signal_of_another_department_or_outside_the_region_is_refused() -> None:
    repo = FakeSignals({})
    work = FakeWork(signals=repo)
    other = signals.SignalItem("medical_insurance", "x1", "hospital_stay", VILLAGE, NOW, {}, household_id="h1")
    far = signals.SignalItem("civil_affairs", "x2", "dropout", "350102001001", NOW, {}, household_id="h1")
    body = await signals.receive_signals(FakeCtx(), work, DEPARTMENT, signals.ReceiveSignals([other, far]))  # type: ignore[arg-type]
    assert [(o.outcome, o.code) for o in body.outcomes] == [
        ("refused", "department_mismatch"),
        ("refused", "out_of_scope"),
    ]
    assert repo.rows == []
    assert work.events == []


# --------------------------------------------------------------------------- loops


class FakeLoops:
    """`LoopsRepository` over dicts (the part the measures and the red mark use)."""

    def __init__(self, households: dict[str, Any] | None = None) -> None:
        self.households = households or {}
        self.rows: dict[str, SimpleNamespace] = {}
        self.measures: dict[str, dict[str, Any]] = {}
        self.mark_history: list[dict[str, Any]] = []
        self.audits: list[dict[str, Any]] = []

    async def ensure_row(self, household_id: str, region_code: str, at: dt.datetime) -> LoopsRowView:
        return self.rows.setdefault(
            household_id,
            SimpleNamespace(
                measures_since=None, reassessment=None, red_mark_reason=None, red_marked_by=None, red_marked_at=None
            ),
        )

    async def record_measures_since(self, household_id: str, on: dt.date, at: dt.datetime) -> None:
        row = self.rows[household_id]
        if row.measures_since is None or row.measures_since > on:
            row.measures_since = on

    async def measure_status(self, measure_id: str) -> str | None:
        m = self.measures.get(measure_id)
        return None if m is None else str(m["status"])

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
    ) -> None:
        self.measures[measure_id] = {"household_id": household_id, "status": status, "on": on}

    async def set_measure_status(self, measure_id: str, status: str, on: dt.date | None, at: dt.datetime) -> None:
        self.measures[measure_id].update(status=status, on=on)

    async def household(self, household_id: str) -> Any:
        return self.households.get(household_id)

    async def set_red_mark(self, household_id: str, *, mark: bool, reason: str, by: str, at: dt.datetime) -> bool:
        row = self.rows[household_id]
        if (row.red_mark_reason is None) != mark:
            return False
        row.red_mark_reason, row.red_marked_by, row.red_marked_at = (reason, by, at) if mark else (None, None, None)
        return True

    async def add_mark(
        self, household_id: str, *, action: str, reason: str, by: str, role: str, at: dt.datetime
    ) -> None:
        self.mark_history.append(
            {"household_id": household_id, "action": action, "reason": reason, "by": by, "role": role, "at": at}
        )

    async def audit(self, **entry: Any) -> None:
        self.audits.append(entry)

    async def row(self, household_id: str) -> LoopsRowView | None:
        return self.rows.get(household_id)

    async def facts(self, household_id: str) -> LoopFacts:
        statuses = [m["status"] for m in self.measures.values() if m["household_id"] == household_id]
        counts = {
            "open": sum(1 for s in statuses if s not in FINAL),
            "closed": statuses.count("closed"),
            "dropped": statuses.count("dropped"),
        }
        since = self.rows[household_id].measures_since if household_id in self.rows else None
        return LoopFacts(since, counts["open"] if statuses else None, counts)

    async def marks(self, household_id: str) -> list[MarkRowView]:
        return [SimpleNamespace(**m) for m in self.mark_history if m["household_id"] == household_id]


async def test_a_measure_status_only_moves_forward_and_keeps_the_earliest_day() -> None:
    """Assistance's events may arrive out of order: an earlier status heard late changes
    nothing, a final one stays final, and the day measures started is the earliest heard."""
    repo = FakeLoops()
    at = NOW

    async def tell(status: str, on: dt.date) -> None:
        await loops.record_measure(
            repo,
            loops.RecordMeasure(
                household_id="h1",
                region_code=VILLAGE,
                measure_id="m1",
                status=status,
                plan_id="p1",
                type_="employment",
                on=on,
                at=at,
            ),
        )

    await tell("in_progress", dt.date(2024, 5, 20))
    await tell("accepted", dt.date(2024, 5, 10))  # earlier status, heard late
    assert repo.measures["m1"]["status"] == "in_progress"
    assert repo.rows["h1"].measures_since == dt.date(2024, 5, 10)
    await tell("closed", dt.date(2024, 6, 1))
    await tell("in_progress", dt.date(2024, 6, 2))  # closed is final
    assert repo.measures["m1"]["status"] == "closed"
    assert (await repo.facts("h1")).counts == {"open": 0, "closed": 1, "dropped": 0}


async def test_the_red_mark_is_set_once_with_its_history_audit_and_event() -> None:
    household = SimpleNamespace(id="h1", region_code=VILLAGE, warning="yellow")
    repo = FakeLoops({"h1": household})
    work = FakeWork(loops=repo)
    cmd = loops.MarkRed("h1", "flooded house, call 13800138000", mark=True)

    body = await loops.mark_red(FakeCtx(), work, COUNTY_OFFICER, cmd)  # type: ignore[arg-type]
    assert body.changed is True
    assert body.loops.red_mark is not None
    assert body.loops.red_mark.reason == "flooded house, call 138****8000"  # numbers masked
    assert [m.action for m in body.loops.mark_history] == ["red_mark"]
    [event] = work.events
    assert (event.name, event.data["warning"], event.data["previous_warning"], event.data["manual"]) == (
        "warning_raised",
        "red",
        "yellow",
        True,
    )
    assert "flooded" not in json.dumps(event.data)  # the reason stays in the mark history
    assert [a["kind"] for a in repo.audits] == ["red_mark"]

    again = await loops.mark_red(FakeCtx(), work, COUNTY_OFFICER, cmd)  # type: ignore[arg-type]
    assert again.changed is False
    assert len(work.events) == 1
    assert work.committed == 2

    with pytest.raises(Forbidden):
        await loops.mark_red(FakeCtx(), work, Principal("v", "village", VILLAGE), cmd)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await loops.mark_red(FakeCtx(), work, Principal("c", "county", "350102"), cmd)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- low-income comparisons


class FakeComparisons:
    """`LowIncomeRepository` and `LowIncomeQueries` over one dict of task rows (JSON columns as
    the table stores them)."""

    def __init__(self, *tasks: dict[str, Any]) -> None:
        self.tasks = {t["id"]: t for t in tasks}

    async def comparison_for_update(self, task_id: str) -> ComparisonRowView | None:
        task = self.tasks.get(task_id)
        return None if task is None else SimpleNamespace(**task)

    async def save_comparison(self, task_id: str, version: int, values: dict[str, Any]) -> bool:
        task = self.tasks[task_id]
        if task["version"] != version:
            return False
        for name in ("receipt", "result", "history"):
            if name in values and not isinstance(values[name], str | None):
                values[name] = json.dumps(values[name], default=str)
        task.update(values, version=version + 1)
        return True

    async def comparison_rows(self, *, prefix: str, task_id: str | None = None, **_: Any) -> list[ComparisonRowView]:
        return [SimpleNamespace(**t) for t in self.tasks.values() if task_id in (None, t["id"])]


def _task(**overrides: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "id": "t1",
        "county": "341221",
        "month": "2024-06",
        "department": "human_resources",
        "state": "pending",
        "due_on": dt.date(2024, 6, 25),
        "due_rule": json.dumps({"day": 25, "source": "test"}),
        "receipt": None,
        "received_at": None,
        "received_by": None,
        "result": None,
        "compared_at": None,
        "compared_by": None,
        "overdue_at": None,
        "history": "[]",
        "version": 1,
    }
    return task | overrides


async def test_receiving_a_comparison_file_moves_the_task_to_received() -> None:
    repo = FakeComparisons(_task())
    work = FakeWork(low_income=repo, low_income_queries=repo)
    cmd = ReceiveComparison(task_id="t1", via="file", file_name="hr-2024-06.xlsx", sha256="ab" * 32, rows=120)

    read = await receive_comparison(FakeCtx(), work, COUNTY_OFFICER, cmd)  # type: ignore[arg-type]
    assert (read.state, read.version) == ("received", 2)
    assert read.receipt == {"via": "file", "file_name": "hr-2024-06.xlsx", "sha256": "ab" * 32, "rows": 120}
    assert [(h["action"], h["from"], h["to"]) for h in read.history] == [("receive", "pending", "received")]
    assert [(e.domain, e.name) for e in work.events] == [("low_income", "comparison_received")]
    assert work.committed == 1

    with pytest.raises(Conflict) as refused:  # the department's data is recorded once
        await receive_comparison(FakeCtx(), work, COUNTY_OFFICER, cmd)  # type: ignore[arg-type]
    assert refused.value.code == "already_received"


async def test_a_comparison_received_after_its_due_day_is_overdue_with_its_event() -> None:
    repo = FakeComparisons(_task(due_on=dt.date(2024, 5, 25), month="2024-05"))
    work = FakeWork(low_income=repo, low_income_queries=repo)
    cmd = ReceiveComparison(task_id="t1", via="file", file_name="late.xlsx", sha256="cd" * 32, rows=3)

    read = await receive_comparison(FakeCtx(), work, COUNTY_OFFICER, cmd)  # type: ignore[arg-type]
    assert read.state == "overdue"
    assert read.overdue_at is not None
    assert [e.name for e in work.events] == ["comparison_overdue", "comparison_received"]


async def test_a_comparison_changed_meanwhile_is_a_conflict() -> None:
    repo = FakeComparisons(_task())
    work = FakeWork(low_income=repo, low_income_queries=repo)
    stale = repo.comparison_for_update

    async def read_then_lose(task_id: str) -> Any:
        row = await stale(task_id)
        repo.tasks[task_id]["version"] += 1  # another officer saved first
        return row

    repo.comparison_for_update = read_then_lose  # type: ignore[method-assign]
    cmd = ReceiveComparison(task_id="t1", via="file", file_name="f.xlsx", sha256="ef" * 32, rows=1)
    with pytest.raises(Conflict) as lost:
        await receive_comparison(FakeCtx(), work, COUNTY_OFFICER, cmd)  # type: ignore[arg-type]
    assert lost.value.code == "concurrent_update"
    assert work.committed == 0


# --------------------------------------------------------------------------- units of work a use case opens


class FakeUnit:
    """`ctx.uow()` for the use cases that open their own unit of work (`monitoring_work`)."""

    def __init__(self, work: FakeWork) -> None:
        self.work = work

    async def __aenter__(self) -> FakeWork:
        return self.work

    async def __aexit__(self, *exc: object) -> None:
        return None


@dataclass
class OpeningCtx(FakeCtx):
    """A context whose `uow()` opens the given fake unit of work, with its wake events."""

    work: FakeWork | None = None
    woken: list[str] = field(default_factory=list)

    def uow(self) -> FakeUnit:
        assert self.work is not None
        return FakeUnit(self.work)

    def wake(self, key: str) -> Any:
        self.woken.append(key)
        return SimpleNamespace(set=lambda: None)


# --------------------------------------------------------------------------- statistics


class FakeStatistics:
    """`StatisticsQueries` answering fixed rows, as SQLite orders them (NULLs first)."""

    nulls_first = True

    def __init__(self) -> None:
        self.notices: list[Any] = []
        self.members: list[tuple[str, str, str]] = []

    async def by_region(self, prefix: str, n: int) -> list[RegionCountsRow]:
        return [
            SimpleNamespace(region="341221001", households=3, monitored=2, eliminated=1, cleared=None),
            SimpleNamespace(region="341221002", households=1, monitored=None, eliminated=None, cleared=None),
        ]

    async def open_cases(self, prefix: str, n: int) -> dict[str, int]:
        return {"341221001": 1}

    async def by_outcome_column(self, prefix: str, column_name: str) -> list[tuple[str | None, str, int]]:
        # ORDER BY status, the column
        if column_name == "category":
            return [("marginal", "eliminated", 1), ("marginal", "monitored", 2), (None, "registered", 1)]
        return [(None, "eliminated", 1), (None, "monitored", 2), ("dibao", "registered", 1)]

    async def case_states(self, prefix: str, today: dt.date) -> list[tuple[str, str, int, int | None]]:
        return [("identification", "county_review", 1, 0)]

    async def identification_risks(self, prefix: str) -> list[tuple[str, str | None]]:
        return [("monitored", '["illness", "disability"]'), ("village_review", "[]"), ("rejected", '["illness"]')]

    async def identified_by_month(self, prefix: str) -> list[tuple[str, str | None, int]]:
        return [("2024-05", "marginal", 2)]

    async def by_warning(self, prefix: str) -> list[tuple[str, int]]:
        return [("red", 1), ("yellow", 2)]

    async def summary_scan(self, prefix: str, n: int) -> list[SummaryScanRow]:
        # (region, status, category, low-income category, warning, households): the same 4 households
        return [
            ("341221001", "monitored", "marginal", None, "yellow", 2),
            ("341221001", "eliminated", "marginal", None, "red", 1),
            ("341221002", "registered", None, "dibao", None, 1),
        ]

    async def notice_cases(self, village: str) -> list[NoticeCaseRow]:
        return self.notices

    async def masked_members(self, household_ids: Any) -> list[tuple[str, str, str]]:
        return [m for m in self.members if m[0] in household_ids]


def _stats_work() -> FakeWork:
    return FakeWork(statistics=FakeStatistics())


STATISTICS_TABLES = [
    (
        "region",
        [
            stats.RegionRow("341221001", "township", 3, 2, 1, 0, 1),
            stats.RegionRow("341221002", "township", 1, 0, 0, 0, 0),
        ],
    ),
    (
        "category",
        [
            stats.CategoryRow("category", "marginal", "eliminated", 1),
            stats.CategoryRow("category", "marginal", "monitored", 2),
            stats.CategoryRow("category", None, "registered", 1),
        ],
    ),
    ("state", [stats.CaseStateRow("identification", "county_review", 1, 0)]),
    (
        "risk_type",
        [
            stats.RiskTypeRow("disability", "monitored", 1),
            stats.RiskTypeRow("illness", "monitored", 1),
            stats.RiskTypeRow("illness", "rejected", 1),
            stats.RiskTypeRow("none", "open", 1),
        ],
    ),
    ("month", [stats.MonthRow("2024-05", "marginal", 2)]),
    ("warning", [stats.WarningRow("red", 1), stats.WarningRow("yellow", 2)]),
]


@pytest.mark.parametrize(("group_by", "rows"), STATISTICS_TABLES, ids=[t[0] for t in STATISTICS_TABLES])
async def test_statistics_answer_one_typed_row_per_group(group_by: str, rows: list[Any]) -> None:
    result = await stats.statistics(FakeCtx(), _stats_work(), COUNTY_OFFICER, region=None, group_by=group_by)  # type: ignore[arg-type]
    assert result == stats.Statistics("341221", group_by, rows)


async def test_statistics_outside_the_jurisdiction_are_empty_and_a_bad_group_is_refused() -> None:
    far = await stats.statistics(FakeCtx(), _stats_work(), COUNTY_OFFICER, region="350102", group_by="region")  # type: ignore[arg-type]
    assert far == stats.Statistics("350102", "region", [])
    with pytest.raises(Unprocessable):
        await stats.statistics(FakeCtx(), _stats_work(), COUNTY_OFFICER, region=None, group_by="colour")  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        await stats.statistics(
            FakeCtx(), _stats_work(), Principal("c", "citizen", VILLAGE), region=None, group_by="region"
        )  # type: ignore[arg-type]


async def test_the_summary_from_one_scan_answers_what_each_table_answers() -> None:
    """`summary`'s tables are row for row those of `statistics` over the same households."""
    work = _stats_work()
    summary = await stats.summary(FakeCtx(), work, COUNTY_OFFICER, region=None)  # type: ignore[arg-type]
    assert summary.region == "341221"
    g = summary.groups
    assert g.region == [
        stats.RegionRow("341221001", "township", 3, 2, 1, 0, 1),
        stats.RegionRow("341221002", "township", 1, 0, 0, 0, 0),
    ]
    assert g.category == dict(STATISTICS_TABLES)["category"]
    assert (
        g.low_income_category
        == (
            await stats.statistics(FakeCtx(), work, COUNTY_OFFICER, region=None, group_by="low_income_category")  # type: ignore[arg-type]
        ).rows
    )
    assert g.state == [stats.CaseStateRow("identification", "county_review", 1, 0)]
    assert g.warning == [stats.WarningRow("red", 1), stats.WarningRow("yellow", 2)]
    empty = await stats.summary(FakeCtx(), work, COUNTY_OFFICER, region="350102")  # type: ignore[arg-type]
    assert empty == stats.StatisticsSummary("350102", stats.SummaryGroups())


async def test_the_public_notice_lists_masked_members_per_case() -> None:
    work = _stats_work()
    work.statistics.notices = [
        SimpleNamespace(
            household_id="h1",
            procedure="identification",
            category="marginal",
            risk_types='["illness"]',
            notice_started_on=dt.date(2024, 6, 1),
            notice_days=5,
        ),
        SimpleNamespace(
            household_id="h2",
            procedure="elimination",
            category=None,
            risk_types="[]",
            notice_started_on=None,
            notice_days=None,
        ),
    ]
    work.statistics.members = [("h1", "341221********0012", "head"), ("h1", "341221********0020", "spouse")]
    rows = await stats.public_notice_rows(FakeCtx(), work, COUNTY_OFFICER, VILLAGE)  # type: ignore[arg-type]
    assert rows == [
        stats.NoticeRow(
            title="拟纳入防止返贫监测对象公示",
            number=1,
            id_numbers_masked=["341221********0012", "341221********0020"],
            relations=["head", "spouse"],
            category="marginal",
            risk_types=["illness"],
            starts_on=dt.date(2024, 6, 1),
            ends_on=dt.date(2024, 6, 5),
        ),
        stats.NoticeRow("拟标注风险消除公示", 1, [], [], None, [], None, None),
    ]
    with pytest.raises(NotFound):
        await stats.public_notice_rows(FakeCtx(), work, COUNTY_OFFICER, "350102001001")  # type: ignore[arg-type]


async def test_income_drop_and_scale_risk_outside_the_jurisdiction_are_empty() -> None:
    drop = await stats.income_drop_summary(FakeCtx(), _stats_work(), COUNTY_OFFICER, region="350102")  # type: ignore[arg-type]
    assert drop == stats.IncomeDropSummary("350102", 0, 0, Decimal("0.0000"), [], stats.INCOME_DROP_SOURCE)
    risk = await stats.scale_risk_villages(FakeCtx(), _stats_work(), COUNTY_OFFICER, region="350102", include_all=True)  # type: ignore[arg-type]
    assert risk == stats.ScaleRiskReport("350102", [])


# --------------------------------------------------------------------------- low-income roster and summary


def _item(household_id: str, low: str | None, region: str = VILLAGE) -> RegistryItem:
    return RegistryItem(
        id=household_id,
        household_number=f"N-{household_id}",
        region_code=region,
        status="monitored",
        category="marginal",
        low_income_category=low,
        warning=None,
        members=2,
        head=HouseholdHead("head", "F", 1970, "341221********0012"),
        open_case=None,
        updated_at=NOW,
    )


class FakeRoster:
    """`LowIncomeQueries.roster_page` over a list of rows, keyset-paged."""

    def __init__(self, rows: list[RosterRow]) -> None:
        self.rows = rows

    async def roster_page(self, f: Any, *, limit: int, today: dt.date) -> tuple[list[RosterRow], bool]:
        rows = [r for r in self.rows if f.after is None or (r.household.region_code, r.household.id) > f.after]
        return rows[:limit], len(rows) > limit


ROSTER_ROWS = [
    RosterRow(
        _item("h1", "dibao"), Decimal("3200.50"), dt.date(2024, 6, 1), PolicyRef("anhui", "2024.1"), OtherFacts()
    ),
    RosterRow(_item("h2", None), None, None, None, OtherFacts(certified_disabled=True, serious_illness=True)),
    RosterRow(_item("h3", None), None, None, None, OtherFacts()),
]


async def test_the_roster_gives_each_household_its_roster_category_and_pages_on() -> None:
    work = FakeWork(low_income_queries=FakeRoster(ROSTER_ROWS))
    page = await low_income.roster(FakeCtx(), work, COUNTY_OFFICER, low_income.RosterQuery(limit=2))  # type: ignore[arg-type]
    assert (page.region, page.category, page.warning) == ("341221", None, None)
    assert [(i.household.id, i.roster_category, i.other_reasons, i.source) for i in page.items] == [
        ("h1", "dibao", [], None),
        ("h2", "other", ["certified_disabled", "serious_illness"], OTHER_SOURCE),
    ]
    assert page.items[0].per_capita_income == Decimal("3200.50")
    assert page.next_cursor is not None
    rest = await low_income.roster(  # type: ignore[arg-type]
        FakeCtx(), work, COUNTY_OFFICER, low_income.RosterQuery(cursor=page.next_cursor, limit=2)
    )
    assert [(i.household.id, i.roster_category) for i in rest.items] == [("h3", None)]
    assert rest.next_cursor is None
    every = await low_income.roster_all(FakeCtx(), work, COUNTY_OFFICER, low_income.RosterQuery())  # type: ignore[arg-type]
    assert [i.household.id for i in every] == ["h1", "h2", "h3"]


@pytest.mark.parametrize(
    ("query", "refusal"),
    [
        (low_income.RosterQuery(category="rich"), Unprocessable),
        (low_income.RosterQuery(warning="green"), Unprocessable),
        (low_income.RosterQuery(region="350102"), NotFound),
        (low_income.RosterQuery(cursor="not-a-cursor!"), Unprocessable),
    ],
)
async def test_a_roster_query_out_of_bounds_is_refused(query: Any, refusal: type[Exception]) -> None:
    work = FakeWork(low_income_queries=FakeRoster(ROSTER_ROWS))
    with pytest.raises(refusal):
        await low_income.roster(FakeCtx(), work, COUNTY_OFFICER, query)  # type: ignore[arg-type]


class FakeLowIncomeCounts:
    """`category_counts` per (village, roster category) — the dibao ones also what statistics count."""

    async def one_snapshot(self) -> None:
        return None

    async def category_counts(self, prefix: str, level: int) -> dict[tuple[str, str], tuple[int, int]]:
        return {("341221001", "dibao"): (2, 5), ("341221001", "other"): (1, 3), ("341221002", "tekun"): (1, 1)}


class FakeLowIncomeStatistics(FakeStatistics):
    async def by_outcome_column(self, prefix: str, column_name: str) -> list[tuple[str | None, str, int]]:
        return [("dibao", "monitored", 2), ("tekun", "registered", 1), (None, "registered", 4)]


async def test_the_summary_adds_up_per_region_and_agrees_with_the_statistics() -> None:
    work = FakeWork(low_income_queries=FakeLowIncomeCounts(), statistics=FakeLowIncomeStatistics())
    result = await low_income.summary(FakeCtx(), work, COUNTY_OFFICER, low_income.SummaryQuery(level="township"))  # type: ignore[arg-type]
    assert (result.region, result.level) == ("341221", "township")
    assert [(r.region, r.low_income_households, r.low_income_persons) for r in result.rows] == [
        ("341221001", 3, 8),
        ("341221002", 1, 1),
    ]
    assert result.rows[0].categories["dibao"] == low_income.CategoryFigures(2, 5)
    assert result.totals["tekun"] == low_income.CategoryFigures(1, 1)
    assert (result.low_income_households, result.low_income_persons) == (4, 9)
    assert result.other_source == OTHER_SOURCE

    class Moved(FakeLowIncomeStatistics):
        async def by_outcome_column(self, prefix: str, column_name: str) -> list[tuple[str | None, str, int]]:
            return [("dibao", "monitored", 3)]

    moved = FakeWork(low_income_queries=FakeLowIncomeCounts(), statistics=Moved())
    with pytest.raises(Conflict):
        await low_income.summary(FakeCtx(), moved, COUNTY_OFFICER, low_income.SummaryQuery())  # type: ignore[arg-type]
    with pytest.raises(Unprocessable):
        await low_income.summary(FakeCtx(), work, COUNTY_OFFICER, low_income.SummaryQuery(level="city"))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- comparisons, joint runs, the schedule


async def test_comparisons_are_listed_with_their_counts_and_a_file_comparison_completes() -> None:
    repo = FakeComparisons(_task(), _task(id="t2", department="medical_insurance", state="received", version=3))
    work = FakeWork(low_income=repo, low_income_queries=repo)
    listed = await low_income.list_comparisons(FakeCtx(), work, COUNTY_OFFICER, low_income.ListComparisons())  # type: ignore[arg-type]
    assert (listed.region, listed.month, listed.counts) == ("341221", None, {"pending": 1, "received": 1})
    assert [(t.id, t.department, t.state, t.due_on) for t in listed.items] == [
        ("t1", "human_resources", "pending", dt.date(2024, 6, 25)),
        ("t2", "medical_insurance", "received", dt.date(2024, 6, 25)),
    ]
    assert listed.items[0].due_rule == {"day": 25, "source": "test"}

    await receive_comparison(  # type: ignore[arg-type]
        FakeCtx(), work, COUNTY_OFFICER, ReceiveComparison("t1", "file", file_name="f.xlsx", sha256="ab" * 32, rows=9)
    )
    with pytest.raises(Unprocessable):  # a file's counts are given
        await low_income.complete_comparison(FakeCtx(), work, COUNTY_OFFICER, low_income.CompleteComparison("t1"))  # type: ignore[arg-type]
    done = await low_income.complete_comparison(  # type: ignore[arg-type]
        FakeCtx(), work, COUNTY_OFFICER, low_income.CompleteComparison("t1", matched=7, households_flagged=2)
    )
    assert (done.state, done.version) == ("compared", 3)
    assert done.result == {"matched": 7, "households_flagged": 2, "new_signals": 0, "late": False}
    assert done.compared_by == "officer-1"
    assert [h["action"] for h in done.history] == ["receive", "complete"]
    assert [e.name for e in work.events] == ["comparison_received", "comparison_compared"]


class FakeJointRuns:
    """The joint screening rows as the reads give them (with their job's progress)."""

    def __init__(self, *rows: dict[str, Any]) -> None:
        self.rows = [SimpleNamespace(**r) for r in rows]

    async def joint_screening_rows(
        self, *, prefix: str, period: str | None = None, ids: Any = None
    ) -> list[JointScreeningRead]:
        return [r for r in self.rows if r.county.startswith(prefix) and period in (None, r.period)]


def _run(**overrides: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "id": "r1",
        "county": "341221",
        "period": "2024-H1",
        "status": "completed",
        "as_of": dt.date(2024, 5, 1),
        "job_id": "j1",
        "job_status": "completed",
        "rows_done": 10,
        "rows_total": 10,
        "schedule": json.dumps({"month": 5}),
        "result": json.dumps({"households": 10}),
        "started_by": "system:joint_screening",
        "started_at": dt.datetime(2024, 5, 1, 1, 0),  # SQLite: naive UTC
        "finished_at": None,
    }
    return run | overrides


async def test_joint_screenings_are_listed_with_their_job_and_times_in_utc() -> None:
    work = FakeWork(low_income_queries=FakeJointRuns(_run(), _run(id="r2", period="2024-H2", job_status=None)))
    listed = await low_income.list_joint_screenings(  # type: ignore[arg-type]
        FakeCtx(), work, COUNTY_OFFICER, low_income.ListJointScreenings(period="2024-H1")
    )
    [run] = listed.items
    assert listed.region == "341221"
    assert run.job == low_income.JobProgress("completed", 10, 10)
    assert (run.schedule, run.result) == ({"month": 5}, {"households": 10})
    assert run.started_at == dt.datetime(2024, 5, 1, 1, 0, tzinfo=dt.UTC)
    everything = await low_income.list_joint_screenings(
        FakeCtx(), work, COUNTY_OFFICER, low_income.ListJointScreenings()
    )  # type: ignore[arg-type]
    assert [(r.id, r.job) for r in everything.items] == [("r1", run.job), ("r2", None)]


@pytest.mark.parametrize(
    ("principal", "county", "refusal"),
    [
        (Principal("v", "village", VILLAGE), "341221", Forbidden),
        (COUNTY_OFFICER, "3412", Unprocessable),
        (COUNTY_OFFICER, "350102", NotFound),
    ],
)
async def test_a_joint_screening_is_started_by_an_officer_of_the_county(
    principal: Principal, county: str, refusal: type[Exception]
) -> None:
    with pytest.raises(refusal):
        await low_income.start_joint_screening(FakeCtx(), FakeWork(), principal, low_income.StartJointScreening(county))  # type: ignore[arg-type]


class FakeQuietSchedule:
    """No county with households, nothing overdue, nothing running."""

    async def counties_with_households(self) -> list[str]:
        return []

    async def add_comparison_tasks(self, rows: Any) -> list[str]:
        return []

    async def overdue_candidates(self, today: dt.date) -> list[ComparisonRowView]:
        return []

    async def running_joint_screenings(self) -> list[JointScreeningRowView]:
        return []


async def test_a_quiet_schedule_pass_does_nothing() -> None:
    repo = FakeQuietSchedule()
    work = FakeWork(low_income=repo, low_income_queries=repo)
    done = await low_income.run_low_income_schedule(OpeningCtx(work=work))  # type: ignore[arg-type]
    assert done == low_income.ScheduleRun(comparisons_opened=0, comparisons_overdue=0, started=[], finished=[])
    assert work.events == []


# --------------------------------------------------------------------------- the registry


class FakeRegistry:
    """`RegistryQueries` over a list of households (id, region) in keyset order."""

    def __init__(self, *households: tuple[str, str]) -> None:
        self.households = sorted(households, key=lambda h: (h[1], h[0]))
        self.filters: list[Any] = []

    async def narrow(self, f: Any) -> Any:
        return f

    async def page(self, f: Any, *, limit: int) -> list[RegistryPageRow]:
        self.filters.append(f)
        rows = [
            SimpleNamespace(id=i, region_code=r)
            for i, r in self.households
            if r.startswith(f.region) and (f.after is None or (r, i) > f.after)
        ]
        return rows[: limit + 1]

    async def page_items(self, rows: Any, *, today: dt.date) -> list[RegistryItem]:
        return [_item(r.id, None, r.region_code) for r in rows]


async def test_the_household_list_pages_the_callers_households() -> None:
    registry = FakeRegistry(("h1", VILLAGE), ("h2", VILLAGE), ("h3", "341221001002"), ("far", "350102001001"))
    ctx = OpeningCtx(work=FakeWork(registry=registry))
    first = await registry_uc.list_households(ctx, COUNTY_OFFICER, registry_uc.ListHouseholds(limit=2))  # type: ignore[arg-type]
    assert [i.id for i in first.items] == ["h1", "h2"]
    assert first.next_cursor is not None
    rest = await registry_uc.list_households(  # type: ignore[arg-type]
        ctx, COUNTY_OFFICER, registry_uc.ListHouseholds(cursor=first.next_cursor, limit=2)
    )
    assert ([i.id for i in rest.items], rest.next_cursor) == (["h3"], None)
    warned = await registry_uc.list_households(ctx, COUNTY_OFFICER, registry_uc.ListHouseholds(warning="red"))  # type: ignore[arg-type]
    assert registry.filters[-1].warning == "red"
    assert len(warned.items) == 3
    elsewhere = await registry_uc.list_households(ctx, COUNTY_OFFICER, registry_uc.ListHouseholds(region="35"))  # type: ignore[arg-type]
    assert elsewhere == registry_uc.HouseholdPage([], None)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (registry_uc.ListHouseholds(q="341221199001011234"), "personal_number_in_url"),
        (registry_uc.ListHouseholds(q="13800138000"), "personal_number_in_url"),
        (registry_uc.ListHouseholds(state="asleep"), "validation_failed"),
        (registry_uc.ListHouseholds(cursor="nope"), "validation_failed"),
    ],
)
async def test_the_household_list_refuses_numbers_in_the_url_and_unknown_filters(query: Any, code: str) -> None:
    ctx = OpeningCtx(work=FakeWork(registry=FakeRegistry()))
    with pytest.raises(Unprocessable) as refused:
        await registry_uc.list_households(ctx, COUNTY_OFFICER, query)  # type: ignore[arg-type]
    assert refused.value.code == code


async def test_a_look_up_by_a_malformed_id_number_is_refused_before_any_read() -> None:
    with pytest.raises(Unprocessable):
        await registry_uc.search_by_id_number(OpeningCtx(), COUNTY_OFFICER, registry_uc.FindByIdNumber("12345"))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- leads


class FakeLeads(FakeSignals):
    """Leads and their resolution (`SignalsRepository`'s lead part)."""

    def __init__(self) -> None:
        super().__init__({})
        self.lead_rows: dict[str, SimpleNamespace] = {}
        self.resolutions: dict[str, dict[str, Any]] = {}
        self.audits: list[dict[str, Any]] = []

    async def leads(self, prefix: str, *, status: str, limit: int) -> list[LeadListRow]:
        return [r for r in self.lead_rows.values() if r.region_code.startswith(prefix) and r.status == status][:limit]

    async def lead(self, lead_id: str) -> LeadRowView | None:
        return self.lead_rows.get(lead_id)

    async def resolution(self, lead_id: str) -> LeadResolutionView | None:
        r = self.resolutions.get(lead_id)
        return None if r is None else SimpleNamespace(**r)

    async def lead_signals(self, lead_id: str) -> list[SignalRowView]:
        return [SimpleNamespace(signal_id="s9", received_by="civil_affairs")]

    async def resolve_lead(self, lead_id: str, *, status: str, resolution: Any, at: dt.datetime) -> None:
        self.lead_rows[lead_id].status = status
        self.resolutions[lead_id] = dict(resolution)

    async def audit(self, **entry: Any) -> None:
        self.audits.append(entry)


def _lead(lead_id: str = "l1", region_code: str = VILLAGE) -> SimpleNamespace:
    return SimpleNamespace(
        id=lead_id,
        region_code=region_code,
        id_number_masked="341221********0012",
        source_dept="civil_affairs",
        kind="dibao_cancelled",
        risk_types='["income_drop"]',
        warning="yellow",
        signals=1,
        status="open",
        first_observed_at=NOW,
        household_id=None,
        reason=None,
        resolved_at=None,
        resolved_role=None,
    )


async def test_leads_are_listed_masked_and_dismissed_once_with_the_departments_event() -> None:
    repo = FakeLeads()
    repo.lead_rows = {"l1": _lead(), "l2": _lead("l2", "350102001001")}
    work = FakeWork(signals=repo)
    listed = await signals.list_leads(FakeCtx(), work, COUNTY_OFFICER, signals.ListLeads())  # type: ignore[arg-type]
    assert listed.region == "341221"
    assert [(lead.id, lead.id_number_masked, lead.risk_types) for lead in listed.items] == [
        ("l1", "341221********0012", ["income_drop"])
    ]
    elsewhere = await signals.list_leads(FakeCtx(), work, COUNTY_OFFICER, signals.ListLeads(region="350102"))  # type: ignore[arg-type]
    assert elsewhere == signals.Leads("350102", [])

    cmd = signals.ResolveLead("l1", "dismiss", reason="moved away")
    done = await signals.resolve_lead(FakeCtx(), work, COUNTY_OFFICER, cmd)  # type: ignore[arg-type]
    assert done == signals.LeadResolution("l1", "dismissed", "dismissed", None, None, None, "moved away", NOW)
    [event] = work.events
    assert (event.name, event.data["outcome"], event.data["signal_ids"]) == ("lead_resolved", "dismissed", ["s9"])
    assert [a["kind"] for a in repo.audits] == ["lead_resolved"]
    with pytest.raises(Conflict) as again:
        await signals.resolve_lead(FakeCtx(), work, COUNTY_OFFICER, cmd)  # type: ignore[arg-type]
    assert again.value.code == "lead_already_resolved"
    with pytest.raises(NotFound):
        await signals.resolve_lead(FakeCtx(), work, COUNTY_OFFICER, signals.ResolveLead("l2", "dismiss", reason="x"))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- national sync, scheduled screening


def _sync_run(run_id: str, county: str = "341221", status: str = "running") -> Run:
    return Run(
        id=run_id,
        county=county,
        sequence=1,
        full=False,
        status=status,
        since=None,
        until=NOW,
        period="202406",
        file_name=f"{county}-1.txt",
        phase="households",
        households=None,
        checksum=None,
        bytes=None,
        created_by="officer-1",
        claimed_by=None,
        created_at=NOW,
        finished_at=None,
    )


class FakeNationalSync:
    """`NationalSyncRepository`: counties already running keep their run."""

    def __init__(self, *runs: Run) -> None:
        self.runs = list(runs)
        self.asked: list[dict[str, Any]] = []

    async def counties_in(self, region: str) -> list[str]:
        return sorted({r.county for r in self.runs if r.county.startswith(region)})

    async def running_run(self, county: str) -> Run | None:
        return next((r for r in self.runs if r.county == county and r.status == "running"), None)

    async def list_runs(self, region: str, *, county: str | None, status: str | None, limit: int) -> list[Run]:
        self.asked.append({"region": region, "county": county, "status": status, "limit": limit})
        return [r for r in self.runs if r.county.startswith(county or region)][:limit]

    async def get_run(self, run_id: str) -> Run | None:
        return next((r for r in self.runs if r.id == run_id), None)


async def test_a_county_already_running_keeps_its_run_and_the_history_is_the_callers() -> None:
    repo = FakeNationalSync(_sync_run("r1"), _sync_run("r0", status="completed"), _sync_run("far", "350102"))
    work = FakeWork(national_sync=repo)
    ctx = OpeningCtx(work=work)
    started = await national_sync.start_national_sync(ctx, COUNTY_OFFICER, national_sync.StartNationalSync())  # type: ignore[arg-type]
    assert [(s.run.id, s.created) for s in started] == [("r1", False)]
    assert work.committed == 1
    assert ctx.woken == ["national_sync_wake"]

    runs = await national_sync.runs_history(ctx, COUNTY_OFFICER, national_sync.ListSyncRuns(status="running", limit=5))  # type: ignore[arg-type]
    assert [r.id for r in runs] == ["r1", "r0"]
    assert repo.asked == [{"region": "341221", "county": None, "status": "running", "limit": 5}]
    assert await national_sync.runs_history(ctx, COUNTY_OFFICER, national_sync.ListSyncRuns(county="350102")) == []  # type: ignore[arg-type]
    assert (await national_sync.read_run(ctx, COUNTY_OFFICER, "r0")).status == "completed"  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await national_sync.read_run(ctx, COUNTY_OFFICER, "far")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("principal", "region", "refusal"),
    [
        (Principal("v", "village", VILLAGE), None, Forbidden),
        (COUNTY_OFFICER, "341221001", Unprocessable),
        (COUNTY_OFFICER, "3502", NotFound),
    ],
)
async def test_a_national_sync_is_started_by_province_or_county_within_its_region(
    principal: Principal, region: str | None, refusal: type[Exception]
) -> None:
    ctx = OpeningCtx(work=FakeWork(national_sync=FakeNationalSync()))
    with pytest.raises(refusal):
        await national_sync.start_national_sync(ctx, principal, national_sync.StartNationalSync(region=region))  # type: ignore[arg-type]


class FakeSchedule:
    def __init__(self, *counties: str) -> None:
        self.county_codes = list(counties)

    async def counties(self) -> list[str]:
        return self.county_codes


class PolicylessWork(FakeWork):
    async def resolve_policy(self, store: Any, region_code: str, as_of: dt.date) -> Any:
        raise PolicyNotFound("identification", region_code, as_of)


async def test_the_scheduled_screening_starts_nothing_without_a_policy_in_force() -> None:
    ctx = OpeningCtx(work=PolicylessWork(schedule=FakeSchedule("341221", "350102")))
    assert await scheduled.run_due_screenings(ctx) == []  # type: ignore[arg-type]
    assert ctx.woken == []


# --------------------------------------------------------------------------- DCI partners


class FakeDci:
    def __init__(self) -> None:
        self.partners: dict[str, Partner] = {}

    async def put_partner(
        self, *, sender_id: str, name: str, client_sub: str, jwks: dict[str, Any], by: str, at: dt.datetime
    ) -> None:
        created = self.partners[sender_id].created_at if sender_id in self.partners else at
        self.partners[sender_id] = Partner(sender_id, name, client_sub, jwks, created, at)

    async def get_partner(self, sender_id: str) -> Partner | None:
        return self.partners.get(sender_id)

    async def list_partners(self) -> list[Partner]:
        return sorted(self.partners.values(), key=lambda p: p.sender_id)


ADMIN = Principal(sub="admin-1", role="admin", region="")
PARTNER_KEYS = {
    "keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k1"}]
}


async def test_an_admin_registers_a_partner_and_sees_its_key_ids_only() -> None:
    work = FakeWork(dci=FakeDci())
    cmd = dci.PartnerRegistration("partner.example", "Partner", "client-7", PARTNER_KEYS)
    view = await dci.register_partner(FakeCtx(), work, ADMIN, cmd)  # type: ignore[arg-type]
    assert view == dci.PartnerView("partner.example", "Partner", "client-7", ["k1"], NOW, NOW)
    assert work.committed == 1
    assert await dci.list_partners(OpeningCtx(work=work), ADMIN) == [view]  # type: ignore[arg-type]

    with pytest.raises(Forbidden):
        await dci.register_partner(FakeCtx(), work, COUNTY_OFFICER, cmd)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        await dci.list_partners(OpeningCtx(work=work), COUNTY_OFFICER)  # type: ignore[arg-type]
    bad = dci.PartnerRegistration("p2", "P2", "c2", {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]})
    with pytest.raises(Unprocessable):  # private key material is refused
        await dci.register_partner(FakeCtx(), work, ADMIN, bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- income, measures since, offers refused


class FakeIncomeLoops(FakeLoops):
    """The loops' row of a household visited on 1 June."""

    async def household_for_update(self, household_id: str) -> Any:
        return self.households.get(household_id)

    async def ensure_row(self, household_id: str, region_code: str, at: dt.datetime) -> LoopsRowView:
        row = await super().ensure_row(household_id, region_code, at)
        if not hasattr(row, "income_visited_on"):
            row.income_visited_on = dt.date(2024, 6, 1)
        return row


@pytest.mark.parametrize(
    ("household_id", "visited_on"),
    [("unknown", dt.date(2024, 6, 5)), ("h1", dt.date(2024, 5, 20))],
    ids=["unknown household", "visit older than the one applied"],
)
async def test_an_income_update_that_cannot_apply_changes_nothing(household_id: str, visited_on: dt.date) -> None:
    repo = FakeIncomeLoops({"h1": SimpleNamespace(id="h1", region_code=VILLAGE, facts={}, warning=None)})
    work = FakeWork(loops=repo)
    cmd = loops.ApplyIncomeUpdate(household_id, {"wage": "1200.00"}, visited_on, "v1", NOW)
    assert await loops.apply_income_update(FakeCtx(), work, cmd) is None  # type: ignore[arg-type]
    assert work.events == []


async def test_measures_since_keeps_the_earliest_day() -> None:
    repo = FakeLoops()
    for day in (dt.date(2024, 5, 20), dt.date(2024, 5, 1), dt.date(2024, 6, 1)):
        await loops.record_measures_since(repo, loops.RecordMeasuresSince("h1", VILLAGE, day, NOW))
    assert repo.rows["h1"].measures_since == dt.date(2024, 5, 1)


class FakeFlags:
    def __init__(self, *flagged: tuple[str, str]) -> None:
        self.flagged = set(flagged)
        self.locked: list[str] = []

    async def lock_household(self, household_id: str) -> None:
        self.locked.append(household_id)

    async def exists(self, household_id: str, code: str, person_ref: str) -> bool:
        return (household_id, person_ref) in self.flagged


class FakeHouseholds:
    def __init__(self, **households: Any) -> None:
        self.stored = households

    async def get(self, household_id: str) -> Any:
        return self.stored.get(household_id)


@pytest.mark.parametrize(
    ("household_id", "person_ref"),
    [("unknown", "m1"), ("h1", "m1")],
    ids=["unknown household", "already flagged for the member"],
)
async def test_refused_offers_flag_a_household_once_per_member(household_id: str, person_ref: str) -> None:
    flags = FakeFlags(("h1", "m1"))
    work = FakeWork(flags=flags, households=FakeHouseholds(h1=SimpleNamespace(id="h1", region_code=VILLAGE)))
    cmd = negative_flags.OffersRefused(household_id, person_ref, 3, ["r1", "r2", "r3"], NOW.date(), "e1", NOW)
    assert await negative_flags.apply_offers_refused(FakeCtx(), work, cmd) is False  # type: ignore[arg-type]
    assert flags.locked == [household_id]
    assert work.events == []
