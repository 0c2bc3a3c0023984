"""Read models over the procedure's tables: counts by region level, category, low-income
category, case state, warning colour, risk type and month (one table per call, or the
dashboard's five from one scan: `summary`); the income-drop summary by cause; villages over the
scale-risk threshold (规模性返贫风险); the printable public
notice (公示) of a village with masked ID numbers. Reads only; nothing here commits."""

from __future__ import annotations

import datetime as dt
import html
import json
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
    "income_drop_summary",
    "public_notice_html",
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
) -> dict[str, Any]:
    _check_reader(principal)
    if group_by not in GROUPS:
        raise Unprocessable(
            f"group_by must be one of {', '.join(GROUPS)}",
            errors=[FieldError("group_by", f"one of {', '.join(GROUPS)}")],
        )
    prefix = _scope(principal, region)
    out: dict[str, Any] = {"region": region or principal.region, "group_by": group_by, "rows": []}
    if prefix is None:
        return out
    q = uow.statistics
    rows: list[dict[str, Any]] = []
    if group_by == "region":
        n = _NEXT_LEVEL[len(prefix)]
        open_cases = await q.open_cases(prefix, n)
        for r in await q.by_region(prefix, n):
            rows.append(
                {
                    "region": r.region,
                    "level": REGION_LEVELS.get(len(r.region), "village"),
                    "households": int(r.households),
                    "monitored": int(r.monitored or 0),
                    "eliminated": int(r.eliminated or 0),
                    "cleared": int(r.cleared or 0),
                    "open_cases": int(open_cases.get(r.region, 0)),
                }
            )
    elif group_by in ("category", "low_income_category"):
        # households by (low-income) category and status; None: not assessed / not low-income
        rows = [
            {group_by: cat, "status": status, "households": int(n)}
            for cat, status, n in await q.by_outcome_column(prefix, group_by)
        ]
    elif group_by == "state":
        rows = await _states(ctx, q, prefix)
    elif group_by == "risk_type":
        # Households under monitoring (or on their way) by risk type; a household with several
        # risks counts once under each.
        counts: dict[tuple[str, str], int] = {}
        for state, risk_json in await q.identification_risks(prefix):
            status = "monitored" if state == "monitored" else ("open" if state not in _ENDED else state)
            for risk in json.loads(risk_json or "[]") or ["none"]:
                counts[(risk, status)] = counts.get((risk, status), 0) + 1
        rows = [{"risk_type": r, "status": st, "households": n} for (r, st), n in sorted(counts.items())]
    elif group_by == "month":
        # Households identified per category per month (the month monitoring began).
        rows = [
            {"month": m, "category": cat, "households": int(n)} for m, cat, n in await q.identified_by_month(prefix)
        ]
    else:
        rows = [{"warning": w, "households": int(n)} for w, n in await q.by_warning(prefix)]
    out["rows"] = rows
    return out


async def _states(ctx: ServiceContext, q: StatisticsQueries, prefix: str) -> list[dict[str, Any]]:
    """Cases by procedure and state, with how many of them are open past their deadline."""
    return [
        {"procedure": p, "state": s, "cases": int(n), "overdue": int(o or 0)}
        for p, s, n, o in await q.case_states(prefix, ctx.now().date())
    ]


def _ordered(rows: dict[tuple[Any, ...], int], *, nulls_first: bool) -> list[tuple[Any, ...]]:
    """The keys in SQL's ORDER BY order of the same columns (NULL first on SQLite, last on
    PostgreSQL), so a table from `summary` lists its rows as `statistics` does."""
    return sorted(rows, key=lambda k: tuple(((v is None) != nulls_first, v or "") for v in k))


async def summary(
    ctx: ServiceContext, uow: StatisticsWork, principal: Principal, *, region: str | None
) -> dict[str, Any]:
    """The dashboard's tables at once — by region of the next level, category, low-income
    category, case state and warning colour — each row for row what `statistics` answers for
    that `group_by`, from ONE scan of the region's households (joined once to their outcomes and
    department warnings) instead of three, plus the two small queries over cases."""
    _check_reader(principal)
    prefix = _scope(principal, region)
    groups: dict[str, list[dict[str, Any]]] = {g: [] for g in SUMMARY_GROUPS}
    out: dict[str, Any] = {"region": region or principal.region, "groups": groups}
    if prefix is None:
        return out
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
    groups["region"] = [
        {
            "region": reg,
            "level": REGION_LEVELS.get(len(reg), "village"),
            **regions[reg],
            "open_cases": open_cases.get(reg, 0),
        }
        for reg in sorted(regions)
    ]
    for name, table in (("category", by_category), ("low_income_category", by_low)):
        groups[name] = [
            {name: value, "status": status, "households": table[(status, value)]}
            for status, value in _ordered(table, nulls_first=nulls_first)
        ]
    groups["state"] = await _states(ctx, q, prefix)
    groups["warning"] = [{"warning": w, "households": by_colour[(w,)]} for (w,) in sorted(by_colour)]
    return out


