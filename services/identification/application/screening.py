"""Use cases over a region's stored households: the screening job (evaluate every household,
store category / warning / per-capita income, emit `risk.warning_raised` through the outbox)
and the what-if simulation (how many households change category under policy overrides).

Both read households without decrypting personal data and evaluate them with the columnar
evaluator (domain/columnar.py), one policy per village."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.households import StoredHousehold, iter_region_households
from services.identification.adapters.jobs import Job, create_job, get_job, save_progress
from services.identification.adapters.orm import households, jobs
from services.identification.api.schemas import ScreeningCreate, SimulationCreate
from services.identification.domain.columnar import ColumnarResult, HouseholdColumns, evaluate
from shared.app import ServiceContext
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import FieldError, Forbidden, NotFound, Unprocessable
from shared.events import Event
from shared.identifiers import REGION_LEVELS
from shared.policy import PolicyNotFound, PolicyParameterMissing, ResolvedPolicy
from shared.policy_store import PolicyStore

from .assessments import money_str
from .policies import POLICY_STORE

__all__ = ["SCREEN_BATCH", "resume_screenings", "run_screening", "simulate", "start_screening"]

log = logging.getLogger("fangfan.identification.screening")
SCREEN_BATCH = 1000
_SCREEN_ROLES = ("admin", "province", "county", "township")


def _check_region(principal: Principal, region: str, roles: tuple[str, ...]) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not run this over a region")
    if region and (not region.isdigit() or len(region) not in REGION_LEVELS):
        raise Unprocessable("bad region", errors=[FieldError("region", "must be 2, 4, 6, 9 or 12 digits")])
    if not principal.sees(region):
        raise NotFound("no such region in your jurisdiction")


async def _evaluate_page(
    session: AsyncSession,
    store: PolicyStore,
    page: list[StoredHousehold],
    as_of: dt.date,
    cache: dict[str, ResolvedPolicy | None],
    overrides: dict[str, Any] | None = None,
) -> list[tuple[StoredHousehold, ResolvedPolicy | None, ColumnarResult | None, int]]:
    """Each household with its village's policy and (result, index); policy None: none in force."""
    by_village: dict[str, list[StoredHousehold]] = defaultdict(list)
    for h in page:
        by_village[h.region_code].append(h)
    out = []
    for village, hs in by_village.items():
        if village not in cache:
            try:
                cache[village] = await store.resolve(session, village, as_of)
            except PolicyNotFound:
                cache[village] = None
        policy = cache[village]
        if policy is None:
            out.extend((h, None, None, 0) for h in hs)
            continue
        result = evaluate(
            HouseholdColumns.from_households([h.to_domain() for h in hs]),
            policy,
            as_of=as_of,
            policy_overrides=overrides,
        )
        out.extend((h, policy, result, i) for i, h in enumerate(hs))
    return out


async def start_screening(ctx: ServiceContext, principal: Principal, body: ScreeningCreate) -> Job:
    """Create the screening job and run it in the background; returns the job (202)."""
    _check_region(principal, body.region, _SCREEN_ROLES)
    async with ctx.uow() as uow:
        total = (
            await uow.session.execute(sa.select(sa.func.count()).select_from(households).where(_region(body.region)))
        ).scalar_one()
        job = await create_job(
            uow.session,
            kind="screening",
            region=body.region,
            created_by=principal.sub,
            params={"as_of": body.as_of.isoformat()},
            rows_total=total,
        )
        await uow.commit()
    _spawn(ctx, job.id)
    return job


def _region(region: str) -> Any:
    return sa.true() if region == "" else households.c.region_code.like(f"{region}%")


def _spawn(ctx: ServiceContext, job_id: str) -> None:
    task = asyncio.create_task(_run_logged(ctx, job_id), name=f"screening-{job_id}")
    ctx.tasks.append(task)


async def _run_logged(ctx: ServiceContext, job_id: str) -> None:
    try:
        await run_screening(ctx, job_id)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("screening %s failed; it stays running and resumes on the next start", job_id)


async def resume_screenings(ctx: ServiceContext) -> None:
    """On start: carry on every screening a crash or a stop left running (from its cursor)."""
    async with ctx.sessions() as s:
        ids = (
            (await s.execute(sa.select(jobs.c.id).where(jobs.c.kind == "screening", jobs.c.status == "running")))
            .scalars()
            .all()
        )
    for job_id in ids:
        _spawn(ctx, job_id)


