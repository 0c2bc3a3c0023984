"""Monitoring's use cases against in-memory units of work (the Protocols of
`application/monitoring_ports.py`, no database): a department signal applied to a household,
a measure's status and the red mark in the loops, a low-income comparison's state change. The
same use cases run against SQLite and PostgreSQL in tests/identification/integration."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from services.identification.adapters.loops_repo import FINAL, LoopFacts
from services.identification.application import loops, signals
from services.identification.application.low_income import ReceiveComparison, receive_comparison
from shared import contracts
from shared.app import CST
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.events import Event
from shared.pii import FieldCipher

NOW = dt.datetime(2024, 6, 10, 9, 30, tzinfo=CST)
VILLAGE = "341221001001"
COUNTY_OFFICER = Principal(sub="officer-1", role="county", region="341221")


@dataclass
class FakeCtx:
    """What the use cases read of the service context: its clock, its cipher, its extras."""

    extras: Any = None
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

    async def existing(self, keys: Any) -> dict[tuple[str, str], Any]:
        wanted = set(keys)
        return {
            (r["source_dept"], r["signal_id"]): SimpleNamespace(**r)
            for r in self.rows
            if (r["source_dept"], r["signal_id"]) in wanted
        }

    async def households(self, ids: Any) -> dict[str, Any]:
        return {i: self.household_rows[i] for i in ids if i in self.household_rows}

    async def households_by_member_index(self, indexes: Any) -> dict[str, tuple[str, str]]:
        return {}

    async def open_cases_of_households(self, household_ids: Any) -> dict[str, str]:
        return {}

    async def labor_capacities(self, household_id: str) -> list[str]:
        return ["full", "none"]

    async def add_signals(self, rows: Any) -> None:
        self.rows.extend(rows)

    async def warning(self, household_id: str) -> Any:
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

    async def ensure_row(self, household_id: str, region_code: str, at: dt.datetime) -> Any:
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

    async def row(self, household_id: str) -> Any:
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

    async def marks(self, household_id: str) -> list[Any]:
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

    async def comparison_for_update(self, task_id: str) -> Any:
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

    async def comparison_rows(self, *, prefix: str, task_id: str | None = None, **_: Any) -> list[Any]:
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
