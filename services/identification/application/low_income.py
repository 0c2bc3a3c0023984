"""Use cases of the low-income side (民政, DOMAIN.md §4; seed 003): the roster and counts by
low-income category and region level; the twice-yearly joint screening runs (两次集中排查,
003 §二(二)) on the existing screening machinery; the monthly comparison with the four
departments (每月比对, 003 §二(三)) as tracked tasks — and the background task that creates each
month's tasks, marks overdue ones, starts due joint screenings and records their results.

SQL lives in adapters/low_income_queries.py (reads) and adapters/low_income_repo.py (writes);
the rules in domain/low_income_roster.py, low_income_schedule.py, low_income_comparison.py."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.identification.application.context import extras, knob, monitoring_work
from services.identification.application.monitoring_ports import (
    ComparisonRowView,
    JointScreeningRead,
    LowIncomeWork,
    PolicyRef,
    RegistryItem,
    RosterFilter,
)
from services.identification.domain.low_income_comparison import (
    COMPARISON_SOURCE,
    DEFAULT_DUE_DAY,
    DEFAULT_DUE_SOURCE,
    DEPARTMENTS,
    ComparisonAction,
    ComparisonRefused,
    ComparisonState,
    comparison_due_on,
    next_state,
)
from services.identification.domain.low_income_roster import (
    ASSESSED_CATEGORIES,
    OTHER_SOURCE,
    ROSTER_CATEGORIES,
    other_low_income_reasons,
    roster_category,
)
from services.identification.domain.low_income_schedule import JOINT_SCREENING_SOURCE, joint_screening_slot
from services.identification.domain.params import int_param
from shared.app import CST, ServiceContext
from shared.auth import Principal
from shared.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from shared.events import Event
from shared.identifiers import REGION_LEVELS
from shared.periodic import every
from shared.policy import PolicyNotFound, ResolvedPolicy

from . import statistics as stats
from .screening import _screen_chunk_size, create_screening_job, wake_chunk_worker

__all__ = [
    "JOINT_SCREENER",
    "LEVELS",
    "CategoryFigures",
    "ComparisonTask",
    "Comparisons",
    "CompleteComparison",
    "FinishedRun",
    "JobProgress",
    "JointScreeningRun",
    "JointScreeningStarted",
    "JointScreenings",
    "ListComparisons",
    "ListJointScreenings",
    "LowIncomeSummary",
    "ReceiveComparison",
    "RosterItem",
    "RosterPage",
    "RosterQuery",
    "ScheduleRun",
    "StartJointScreening",
    "StartedRun",
    "SummaryQuery",
    "SummaryRow",
    "complete_comparison",
    "list_comparisons",
    "list_joint_screenings",
    "low_income_scheduler",
    "receive_comparison",
    "roster",
    "roster_all",
    "run_low_income_schedule",
    "start_joint_screening",
    "summary",
]

log = logging.getLogger("fangfan.identification.low_income")
SOURCE = "identification"
#: `started_by` of the runs the schedule starts
JOINT_SCREENER = "system:joint_screening"
LEVELS = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
_READERS = frozenset({"province", "county", "township", "village", "admin"})
_TASK_READERS = frozenset({"province", "county", "township", "admin"})
_WRITERS = frozenset({"province", "county", "admin"})
_WARNINGS = ("red", "orange", "yellow")
#: more regions than this in one summary: ask for a narrower region or a higher level
MAX_SUMMARY_REGIONS = 2000


def _loads(value: str | None) -> Any:
    """A JSON column as stored (None stays None)."""
    return None if value is None else json.loads(value)


def _store(ctx: ServiceContext) -> Any:
    return extras(ctx).policy_store


def _scope(principal: Principal, region: str | None, roles: frozenset[str]) -> str:
    """The region prefix to work on: the requested one inside the caller's jurisdiction (404
    outside it), else the caller's own."""
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not use the low-income statistics", code="role_not_allowed")
    if not region:
        return principal.region
    if not region.isdigit() or len(region) not in REGION_LEVELS:
        raise Unprocessable("bad region", errors=[FieldError("region", "must be 2, 4, 6, 9 or 12 digits")])
    if not principal.sees(region):
        raise NotFound("no such region in your jurisdiction")
    return region