async def run_screening(ctx: ServiceContext, job_id: str, *, batch_size: int = SCREEN_BATCH) -> Job:
    """Evaluate the region's households page by page; each page's household updates, events and
    the job's cursor are one transaction, so a crash resumes after the last committed page and
    never emits an event twice."""
    store: PolicyStore = ctx.state.get("policy_store", POLICY_STORE)
    async with ctx.sessions() as s:
        job = await get_job(s, job_id)
    if job is None or job.status != "running":
        return job  # type: ignore[return-value]
    as_of = dt.date.fromisoformat(job.params["as_of"])
    cache: dict[str, ResolvedPolicy | None] = {}
    while True:
        async with ctx.uow() as uow:
            after = tuple(job.cursor) if job.cursor else None
            page = await iter_region_households(uow.session, job.region, after=after, limit=batch_size)  # type: ignore[arg-type]
            if not page:
                job.status = "completed"
                job.finished_at = utcnow()
                await save_progress(uow.session, job)
                await uow.commit()
                return job
            now = utcnow()
            updates: list[dict[str, Any]] = []
            raised = 0
            errors = []
            for h, policy, result, i in await _evaluate_page(uow.session, store, page, as_of, cache):
                if policy is None or result is None:
                    errors.append(
                        {
                            "household_number": h.household_number,
                            "path": "region_code",
                            "message": f"no identification policy in force on {as_of}",
                        }
                    )
                    continue
                pc = result.per_capita_income[i]
                warning = result.warning[i]
                category = result.category[i]
                low = result.low_income_category[i]
                updates.append(
                    {
                        "b_id": h.id,
                        "b_category": None if category is None else str(category),
                        "b_low": None if low is None else str(low),
                        "b_warning": None if warning is None else str(warning),
                        "b_pc": pc,
                        "b_at": now,
                    }
                )
                if warning is not None and str(warning) != h.warning:
                    raised += 1
                    uow.add_event(
                        Event(
                            domain="risk",
                            name="warning_raised",
                            subject=h.id,
                            region=h.region_code,
                            source="identification",
                            data={
                                "household_id": h.id,
                                "household_number": h.household_number,
                                "warning": str(warning),
                                "previous_warning": h.warning,
                                "category": None if category is None else str(category),
                                "low_income_category": None if low is None else str(low),
                                "risk_types": [str(r) for r in result.risk_types[i]],
                                "per_capita_income": money_str(pc),
                                "as_of": as_of.isoformat(),
                                "policy": {"id": policy.id, "version": policy.version},
                                "screening_job_id": job.id,
                            },
                        )
                    )
            if updates:
                await uow.session.execute(
                    sa.update(households)
                    .where(households.c.id == sa.bindparam("b_id"))
                    .values(
                        category=sa.bindparam("b_category"),
                        low_income_category=sa.bindparam("b_low"),
                        warning=sa.bindparam("b_warning"),
                        per_capita_income=sa.bindparam("b_pc"),
                        assessed_at=sa.bindparam("b_at"),
                    )
                    .execution_options(synchronize_session=False),
                    updates,
                )
            job.rows_done += len(updates)
            job.rows_failed += len(errors)
            job.add_errors(errors)
            job.result["warnings_raised"] = job.result.get("warnings_raised", 0) + raised
            job.cursor = [page[-1].region_code, page[-1].id]
            await save_progress(uow.session, job)
            await uow.commit()
        await asyncio.sleep(0)  # let requests in between pages


async def simulate(
    *, session: AsyncSession, store: PolicyStore, principal: Principal, body: SimulationCreate, batch_size: int = 2000
) -> dict[str, Any]:
    """Run the region's stored households under the policy in force and under the overrides;
    count, per village, the households whose category changes (from → to)."""
    _check_region(principal, body.region, ("admin", "province", "county", "township", "village"))
    overrides = store.check_parameters(body.policy_overrides, path="policy_overrides") if body.policy_overrides else {}
    cache: dict[str, ResolvedPolicy | None] = {}
    villages: dict[str, Counter[tuple[str | None, str | None]]] = defaultdict(Counter)
    counts: Counter[str] = Counter()
    after: tuple[str, str] | None = None
    try:
        while True:
            page = await iter_region_households(session, body.region, after=after, limit=batch_size)
            if not page:
                break
            after = (page[-1].region_code, page[-1].id)
            base = await _evaluate_page(session, store, page, body.as_of, cache)
            what_if = await _evaluate_page(session, store, page, body.as_of, cache, overrides)
            for (h, policy, r0, i), (_, _, r1, j) in zip(base, what_if, strict=True):
                counts["households"] += 1
                if policy is None or r0 is None or r1 is None:
                    counts["without_policy"] += 1
                    continue
                c0, c1 = r0.category[i], r1.category[j]
                villages[h.region_code][(None if c0 is None else str(c0), None if c1 is None else str(c1))] += 1
    except PolicyParameterMissing as exc:
        raise Unprocessable(str(exc), code="policy_incomplete", errors=[FieldError("region", str(exc))]) from None
    by_village = []
    total_changed = 0
    totals: Counter[tuple[str | None, str | None]] = Counter()
    for village in sorted(villages):
        moves = villages[village]
        changed = sum(n for (a, b), n in moves.items() if a != b)
        total_changed += changed
        totals.update({k: n for k, n in moves.items() if k[0] != k[1]})
        by_village.append(
            {
                "village": village,
                "households": sum(moves.values()),
                "changed": changed,
                "transitions": _transitions({k: n for k, n in moves.items() if k[0] != k[1]}),
            }
        )
    return {
        "region": body.region,
        "as_of": body.as_of,
        "policy_overrides": {k: str(v) if isinstance(v, Decimal) else v for k, v in overrides.items()},
        "households": counts["households"],
        "without_policy": counts["without_policy"],
        "changed": total_changed,
        "transitions": _transitions(totals),
        "by_village": by_village,
    }


def _transitions(moves: dict[tuple[str | None, str | None], int]) -> list[dict[str, Any]]:
    return [
        {"from": a, "to": b, "count": n} for (a, b), n in sorted(moves.items(), key=lambda kv: (-kv[1], str(kv[0])))
    ]