async def scale_risk_villages(
    ctx: ServiceContext, uow: StatisticsWork, principal: Principal, *, region: str | None, include_all: bool
) -> dict[str, Any]:
    """Villages whose monitored, not-eliminated households exceed the policy's share of their
    population (domain.scale_risk; every village is treated as an exited poor village, since
    the service does not yet hold that flag)."""
    _check_reader(principal)
    prefix = _scope(principal, region)
    out: dict[str, Any] = {"region": region or principal.region, "villages": []}
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
            out["villages"].append(
                {
                    "village": village,
                    "village_population": result.village_population,
                    "non_eliminated_monitored": result.non_eliminated_monitored,
                    "share": str(result.share.quantize(_SHARE)),
                    "threshold": str(result.threshold),
                    "flagged": result.flagged,
                    "explanation": result.explanation,
                    "rule": result.rule,
                    "source": result.source,
                }
            )
    return out


_NOTICE_TITLE = {
    "identification": "拟纳入防止返贫监测对象公示",
    "elimination": "拟标注风险消除公示",
}


async def public_notice_rows(
    ctx: ServiceContext, uow: StatisticsWork, principal: Principal, village: str
) -> list[dict[str, Any]]:
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
    out: list[dict[str, Any]] = []
    numbers: dict[str, int] = {}
    for r in rows:
        numbers[r.procedure] = numbers.get(r.procedure, 0) + 1
        people = masked.get(r.household_id, [])
        start = r.notice_started_on
        end = start + dt.timedelta(days=(r.notice_days or 1) - 1) if start else None
        out.append(
            {
                "公示事项": _NOTICE_TITLE[r.procedure],
                "序号": numbers[r.procedure],
                "身份证号(脱敏)": " / ".join(m for m, _ in people),
                "与户主关系": " / ".join(rel for _, rel in people),
                "类别": r.category or "",
                "风险类型": "、".join(json.loads(r.risk_types)),
                "公示期": f"{start} 至 {end}" if start else "",
            }
        )
    return out


def public_notice_html(village: str, rows: list[dict[str, Any]]) -> str:
    """The printable notice (one table per procedure)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>公示 {e(village)}</title>",
        "<style>body{font-family:serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #000;padding:4px}@media print{.noprint{display:none}}</style>",
        "</head><body>",
        f"<h1>村级公示 {e(village)}</h1>",
        "<p>公示期内如有异议，请向村委会或乡镇反映。</p>",
    ]
    if not rows:
        parts.append("<p>目前没有公示中的对象。</p>")
    columns = ("序号", "身份证号(脱敏)", "与户主关系", "类别", "风险类型", "公示期")
    for title in dict.fromkeys(r["公示事项"] for r in rows):
        parts.append(f"<h2>{e(title)}</h2>")
        parts.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr></thead><tbody>")
        for r in (r for r in rows if r["公示事项"] == title):
            cells = [e(str(r[c])).replace(" / ", "<br>") for c in columns]
            parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


async def income_drop_summary(
    ctx: ServiceContext, uow: StatisticsWork, principal: Principal, *, region: str | None
) -> dict[str, Any]:
    """The income-drop screening of 002 篇一 per region: households whose income of some kind fell
    against last year, their share of the households with last year's income on file, and the
    households per cause (a household with drops of several causes counts under each)."""
    _check_reader(principal)
    prefix = _scope(principal, region)
    out: dict[str, Any] = {"region": region or principal.region, "households_compared": 0, "with_drop": 0}
    out["share_with_drop"] = "0.0000"
    out["causes"] = []
    out["source"] = INCOME_DROP_SOURCE
    if prefix is None:
        return out
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
    out["households_compared"] = compared
    out["with_drop"] = with_drop
    out["share_with_drop"] = str((Decimal(with_drop) / compared).quantize(_SHARE)) if compared else "0.0000"
    out["causes"] = [
        {
            "cause": cause,
            "households": n,
            "share_of_drops": str((Decimal(n) / with_drop).quantize(_SHARE)),
        }
        for cause, n in sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return out