# ---------------------------------------------------------------- roster and summary


@dataclass(frozen=True, slots=True)
class RosterQuery:
    region: str | None = None
    category: str | None = None
    warning: str | None = None
    cursor: str | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class RosterItem:
    """A household of the roster: the registry's list item, its outcome's figures, its roster
    category and, for `other`, the reasons (and their source)."""

    household: RegistryItem
    per_capita_income: Decimal | None
    assessed_as_of: dt.date | None
    policy: PolicyRef | None
    roster_category: str | None
    other_reasons: list[str]
    source: str | None


@dataclass(frozen=True, slots=True)
class RosterPage:
    region: str
    category: str | None
    warning: str | None
    items: list[RosterItem]
    next_cursor: str | None


def _cursor(region_code: str, household_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([region_code, household_id]).encode()).decode().rstrip("=")


def _after(cursor: str | None) -> tuple[str, str] | None:
    if not cursor:
        return None
    try:
        region_code, household_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(region_code), str(household_id)
    except (ValueError, TypeError, binascii.Error):
        raise Unprocessable("bad cursor", errors=[FieldError("cursor", "not a cursor of this list")]) from None


async def roster(ctx: ServiceContext, uow: LowIncomeWork, principal: Principal, query: RosterQuery) -> RosterPage:
    """The low-income roster (低收入人口台账): households by low-income category (ROSTER_CATEGORIES;
    none given: every low-income household), warning colour and region, in (region, id) order,
    keyset-paged; each item with the registry's masked head and member count, its roster category
    and, for `other`, the reasons (002 篇六 §一(五))."""
    prefix = _scope(principal, query.region, _READERS)
    if query.category is not None and query.category not in ROSTER_CATEGORIES:
        raise Unprocessable("bad category", errors=[FieldError("category", f"one of {', '.join(ROSTER_CATEGORIES)}")])
    if query.warning is not None and query.warning not in _WARNINGS:
        raise Unprocessable("bad warning", errors=[FieldError("warning", "one of red, orange, yellow")])
    f = RosterFilter(region=prefix, category=query.category, warning=query.warning, after=_after(query.cursor))
    rows, more = await uow.low_income_queries.roster_page(f, limit=query.limit, today=ctx.today())
    items = []
    for row in rows:
        low = row.household.low_income_category
        reasons = other_low_income_reasons(row.facts) if low is None else ()
        items.append(
            RosterItem(
                household=row.household,
                per_capita_income=row.per_capita_income,
                assessed_as_of=row.assessed_as_of,
                policy=row.policy,
                roster_category=roster_category(low, row.facts),
                other_reasons=list(reasons),
                source=OTHER_SOURCE if reasons else None,
            )
        )
    last = items[-1].household if items else None
    return RosterPage(
        region=prefix,
        category=query.category,
        warning=query.warning,
        items=items,
        next_cursor=_cursor(last.region_code, last.id) if more and last else None,
    )


async def roster_all(
    ctx: ServiceContext, uow: LowIncomeWork, principal: Principal, query: RosterQuery
) -> list[RosterItem]:
    """Every page of the roster from `query.cursor` on (for a CSV export: masked ID numbers, no names)."""
    items: list[RosterItem] = []
    cursor = query.cursor
    while True:
        page = await roster(
            ctx,
            uow,
            principal,
            RosterQuery(query.region, query.category, query.warning, cursor, limit=1000),
        )
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items


@dataclass(frozen=True, slots=True)
class SummaryQuery:
    region: str | None = None
    level: str = "township"


@dataclass(frozen=True, slots=True)
class CategoryFigures:
    households: int = 0
    persons: int = 0


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """A region of the asked level: households and persons per roster category, and in all."""

    region: str
    level: str
    categories: dict[str, CategoryFigures]
    low_income_households: int
    low_income_persons: int


@dataclass(frozen=True, slots=True)
class LowIncomeSummary:
    """The rows per region, the totals over them (`totals`: its categories and sums) and the
    sources of the categories."""

    region: str
    level: str
    rows: list[SummaryRow]
    totals: dict[str, CategoryFigures]
    low_income_households: int
    low_income_persons: int
    categories_source: str
    other_source: str


