"""Read models over the procedure's tables: counts by region level, category, low-income
category, case state, warning colour, risk type and month (one table per call, or the
dashboard's five from one scan: `summary`); the income-drop summary by cause; villages over the
scale-risk threshold (规模性返贫风险); the printable public
notice (公示) of a village with masked ID numbers. Reads only; nothing here commits."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.identification.application.cases import procedure_policy
from services.identification.application.monitoring_ports import StatisticsQueries, StatisticsWork
from services.identification.application.policies import policy_in_force
from services.identification.domain.income_drop import INCOME_DROP_SOURCE, income_drop
from services.identification.domain.scale_risk import scale_risk
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import FieldError, Forbidden, NotFound, Unprocessable
from shared.identifiers import REGION_LEVELS

__all__ = [
    "GROUPS",
    "CaseStateRow",
    "CategoryRow",
    "IncomeDropCause",
    "IncomeDropSummary",
    "MonthRow",
    "NoticeRow",
    "RegionRow",
    "RiskTypeRow",
    "ScaleRiskReport",
    "ScaleRiskVillage",
    "Statistics",
    "StatisticsRow",
    "StatisticsSummary",
    "SummaryGroups",
    "WarningRow",
    "income_drop_summary",
    "public_notice_rows",
    "scale_risk_villages",
    "statistics",
    "summary",
]

_SHARE = Decimal("0.0001")
GROUPS = ("region", "category", "low_income_category", "state", "warning", "risk_type", "month")
#: The tables `summary` answers at once (the console's dashboard)
SUMMARY_GROUPS = ("region", "category", "low_income_category", "state", "warning")
_READERS = frozenset({"province", "county", "township", "village", "department", "admin"})
_NEXT_LEVEL = {0: 2, 2: 4, 4: 6, 6: 9, 9: 12, 12: 12}
_ENDED = frozenset({"rejected", "rolled_back", "cleared"})


@dataclass(frozen=True, slots=True)
class RegionRow:
    """Households of a region of the next level by status, with its open cases."""

    region: str
    level: str
    households: int
    monitored: int
    eliminated: int
    cleared: int
    open_cases: int


@dataclass(frozen=True, slots=True)
class CategoryRow:
    """Households by (low-income) category and status; `column` names the category's table
    (`category` or `low_income_category`), `value` None: not assessed / not low-income."""

    column: str
    value: str | None
    status: str
    households: int


@dataclass(frozen=True, slots=True)
class CaseStateRow:
    """Cases by procedure and state, and how many of them are open past their deadline."""

    procedure: str
    state: str
    cases: int
    overdue: int


@dataclass(frozen=True, slots=True)
class RiskTypeRow:
    risk_type: str
    status: str
    households: int


@dataclass(frozen=True, slots=True)
class MonthRow:
    month: str
    category: str | None
    households: int


@dataclass(frozen=True, slots=True)
class WarningRow:
    warning: str
    households: int


StatisticsRow = RegionRow | CategoryRow | CaseStateRow | RiskTypeRow | MonthRow | WarningRow


@dataclass(frozen=True, slots=True)
class Statistics:
    """One table: `rows` grouped by `group_by` (empty outside the caller's jurisdiction)."""

    region: str
    group_by: str
    rows: list[StatisticsRow]


@dataclass(frozen=True, slots=True)
class SummaryGroups:
    region: list[RegionRow] = field(default_factory=list)
    category: list[CategoryRow] = field(default_factory=list)
    low_income_category: list[CategoryRow] = field(default_factory=list)
    state: list[CaseStateRow] = field(default_factory=list)
    warning: list[WarningRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StatisticsSummary:
    region: str
    groups: SummaryGroups


@dataclass(frozen=True, slots=True)
class ScaleRiskVillage:
    village: str
    village_population: int
    non_eliminated_monitored: int
    share: Decimal  # to 4 places
    threshold: Decimal
    flagged: bool
    explanation: str
    rule: str
    source: str


@dataclass(frozen=True, slots=True)
class ScaleRiskReport:
    region: str
    villages: list[ScaleRiskVillage]


@dataclass(frozen=True, slots=True)
class IncomeDropCause:
    cause: str
    households: int
    share_of_drops: Decimal  # to 4 places


@dataclass(frozen=True, slots=True)
class IncomeDropSummary:
    region: str
    households_compared: int
    with_drop: int
    share_with_drop: Decimal  # to 4 places
    causes: list[IncomeDropCause]
    source: str


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """One case under public notice: the members' masked ID numbers and relations (no names)."""

    title: str  # 公示事项
    number: int  # 序号, per procedure
    id_numbers_masked: list[str]
    relations: list[str]
    category: str | None
    risk_types: list[str]
    starts_on: dt.date | None
    ends_on: dt.date | None


def _check_reader(principal: Principal) -> None:
    if principal.role not in _READERS:
        raise Forbidden("statistics are for officers, departments and administrators", code="role_not_allowed")


def _scope(principal: Principal, region: str | None) -> str | None:
    """The region to report on: the requested one when the caller sees it; None outside."""
    if not region:
        return principal.region
    if not region.isdigit() or len(region) not in REGION_LEVELS:
        raise Unprocessable(
            "region must be a 2/4/6/9/12-digit code", errors=[FieldError("region", "not a region code")]
        )
    return region if principal.sees(region) else None


async def statistics(
    ctx: ServiceContext, uow: StatisticsWork, principal: Principal, *, region: str | None, group_by: str
) -> Statistics:
    _check_reader(principal)
    if group_by not in GROUPS:
        raise Unprocessable(
            f"group_by must be one of {', '.join(GROUPS)}",
            errors=[FieldError("group_by", f"one of {', '.join(GROUPS)}")],
        )
    prefix = _scope(principal, region)
    scope = region or principal.region
    if prefix is None:
        return Statistics(scope, group_by, [])
    q = uow.statistics
    rows: list[StatisticsRow] = []
    if group_by == "region":
        n = _NEXT_LEVEL[len(prefix)]
        open_cases = await q.open_cases(prefix, n)
        for r in await q.by_region(prefix, n):
            rows.append(
                RegionRow(
                    region=r.region,
                    level=REGION_LEVELS.get(len(r.region), "village"),
                    households=int(r.households),
                    monitored=int(r.monitored or 0),
                    eliminated=int(r.eliminated or 0),
                    cleared=int(r.cleared or 0),
                    open_cases=int(open_cases.get(r.region, 0)),
                )
            )
    elif group_by in ("category", "low_income_category"):
        # households by (low-income) category and status; None: not assessed / not low-income
        rows = [
            CategoryRow(group_by, cat, status, int(n)) for cat, status, n in await q.by_outcome_column(prefix, group_by)
        ]
    elif group_by == "state":
        rows = list[StatisticsRow](await _states(ctx, q, prefix))
    elif group_by == "risk_type":
        # Households under monitoring (or on their way) by risk type; a household with several
        # risks counts once under each.
        counts: dict[tuple[str, str], int] = {}
        for state, risk_json in await q.identification_risks(prefix):
            status = "monitored" if state == "monitored" else ("open" if state not in _ENDED else state)
            for risk in json.loads(risk_json or "[]") or ["none"]:
                counts[(risk, status)] = counts.get((risk, status), 0) + 1
        rows = [RiskTypeRow(r, st, n) for (r, st), n in sorted(counts.items())]
    elif group_by == "month":
        # Households identified per category per month (the month monitoring began).
        rows = [MonthRow(m, cat, int(n)) for m, cat, n in await q.identified_by_month(prefix)]
    else:
        rows = [WarningRow(w, int(n)) for w, n in await q.by_warning(prefix)]
    return Statistics(scope, group_by, rows)


async def _states(ctx: ServiceContext, q: StatisticsQueries, prefix: str) -> list[CaseStateRow]:
    """Cases by procedure and state, with how many of them are open past their deadline."""
    return [CaseStateRow(p, s, int(n), int(o or 0)) for p, s, n, o in await q.case_states(prefix, ctx.now().date())]


def _ordered(rows: dict[tuple[Any, ...], int], *, nulls_first: bool) -> list[tuple[Any, ...]]:
    """The keys in SQL's ORDER BY order of the same columns (NULL first on SQLite, last on
    PostgreSQL), so a table from `summary` lists its rows as `statistics` does."""
    return sorted(rows, key=lambda k: tuple(((v is None) != nulls_first, v or "") for v in k))


async def summary(
    ctx: ServiceContext, uow: StatisticsWork, principal: Principal, *, region: str | None
) -> StatisticsSummary:
    """The dashboard's tables at once — by region of the next level, category, low-income
    category, case state and warning colour — each row for row what `statistics` answers for
    that `group_by`, from ONE scan of the region's households (joined once to their outcomes and
    department warnings) instead of three, plus the two small queries over cases."""
    _check_reader(principal)
    prefix = _scope(principal, region)
    scope = region or principal.region
    if prefix is None:
        return StatisticsSummary(scope, SummaryGroups())
    n = _NEXT_LEVEL[len(prefix)]
    q = uow.statistics
    regions: dict[str, dict[str, int]] = {}
    by_category: dict[tuple[Any, ...], int] = {}
    by_low: dict[tuple[Any, ...], int] = {}
    by_colour: dict[tuple[Any, ...], int] = {}
    for reg, status, category, low, warning, count in await q.summary_scan(prefix, n):
        n_rows = int(count)
        figures = regions.setdefault(reg, {"households": 0, "monitored": 0, "eliminated": 0, "cleared": 0})
        figures["households"] += n_rows
        if status in ("monitored", "eliminated", "cleared"):
            figures[status] += n_rows
        by_category[(status, category)] = by_category.get((status, category), 0) + n_rows
        by_low[(status, low)] = by_low.get((status, low), 0) + n_rows
        if warning is not None:
            by_colour[(warning,)] = by_colour.get((warning,), 0) + n_rows
    open_cases = await q.open_cases(prefix, n)
    nulls_first = q.nulls_first
    region_rows = [
        RegionRow(
            region=reg,
            level=REGION_LEVELS.get(len(reg), "village"),
            households=regions[reg]["households"],
            monitored=regions[reg]["monitored"],
            eliminated=regions[reg]["eliminated"],
            cleared=regions[reg]["cleared"],
            open_cases=open_cases.get(reg, 0),
        )
        for reg in sorted(regions)
    ]
    category_rows, low_income_rows = (
        [
            CategoryRow(name, value, status, table[(status, value)])
            for status, value in _ordered(table, nulls_first=nulls_first)
        ]
        for name, table in (("category", by_category), ("low_income_category", by_low))
    )
    groups = SummaryGroups(
        region=region_rows,
        category=category_rows,
        low_income_category=low_income_rows,
        state=await _states(ctx, q, prefix),
        warning=[WarningRow(w, by_colour[(w,)]) for (w,) in sorted(by_colour)],
    )
    return StatisticsSummary(scope, groups)


async def scale_risk_villages(
    ctx: ServiceContext, uow: StatisticsWork, principal: Principal, *, region: str | None, include_all: bool
) -> ScaleRiskReport:
    """Villages whose monitored, not-eliminated households exceed the policy's share of their
    population (domain.scale_risk; every village is treated as an exited poor village, since
    the service does not yet hold that flag)."""
    _check_reader(principal)
    prefix = _scope(principal, region)
    out = ScaleRiskReport(region or principal.region, [])
    if prefix is None:
        return out
    today = ctx.now().date()
    q = uow.statistics
    monitored = await q.monitored_per_village(prefix)
    if include_all:
        population = await q.population(prefix=prefix)
    else:
        # A village without monitored households is never flagged (the rule needs monitored >
        # threshold × population, threshold > 0): count the members of the others only — the
        # status index finds them, and most villages of a county are never joined to members.
        population = await q.population(villages=sorted(monitored))
    thresholds: dict[str, Any] = {}
    for village in sorted(population):
        county = village[:6]
        if county not in thresholds:
            policy = procedure_policy(await policy_in_force(ctx, uow, village, today))
            thresholds[county] = policy.scale_risk_threshold
        result = scale_risk(int(population[village]), int(monitored.get(village, 0)), thresholds[county])
        if result.flagged or include_all:
            out.villages.append(
                ScaleRiskVillage(
                    village=village,
                    village_population=result.village_population,
                    non_eliminated_monitored=result.non_eliminated_monitored,
                    share=result.share.quantize(_SHARE),
                    threshold=result.threshold,
                    flagged=result.flagged,
                    explanation=result.explanation,
                    rule=result.rule,
                    source=result.source,
                )
            )
    return out


_NOTICE_TITLE = {
    "identification": "拟纳入防止返贫监测对象公示",
    "elimination": "拟标注风险消除公示",
}


async def public_notice_rows(
    ctx: ServiceContext, uow: StatisticsWork, principal: Principal, village: str
) -> list[NoticeRow]:
    """The village's cases under public notice, one row per case: masked ID numbers of the
    members, relations, category, risk types and the notice period (no names, no clear ID
    numbers) — what the printed notice (HTML) and the spreadsheet (XLSX) show."""
    if not (village.isdigit() and len(village) == 12):
        raise Unprocessable("village must be a 12-digit code", errors=[FieldError("village", "12-digit village code")])
    if not principal.sees(village) or principal.role in ("citizen", "contact"):
        raise NotFound("no such village in your jurisdiction")
    rows = await uow.statistics.notice_cases(village)
    masked: dict[str, list[tuple[str, str]]] = {}
    for hid, mask, relation in await uow.statistics.masked_members([r.household_id for r in rows]):
        masked.setdefault(hid, []).append((mask, relation))
    out: list[NoticeRow] = []
    numbers: dict[str, int] = {}
    for r in rows:
        numbers[r.procedure] = numbers.get(r.procedure, 0) + 1
        people = masked.get(r.household_id, [])
        start = r.notice_started_on
        end = start + dt.timedelta(days=(r.notice_days or 1) - 1) if start else None
        out.append(
            NoticeRow(
                title=_NOTICE_TITLE[r.procedure],
                number=numbers[r.procedure],
                id_numbers_masked=[m for m, _ in people],
                relations=[rel for _, rel in people],
                category=r.category,
                risk_types=list(json.loads(r.risk_types)),
                starts_on=start,
                ends_on=end,
            )
        )
    return out


async def income_drop_summary(
    ctx: ServiceContext, uow: StatisticsWork, principal: Principal, *, region: str | None
) -> IncomeDropSummary:
    """The income-drop screening of 002 篇一 per region: households whose income of some kind fell
    against last year, their share of the households with last year's income on file, and the
    households per cause (a household with drops of several causes counts under each)."""
    _check_reader(principal)
    prefix = _scope(principal, region)
    scope = region or principal.region
    if prefix is None:
        return IncomeDropSummary(scope, 0, 0, Decimal("0.0000"), [], INCOME_DROP_SOURCE)
    today = ctx.now().date()
    policies: dict[str, Any] = {}
    compared = with_drop = 0
    causes: dict[str, int] = {}
    after: tuple[str, str] | None = None
    while True:
        batch = await uow.statistics.region_page(prefix, after=after, limit=1000)
        if not batch:
            break
        for h in batch:
            county = h.region_code[:6]
            if county not in policies:
                policies[county] = await policy_in_force(ctx, uow, h.region_code, today)
            result, _ = income_drop(h.to_domain(), policies[county])
            if result is None:
                continue
            compared += 1
            if result.any_drop:
                with_drop += 1
                for cause in set(result.causes):
                    causes[cause.value] = causes.get(cause.value, 0) + 1
        after = (batch[-1].region_code, batch[-1].id)
    return IncomeDropSummary(
        region=scope,
        households_compared=compared,
        with_drop=with_drop,
        share_with_drop=(Decimal(with_drop) / compared).quantize(_SHARE) if compared else Decimal("0.0000"),
        causes=[
            IncomeDropCause(cause, n, (Decimal(n) / with_drop).quantize(_SHARE))
            for cause, n in sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        source=INCOME_DROP_SOURCE,
    )
