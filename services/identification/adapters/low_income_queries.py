"""Read queries of the low-income side (no writes, no commits): the roster page by low-income
category (the `other` category of domain/low_income_roster.py tested in SQL as four EXISTS),
households and persons per region level and roster category for the summary, the counties with households,
the signals a comparison receipt links, a screening job's result counts, the joint screenings
and comparison tasks as stored."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.orm import household_outcomes, households, jobs, members
from services.identification.adapters.orm_cases import risk_warnings, signals
from services.identification.adapters.orm_loops import household_loops
from services.identification.adapters.orm_low_income import joint_screenings, low_income_comparisons
from services.identification.adapters.registry import WARNING_COLOUR, page_items
from services.identification.application.monitoring_ports import (
    ComparisonRowView,
    JobStateView,
    JointScreeningRead,
    PolicyRef,
    RosterFilter,
    RosterRow,
)
from services.identification.domain.low_income_roster import UNEMPLOYMENT_KIND, OtherFacts
from shared.db import one_snapshot

__all__ = [
    "LowIncomeQueries",
    "RosterFilter",
    "category_counts",
    "comparison_rows",
    "counties_with_households",
    "job_state",
    "joint_screening_rows",
    "linked_signal_counts",
    "roster_page",
    "screening_result_counts",
]

_FROM = (
    households.outerjoin(household_outcomes, household_outcomes.c.household_id == households.c.id)
    .outerjoin(risk_warnings, risk_warnings.c.household_id == households.c.id)
    .outerjoin(household_loops, household_loops.c.household_id == households.c.id)
)


def _member_exists(*where: Any) -> Any:
    return sa.exists().where(members.c.household_id == households.c.id, *where).correlate(households)


#: the four facts of 002 篇六 §一(五), one EXISTS each (domain.low_income_roster.OtherFacts)
_UNEMPLOYED = (
    sa.exists()
    .where(signals.c.household_id == households.c.id, signals.c.kind == UNEMPLOYMENT_KIND)
    .correlate(households)
)
_DISABLED = _member_exists(members.c.disability_grade.is_not(None))
_UNIVERSITY = _member_exists(members.c.schooling == "university")
_ILL = _member_exists(members.c.serious_illness.is_(True))
_OTHER = sa.and_(household_outcomes.c.low_income_category.is_(None), sa.or_(_UNEMPLOYED, _DISABLED, _UNIVERSITY, _ILL))


async def _no_jit(session: AsyncSession) -> None:
    """PostgreSQL: no JIT compile for this transaction's statements — the planner's estimate of
    the EXISTS columns over a county makes it compile for a second a query that runs in tens of
    milliseconds (as application/screening.py found for its chunks)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.text("SET LOCAL jit = off"))


def _region_range(region: str) -> list[Any]:
    # a range, not LIKE: SQLite uses the (region_code, id) index for it (as adapters/registry.py)
    if not region:
        return []
    return [households.c.region_code >= region, households.c.region_code < region + ":"]


def _category(category: str | None) -> Any:
    if category == "other":
        return _OTHER
    if category is not None:
        return household_outcomes.c.low_income_category == category
    return sa.or_(household_outcomes.c.low_income_category.is_not(None), _OTHER)