def _level(level: str) -> int:
    n = LEVELS.get(level) or (int(level) if level.isdigit() else 0)
    if n not in REGION_LEVELS:
        raise Unprocessable(
            "bad level", errors=[FieldError("level", "province, city, county, township, village or 2/4/6/9/12")]
        )
    return n


def _categories_of(rows: list[stats.StatisticsRow]) -> dict[str, int]:
    """Households per assessed low-income category from `statistics`'s `low_income_category`
    table (summed over the households' statuses)."""
    out = dict.fromkeys(ASSESSED_CATEGORIES, 0)
    for r in rows:
        if isinstance(r, stats.CategoryRow) and r.value is not None:
            out[r.value] = out.get(r.value, 0) + r.households
    return out


async def summary(
    ctx: ServiceContext, uow: LowIncomeWork, principal: Principal, query: SummaryQuery
) -> LowIncomeSummary:
    """Households and persons per low-income category per region of the asked level (4/6/9/12
    digits) inside the caller's region, with the totals. The rows come from one scan
    (`category_counts`); the totals of the assessed categories are what
    `statistics(group_by="low_income_category")` answers for the whole region — called, not
    recounted — and the rows add up to them (one snapshot: on PostgreSQL one REPEATABLE READ
    transaction). Asking `statistics` once per region instead is a scan per region (0.63 s for
    the 40 villages of 20,000 households on SQLite, growing with the villages); the one scan
    answers any level in one pass (docs/civil-affairs.md has the measurements)."""
    prefix = _scope(principal, query.region, _READERS)
    level = _level(query.level)
    if level < len(prefix):
        raise Unprocessable(
            "level above the region", errors=[FieldError("level", f"at least {len(prefix)} digits for region {prefix}")]
        )
    await uow.low_income_queries.one_snapshot()
    counts = await uow.low_income_queries.category_counts(prefix, level)
    assessed = _categories_of(
        (await stats.statistics(ctx, uow, principal, region=prefix or None, group_by="low_income_category")).rows
    )
    regions = sorted({r for r, _ in counts})
    if len(regions) > MAX_SUMMARY_REGIONS:
        raise Unprocessable(
            f"{len(regions)} regions: more than {MAX_SUMMARY_REGIONS} in one answer",
            code="too_many_regions",
            errors=[FieldError("level", "ask a higher level or a narrower region")],
        )
    rows = []
    totals = {c: [0, 0] for c in ROSTER_CATEGORIES}
    for region in regions:
        cats = {}
        for c in ROSTER_CATEGORIES:
            h, p = counts.get((region, c), (0, 0))
            cats[c] = CategoryFigures(h, p)
            totals[c][0] += h
            totals[c][1] += p
        rows.append(
            SummaryRow(
                region=region,
                level=REGION_LEVELS[len(region)],
                categories=cats,
                low_income_households=sum(v.households for v in cats.values()),
                low_income_persons=sum(v.persons for v in cats.values()),
            )
        )
    recounted = {c: totals[c][0] for c in ASSESSED_CATEGORIES}
    if recounted != assessed:  # cannot happen inside one snapshot; never answer figures that disagree
        raise Conflict("the figures changed while they were counted; ask again", code="statistics_moved")
    return LowIncomeSummary(
        region=prefix,
        level=REGION_LEVELS[level],
        rows=rows,
        totals={c: CategoryFigures(h, p) for c, (h, p) in totals.items()},
        low_income_households=sum(h for h, _ in totals.values()),
        low_income_persons=sum(p for _, p in totals.values()),
        categories_source="002 篇六 §一 (一)–(四); domain/low_income.py",
        other_source=OTHER_SOURCE,
    )


# ---------------------------------------------------------------- joint screenings


@dataclass(frozen=True, slots=True)
class StartJointScreening:
    county: str


def _int_or_none(policy: ResolvedPolicy, name: str) -> tuple[int | None, str]:
    if name not in policy:
        return None, ""
    return int_param(policy, name), policy.param(name).source


def _slot(policy: ResolvedPolicy, today: dt.date) -> Any:
    first, first_source = _int_or_none(policy, "joint_screening_first_month")
    second, second_source = _int_or_none(policy, "joint_screening_second_month")
    return joint_screening_slot(today, first, second, first_source=first_source, second_source=second_source)


@dataclass(frozen=True, slots=True)
class JobProgress:
    status: str
    rows_done: int
    rows_total: int | None  # a job's total is unknown until it is counted


@dataclass(frozen=True, slots=True)
class JointScreeningRun:
    """A county's joint screening of a half-year: its screening job's progress, the schedule it
    was due by and the result counts once the job ended (`schedule`, `result`: as stored)."""

    id: str
    county: str
    period: str
    status: str
    as_of: dt.date
    job_id: str
    job: JobProgress | None
    schedule: Any
    result: Any
    started_by: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    source: str = JOINT_SCREENING_SOURCE


@dataclass(frozen=True, slots=True)
class JointScreeningStarted:
    run: JointScreeningRun
    created: bool  # False: the half-year's run existed


@dataclass(frozen=True, slots=True)
class ListJointScreenings:
    region: str | None = None
    period: str | None = None


@dataclass(frozen=True, slots=True)
class JointScreenings:
    region: str
    items: list[JointScreeningRun]


def _run_read(row: JointScreeningRead) -> JointScreeningRun:
    job_status = getattr(row, "job_status", None)
    job = None
    if job_status is not None and row.rows_done is not None:  # the job's columns of the outer join: all or none
        job = JobProgress(job_status, row.rows_done, row.rows_total)
    return JointScreeningRun(
        id=row.id,
        county=row.county,
        period=row.period,
        status=row.status,
        as_of=row.as_of,
        job_id=row.job_id,
        job=job,
        schedule=_loads(row.schedule),
        result=_loads(row.result),
        started_by=row.started_by,
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at),
    )