async def roster_page(
    session: AsyncSession, f: RosterFilter, *, limit: int, today: dt.date
) -> tuple[list[RosterRow], bool]:
    """Up to `limit` roster rows in (region_code, id) order (the registry's list items: members,
    masked head, open case; the outcome's figures, the OtherFacts) and whether there are more."""
    await _no_jit(session)
    where = [*_region_range(f.region), _category(f.category)]
    if f.warning is not None:
        where.append(f.warning == WARNING_COLOUR)
    if f.after is not None:
        # the plain bound repeats the row comparison for the planner (as application/screening.py)
        where.append(sa.tuple_(households.c.region_code, households.c.id) > sa.tuple_(*f.after))
        where.append(households.c.region_code >= f.after[0])
    stmt = (
        sa.select(
            households.c.id,
            households.c.household_number,
            households.c.region_code,
            households.c.status,
            households.c.updated_at,
            household_outcomes.c.category,
            household_outcomes.c.low_income_category,
            household_outcomes.c.per_capita_income,
            household_outcomes.c.as_of,
            household_outcomes.c.policy_id,
            household_outcomes.c.policy_version,
            WARNING_COLOUR.label("warning"),
            _UNEMPLOYED.label("unemployed"),
            _DISABLED.label("disabled"),
            _UNIVERSITY.label("university"),
            _ILL.label("ill"),
        )
        .select_from(_FROM)
        .where(*where)
        .order_by(households.c.region_code, households.c.id)
        .limit(limit + 1)
    )
    rows = list((await session.execute(stmt)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    items = await page_items(session, rows, today=today)
    out = [
        RosterRow(
            household=item,
            per_capita_income=None if r.per_capita_income is None else Decimal(r.per_capita_income),
            assessed_as_of=r.as_of,
            policy=None if r.policy_id is None else PolicyRef(r.policy_id, r.policy_version),
            facts=OtherFacts(bool(r.unemployed), bool(r.disabled), bool(r.university), bool(r.ill)),
        )
        for r, item in zip(rows, items, strict=True)
    ]
    return out, more


def _key(level: int) -> Any:
    return sa.func.substr(households.c.region_code, 1, level)


async def category_counts(session: AsyncSession, prefix: str, level: int) -> dict[tuple[str, str], tuple[int, int]]:
    """(households, persons) per (region of `level` digits, roster category) inside `prefix`,
    from one scan: each household's member count and the member facts of the `other` category
    aggregated once per household (not an EXISTS per household), the 人社 unemployment signals
    as one distinct list. Households in no roster category are left out."""
    await _no_jit(session)
    m = members.c
    in_region = _region_range(prefix)
    per_household = (
        sa.select(
            m.household_id.label("hid"),
            sa.func.count().label("persons"),
            sa.func.max(sa.case((m.disability_grade.is_not(None), 1), else_=0)).label("disabled"),
            sa.func.max(sa.case((m.schooling == "university", 1), else_=0)).label("university"),
            sa.func.max(sa.case((m.serious_illness.is_(True), 1), else_=0)).label("ill"),
        )
        .select_from(members.join(households, households.c.id == m.household_id))
        .where(*in_region)
        .group_by(m.household_id)
        .subquery()
    )
    unemployed = (
        sa.select(signals.c.household_id.label("hid"))
        .where(
            signals.c.kind == UNEMPLOYMENT_KIND,
            signals.c.household_id.is_not(None),
            *([signals.c.region_code >= prefix, signals.c.region_code < prefix + ":"] if prefix else []),
        )
        .distinct()
        .subquery()
    )
    low = household_outcomes.c.low_income_category
    other = sa.and_(
        low.is_(None),
        sa.or_(
            unemployed.c.hid.is_not(None),
            per_household.c.disabled == 1,
            per_household.c.university == 1,
            per_household.c.ill == 1,
        ),
    )
    category = sa.case((low.is_not(None), low), (other, sa.literal("other")), else_=sa.null())
    key = _key(level)
    stmt = (
        sa.select(key, category, sa.func.count(), sa.func.sum(sa.func.coalesce(per_household.c.persons, 0)))
        .select_from(
            households.outerjoin(household_outcomes, household_outcomes.c.household_id == households.c.id)
            .outerjoin(per_household, per_household.c.hid == households.c.id)
            .outerjoin(unemployed, unemployed.c.hid == households.c.id)
        )
        .where(*in_region)
        .group_by(key, category)
    )
    return {
        (str(r), str(c)): (int(h), int(p or 0)) for r, c, h, p in (await session.execute(stmt)).all() if c is not None
    }


async def counties_with_households(session: AsyncSession) -> list[str]:
    county = sa.func.substr(households.c.region_code, 1, 6)
    return [str(r[0]) for r in (await session.execute(sa.select(county).distinct().order_by(county))).all()]


async def linked_signal_counts(
    session: AsyncSession, *, county: str, source_dept: str, since: dt.datetime, until: dt.datetime
) -> dict[str, int]:
    """What the department's signals received in [since, until] in the county came to: signals,
    households flagged (matched, a warning raised), cases opened, leads, unknown households."""
    where = (
        signals.c.source_dept == source_dept,
        signals.c.region_code >= county,
        signals.c.region_code < county + ":",
        signals.c.received_at >= since,
        signals.c.received_at <= until,
    )
    stmt = sa.select(signals.c.outcome, sa.func.count()).where(*where).group_by(signals.c.outcome)
    by_outcome = {o: int(n) for o, n in (await session.execute(stmt)).all()}
    flagged = (
        await session.execute(
            sa.select(sa.func.count(sa.distinct(signals.c.household_id))).where(
                *where, signals.c.household_id.is_not(None), signals.c.warning.is_not(None)
            )
        )
    ).scalar_one()
    return {
        "new_signals": sum(by_outcome.values()),
        "households_flagged": int(flagged or 0),
        "cases_opened": by_outcome.get("case_opened", 0),
        "leads": by_outcome.get("lead", 0),
        "unknown_households": by_outcome.get("unknown_household", 0),
    }


async def job_state(session: AsyncSession, job_id: str) -> JobStateView | None:
    """(status, rows_done, rows_total, result JSON) of a job, or None."""
    stmt = sa.select(jobs.c.status, jobs.c.rows_done, jobs.c.rows_total, jobs.c.result).where(jobs.c.id == job_id)
    return (await session.execute(stmt)).one_or_none()


async def screening_result_counts(session: AsyncSession, job_id: str) -> dict[str, Any]:
    """The outcomes a screening job wrote, counted on both sides: return-to-poverty category,
    low-income category, warning colour, and the households in both."""
    o = household_outcomes.c
    stmt = (
        sa.select(o.category, o.low_income_category, o.warning, sa.func.count())
        .where(o.screening_job_id == job_id)
        .group_by(o.category, o.low_income_category, o.warning)
    )
    total = both = 0
    by_cat: dict[str, int] = {}
    by_low: dict[str, int] = {}
    by_warning: dict[str, int] = {}
    for cat, low, warning, n in (await session.execute(stmt)).all():
        n = int(n)
        total += n
        if cat is not None:
            by_cat[cat] = by_cat.get(cat, 0) + n
        if low is not None:
            by_low[low] = by_low.get(low, 0) + n
        if warning is not None:
            by_warning[warning] = by_warning.get(warning, 0) + n
        if cat is not None and low is not None:
            both += n
    return {
        "households": total,
        "return_to_poverty": dict(sorted(by_cat.items())),
        "low_income": dict(sorted(by_low.items())),
        "warnings": dict(sorted(by_warning.items())),
        "in_both": both,
    }


def _in(column: Any, prefix: str) -> list[Any]:
    return [] if not prefix else [column.like(prefix + "%")]


async def joint_screening_rows(
    session: AsyncSession, *, prefix: str, period: str | None = None, ids: Sequence[str] | None = None
) -> list[JointScreeningRead]:
    """Joint screenings of counties inside `prefix` (or the counties `prefix` lies in), newest first."""
    where: list[Any] = [_county_in(joint_screenings.c.county, prefix)]
    if period is not None:
        where.append(joint_screenings.c.period == period)
    if ids is not None:
        where.append(joint_screenings.c.id.in_(list(ids)))
    stmt = (
        sa.select(joint_screenings, jobs.c.status.label("job_status"), jobs.c.rows_done, jobs.c.rows_total)
        .select_from(joint_screenings.outerjoin(jobs, jobs.c.id == joint_screenings.c.job_id))
        .where(*where)
        .order_by(joint_screenings.c.period.desc(), joint_screenings.c.county)
    )
    return list((await session.execute(stmt)).all())


def _county_in(column: Any, prefix: str) -> Any:
    """A county row is in the caller's view when the county lies inside `prefix` (province, city,
    county callers); a township or village caller sees its own county's rows."""
    if not prefix:
        return sa.true()
    if len(prefix) <= 6:
        return column.like(prefix + "%")
    return column == prefix[:6]


async def comparison_rows(
    session: AsyncSession,
    *,
    prefix: str,
    month: str | None = None,
    state: str | None = None,
    department: str | None = None,
    task_id: str | None = None,
) -> list[ComparisonRowView]:
    c = low_income_comparisons.c
    where: list[Any] = [_county_in(c.county, prefix)]
    if month is not None:
        where.append(c.month == month)
    if state is not None:
        where.append(c.state == state)
    if department is not None:
        where.append(c.department == department)
    if task_id is not None:
        where.append(c.id == task_id)
    stmt = sa.select(low_income_comparisons).where(*where).order_by(c.month.desc(), c.county, c.department)
    return list((await session.execute(stmt)).all())


def loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


class LowIncomeQueries:
    """These reads in the unit of work's session (`uow.low_income_queries`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def one_snapshot(self) -> None:
        """The reads that follow see one snapshot (PostgreSQL: REPEATABLE READ)."""
        await one_snapshot(self.session)

    async def roster_page(self, f: RosterFilter, *, limit: int, today: dt.date) -> tuple[list[RosterRow], bool]:
        return await roster_page(self.session, f, limit=limit, today=today)

    async def category_counts(self, prefix: str, level: int) -> dict[tuple[str, str], tuple[int, int]]:
        return await category_counts(self.session, prefix, level)

    async def counties_with_households(self) -> list[str]:
        return await counties_with_households(self.session)

    async def linked_signal_counts(
        self, *, county: str, source_dept: str, since: dt.datetime, until: dt.datetime
    ) -> dict[str, int]:
        return await linked_signal_counts(
            self.session, county=county, source_dept=source_dept, since=since, until=until
        )

    async def job_state(self, job_id: str) -> JobStateView | None:
        return await job_state(self.session, job_id)

    async def screening_result_counts(self, job_id: str) -> dict[str, Any]:
        return await screening_result_counts(self.session, job_id)

    async def joint_screening_rows(
        self, *, prefix: str, period: str | None = None, ids: Sequence[str] | None = None
    ) -> list[JointScreeningRead]:
        return await joint_screening_rows(self.session, prefix=prefix, period=period, ids=ids)

    async def comparison_rows(
        self,
        *,
        prefix: str,
        month: str | None = None,
        state: str | None = None,
        department: str | None = None,
        task_id: str | None = None,
    ) -> list[ComparisonRowView]:
        return await comparison_rows(
            self.session, prefix=prefix, month=month, state=state, department=department, task_id=task_id
        )