def _stamp(ctx: ServiceContext) -> dt.datetime:
    """The service clock in UTC, for the times this module stores (SQLite keeps no offset)."""
    return ctx.now().astimezone(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time with its offset (SQLite keeps none: UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


async def _start_joint(
    ctx: ServiceContext, uow: LowIncomeWork, county: str, *, by: str, only_if_due: bool
) -> tuple[Any | None, bool]:
    """The county's run of the current half-year: (row, created). Creates it (and its screening
    job, in the same transaction) when there is none — for the schedule only once it is due.
    (None, False): no policy in force, or not due yet."""
    today = ctx.today()
    repo = uow.low_income
    try:
        policy = await uow.resolve_policy(_store(ctx), county, today)
    except PolicyNotFound:
        if only_if_due:
            return None, False
        raise Unprocessable(
            f"no identification policy in force for {county}",
            code="policy_not_found",
            errors=[FieldError("county", "no policy in force")],
        ) from None
    try:
        slot = _slot(policy, today)
    except ValueError as exc:
        if only_if_due:
            log.warning("joint screening of %s: %s", county, exc)
            return None, False
        raise Unprocessable(str(exc), code="policy_incomplete", errors=[FieldError("county", str(exc))]) from None
    existing = await repo.joint_screening(county, slot.period)
    if existing is not None:
        return existing, False
    if only_if_due and not slot.is_due(today):
        return None, False
    job, total = await create_screening_job(
        uow.screening, region=county, created_by=by, as_of=today, size=_screen_chunk_size(ctx)
    )
    run_id = str(uuid.uuid4())
    schedule = {
        "month": slot.month,
        "due_on": slot.due_on.isoformat(),
        "source": slot.source,
        "policy": [{"id": v.id, "version": v.version} for v in policy.versions],
    }
    claimed = await repo.claim_joint_screening(
        {
            "id": run_id,
            "county": county,
            "period": slot.period,
            "job_id": job.id,
            "status": "running",
            "as_of": today,
            "schedule": schedule,
            "started_by": by,
            "started_at": _stamp(ctx),
        }
    )
    if not claimed:  # another replica's insert won: its run stands, this job is not kept
        await uow.rollback()
        return await repo.joint_screening(county, slot.period), False
    uow.add_event(
        Event(
            domain="low_income",
            name="joint_screening_started",
            subject=run_id,
            region=county,
            source=SOURCE,
            data={"county": county, "period": slot.period, "job_id": job.id, "households": total, "as_of": today},
        )
    )
    await uow.commit()
    wake_chunk_worker(ctx)
    log.info("joint screening of %s for %s: job %s, %d households", county, slot.period, job.id, total)
    return await repo.joint_screening(county, slot.period), True


async def start_joint_screening(
    ctx: ServiceContext, uow: LowIncomeWork, principal: Principal, cmd: StartJointScreening
) -> JointScreeningStarted:
    """Start the county's joint screening of the current half-year now (before its scheduled
    month, or again after a failure is not possible: one run per county and half-year). Returns
    the run and whether it was created (False: it existed)."""
    if principal.role not in _WRITERS:
        raise Forbidden("joint screenings are started by county or province officers", code="role_not_allowed")
    if not (cmd.county.isdigit() and len(cmd.county) == 6):
        raise Unprocessable("bad county", errors=[FieldError("county", "a 6-digit county code")])
    if not principal.sees(cmd.county):
        raise NotFound("no such county in your jurisdiction")
    row, created = await _start_joint(ctx, uow, cmd.county, by=principal.sub, only_if_due=False)
    assert row is not None
    [read] = await uow.low_income_queries.joint_screening_rows(prefix=cmd.county, ids=[row.id])
    return JointScreeningStarted(_run_read(read), created)


async def list_joint_screenings(
    ctx: ServiceContext, uow: LowIncomeWork, principal: Principal, query: ListJointScreenings
) -> JointScreenings:
    prefix = _scope(principal, query.region, _TASK_READERS)
    rows = await uow.low_income_queries.joint_screening_rows(prefix=prefix, period=query.period)
    return JointScreenings(prefix, [_run_read(r) for r in rows])


@dataclass(frozen=True, slots=True)
class StartedRun:
    county: str
    period: str
    job_id: str


@dataclass(frozen=True, slots=True)
class FinishedRun:
    id: str
    county: str
    period: str
    status: str  # completed | failed


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    """What one pass of the low-income schedule did."""

    comparisons_opened: int
    comparisons_overdue: int
    started: list[StartedRun]
    finished: list[FinishedRun]


async def _finish_joint_screenings(ctx: ServiceContext) -> list[FinishedRun]:
    """Record the result counts of every running joint screening whose job has ended."""
    finished = []
    async with monitoring_work(ctx) as uow:
        running = await uow.low_income.running_joint_screenings()
    for run in running:
        async with monitoring_work(ctx) as uow:
            job = await uow.low_income_queries.job_state(run.job_id)
            if job is None or job.status == "running":
                continue
            status = "completed" if job.status == "completed" else "failed"
            result = await uow.low_income_queries.screening_result_counts(run.job_id) if status == "completed" else None
            if result is not None:
                result["rows_done"] = int(job.rows_done)
            if not await uow.low_income.finish_joint_screening(run.id, status=status, result=result, at=_stamp(ctx)):
                continue
            uow.add_event(
                Event(
                    domain="low_income",
                    name="joint_screening_completed" if status == "completed" else "joint_screening_failed",
                    subject=run.id,
                    region=run.county,
                    source=SOURCE,
                    data={"county": run.county, "period": run.period, "job_id": run.job_id, "result": result},
                )
            )
            await uow.commit()
        finished.append(FinishedRun(run.id, run.county, run.period, status))
    return finished


# ---------------------------------------------------------------- monthly comparisons


@dataclass(frozen=True, slots=True)
class ComparisonTask:
    """A county's monthly comparison with one department (`due_rule`, `receipt`, `result`,
    `history`: as stored)."""

    id: str
    county: str
    month: str
    department: str
    department_name: str
    subject: str
    state: str
    due_on: dt.date
    due_rule: Any
    receipt: Any
    received_at: dt.datetime | None
    received_by: str | None
    result: Any
    compared_at: dt.datetime | None
    compared_by: str | None
    overdue_at: dt.datetime | None
    history: Any
    version: int
    source: str = COMPARISON_SOURCE


@dataclass(frozen=True, slots=True)
class Comparisons:
    region: str
    month: str | None
    counts: dict[str, int]
    items: list[ComparisonTask]


def _task_read(row: ComparisonRowView) -> ComparisonTask:
    dept = {d.code: d for d in DEPARTMENTS}[row.department]
    return ComparisonTask(
        id=row.id,
        county=row.county,
        month=row.month,
        department=row.department,
        department_name=dept.name_zh,
        subject=dept.subject,
        state=row.state,
        due_on=row.due_on,
        due_rule=_loads(row.due_rule),
        receipt=_loads(row.receipt),
        received_at=_aware(row.received_at),
        received_by=row.received_by,
        result=_loads(row.result),
        compared_at=_aware(row.compared_at),
        compared_by=row.compared_by,
        overdue_at=_aware(row.overdue_at),
        history=_loads(row.history),
        version=row.version,
    )


@dataclass(frozen=True, slots=True)
class ListComparisons:
    region: str | None = None
    month: str | None = None
    state: str | None = None
    department: str | None = None


async def list_comparisons(
    ctx: ServiceContext, uow: LowIncomeWork, principal: Principal, query: ListComparisons
) -> Comparisons:
    prefix = _scope(principal, query.region, _TASK_READERS)
    rows = await uow.low_income_queries.comparison_rows(
        prefix=prefix, month=query.month, state=query.state, department=query.department
    )
    items = [_task_read(r) for r in rows]
    counts: dict[str, int] = {}
    for it in items:
        counts[it.state] = counts.get(it.state, 0) + 1
    return Comparisons(prefix, query.month, counts, items)


async def _visible_task(uow: LowIncomeWork, principal: Principal, task_id: str) -> Any:
    if principal.role not in _WRITERS:
        raise Forbidden("comparisons are recorded by county or province officers", code="role_not_allowed")
    row = await uow.low_income.comparison_for_update(task_id)
    if row is None or not principal.sees(row.county):
        raise NotFound("no such comparison task in your jurisdiction")
    return row


def _cst(value: dt.datetime) -> dt.datetime:
    """An aware time in CST (a naive one is taken as CST): signals' times are stored so."""
    return value.replace(tzinfo=CST) if value.tzinfo is None else value.astimezone(CST)


def _month_start(month: str) -> dt.datetime:
    year, mon = (int(p) for p in month.split("-"))
    return dt.datetime(year, mon, 1, tzinfo=CST)


@dataclass(frozen=True, slots=True)
class ReceiveComparison:
    task_id: str
    via: str  # signals | file
    source_dept: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    file_name: str | None = None
    sha256: str | None = None
    rows: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CompleteComparison:
    task_id: str
    matched: int | None = None
    households_flagged: int | None = None
    new_signals: int | None = None
    note: str | None = None


def _entry(action: str, frm: str, to: str, principal: Principal, at: dt.datetime, note: str | None) -> dict[str, Any]:
    return {
        "action": action,
        "from": frm,
        "to": to,
        "by": principal.sub,
        "role": principal.role,
        "at": at,
        "note": note,
    }


def _event(name: str, row: ComparisonRowView, data: dict[str, Any]) -> Event:
    return Event(
        domain="low_income",
        name=name,
        subject=row.id,
        region=row.county,
        source=SOURCE,
        data={"county": row.county, "month": row.month, "department": row.department, **data},
    )


def _refused(exc: ComparisonRefused) -> Conflict:
    return Conflict(str(exc), code=exc.code, rule=COMPARISON_SOURCE)


async def receive_comparison(
    ctx: ServiceContext, uow: LowIncomeWork, principal: Principal, cmd: ReceiveComparison
) -> ComparisonTask:
    """Record that the department's data arrived: a link to the signals it sent (its
    `source_dept`, received in the county between `since` — default the month's first day — and
    `until`, default now) or to a comparison file (name, SHA-256, rows). pending → received
    (overdue stays overdue)."""
    row = await _visible_task(uow, principal, cmd.task_id)
    now, stamp = ctx.now(), _stamp(ctx)
    state = ComparisonState(row.state)
    try:
        to = next_state(
            state, ComparisonAction.RECEIVE, received=row.received_at is not None, today=now.date(), due_on=row.due_on
        )
    except ComparisonRefused as exc:
        raise _refused(exc) from None
    if cmd.via == "signals":
        assert cmd.source_dept is not None
        since, until = _cst(cmd.since or _month_start(row.month)), _cst(cmd.until or now)
        if since > until:
            raise Unprocessable("since after until", errors=[FieldError("since", "must not be after until")])
        counts = await uow.low_income_queries.linked_signal_counts(
            county=row.county, source_dept=cmd.source_dept, since=since, until=until
        )
        receipt: dict[str, Any] = {
            "via": "signals",
            "source_dept": cmd.source_dept,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "signals": counts["new_signals"],
        }
    else:
        receipt = {"via": "file", "file_name": cmd.file_name, "sha256": cmd.sha256, "rows": cmd.rows}
    history = [*_loads(row.history), _entry("receive", state, to, principal, stamp, cmd.note)]
    values: dict[str, Any] = {
        "state": to.value,
        "receipt": receipt,
        "received_at": stamp,
        "received_by": principal.sub,
        "history": history,
        "updated_at": stamp,
    }
    if to is ComparisonState.OVERDUE and state is not ComparisonState.OVERDUE:
        values["overdue_at"] = stamp
        uow.add_event(_event("comparison_overdue", row, {"due_on": row.due_on, "state_before": state.value}))
    await _save(uow, row, values)
    uow.add_event(_event("comparison_received", row, {"via": receipt["via"], "state": to.value}))
    await uow.commit()
    return await _reread(uow, row.id)


async def complete_comparison(
    ctx: ServiceContext, uow: LowIncomeWork, principal: Principal, cmd: CompleteComparison
) -> ComparisonTask:
    """Record the comparison done: the matches counted — for data that came as signals, counted
    from those signals (new signals, households flagged, cases opened, leads); for a file, as the
    officer reports them (`matched`, `households_flagged`, optional `new_signals`). → compared."""
    row = await _visible_task(uow, principal, cmd.task_id)
    now, stamp = ctx.now(), _stamp(ctx)
    state = ComparisonState(row.state)
    try:
        next_state(
            state, ComparisonAction.COMPLETE, received=row.received_at is not None, today=now.date(), due_on=row.due_on
        )
    except ComparisonRefused as exc:
        raise _refused(exc) from None
    receipt = _loads(row.receipt)
    given = {"matched": cmd.matched, "households_flagged": cmd.households_flagged, "new_signals": cmd.new_signals}
    if receipt["via"] == "signals":
        extra = [FieldError(k, "counted from the linked signals") for k, v in given.items() if v is not None]
        if extra:
            raise Unprocessable("the counts of data sent as signals are counted, not given", errors=extra)
        result: dict[str, Any] = await uow.low_income_queries.linked_signal_counts(
            county=row.county,
            source_dept=receipt["source_dept"],
            since=dt.datetime.fromisoformat(receipt["since"]),
            until=dt.datetime.fromisoformat(receipt["until"]),
        )
        result["matched"] = result["new_signals"] - result["leads"] - result["unknown_households"]
    else:
        missing = [FieldError(k, "required for data sent as a file") for k in ("matched", "households_flagged")]
        missing = [e for e in missing if given[e["path"]] is None]
        if missing:
            raise Unprocessable("a file comparison needs its counts", errors=missing)
        result = {
            "matched": cmd.matched,
            "households_flagged": cmd.households_flagged,
            "new_signals": cmd.new_signals or 0,
        }
    result["late"] = now.date() > row.due_on
    history = [*_loads(row.history), _entry("complete", state, ComparisonState.COMPARED, principal, stamp, cmd.note)]
    await _save(
        uow,
        row,
        {
            "state": ComparisonState.COMPARED.value,
            "result": result,
            "compared_at": stamp,
            "compared_by": principal.sub,
            "history": history,
            "updated_at": stamp,
        },
    )
    uow.add_event(_event("comparison_compared", row, {"result": result}))
    await uow.commit()
    return await _reread(uow, row.id)


async def _save(uow: LowIncomeWork, row: ComparisonRowView, values: dict[str, Any]) -> None:
    if not await uow.low_income.save_comparison(row.id, row.version, values):
        raise Conflict("the task was changed meanwhile; read it again", code="concurrent_update")


async def _reread(uow: LowIncomeWork, task_id: str) -> ComparisonTask:
    [row] = await uow.low_income_queries.comparison_rows(prefix="", task_id=task_id)
    return _task_read(row)


async def _due_day(policy: ResolvedPolicy) -> tuple[int, str]:
    if "monthly_comparison_due_day" in policy:
        return int_param(policy, "monthly_comparison_due_day"), policy.param("monthly_comparison_due_day").source
    return DEFAULT_DUE_DAY, DEFAULT_DUE_SOURCE


async def _open_month(ctx: ServiceContext, counties: list[str]) -> int:
    """This month's four tasks of every county with a policy in force (existing ones kept)."""
    today = ctx.today()
    month = f"{today:%Y-%m}"
    created = 0
    async with monitoring_work(ctx) as uow:
        rows = []
        for county in counties:
            try:
                policy = await uow.resolve_policy(_store(ctx), county, today)
                day, source = await _due_day(policy)
                due_on = comparison_due_on(month, day)
            except (PolicyNotFound, ValueError):
                continue
            now = _stamp(ctx)
            for dept in DEPARTMENTS:
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "county": county,
                        "month": month,
                        "department": dept.code,
                        "state": ComparisonState.PENDING.value,
                        "due_on": due_on,
                        "due_rule": {"day": day, "source": source},
                        "history": [],
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        for i in range(0, len(rows), 400):
            created += len(await uow.low_income.add_comparison_tasks(rows[i : i + 400]))
        await uow.commit()
    return created


async def _mark_overdue(ctx: ServiceContext) -> int:
    """Every task past its due day and not compared → overdue, with `low_income.comparison_overdue`."""
    today, now = ctx.today(), _stamp(ctx)
    marked = 0
    async with monitoring_work(ctx) as uow:
        repo = uow.low_income
        for row in await repo.overdue_candidates(today):
            state = ComparisonState(row.state)
            try:
                to = next_state(
                    state,
                    ComparisonAction.MARK_OVERDUE,
                    received=row.received_at is not None,
                    today=today,
                    due_on=row.due_on,
                )
            except ComparisonRefused:
                continue
            history = [
                *_loads(row.history),
                {
                    "action": "mark_overdue",
                    "from": state,
                    "to": to,
                    "by": "system:schedule",
                    "role": "system",
                    "at": now,
                    "note": None,
                },
            ]
            if await repo.save_comparison(
                row.id, row.version, {"state": to.value, "overdue_at": now, "history": history, "updated_at": now}
            ):
                uow.add_event(_event("comparison_overdue", row, {"due_on": row.due_on, "state_before": state.value}))
                marked += 1
        await uow.commit()
    return marked


# ---------------------------------------------------------------- the background task


async def run_low_income_schedule(ctx: ServiceContext) -> ScheduleRun:
    """One pass: open this month's comparison tasks, mark overdue ones, start the joint
    screenings due, record the results of those finished. Safe on every replica at once (each
    step is idempotent: unique rows, version checks, the (county, half-year) lease)."""
    async with monitoring_work(ctx) as uow:
        counties = await uow.low_income_queries.counties_with_households()
    opened = await _open_month(ctx, counties)
    overdue = await _mark_overdue(ctx)
    started = []
    for county in counties:
        async with monitoring_work(ctx) as uow:
            row, created = await _start_joint(ctx, uow, county, by=JOINT_SCREENER, only_if_due=True)
        if created and row is not None:
            started.append(StartedRun(county, row.period, row.job_id))
    finished = await _finish_joint_screenings(ctx)
    return ScheduleRun(opened, overdue, started, finished)


def _poll_s(ctx: ServiceContext) -> float:
    return knob(extras(ctx).low_income_poll_s, "FANGFAN_SCHEDULE_POLL_S", 300)


async def low_income_scheduler(ctx: ServiceContext) -> None:
    """Background task: every `FANGFAN_SCHEDULE_POLL_S` (300 s) run `run_low_income_schedule`."""
    await every(
        ctx,
        lambda: run_low_income_schedule(ctx),
        interval_s=lambda: _poll_s(ctx),
        name="low-income schedule",
        log=log,
        wake_key="low_income_wake",
    )
