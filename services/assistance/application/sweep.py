"""The overdue sweep: plans not drawn up within `plan_due_days`, measures without progress for
`measure_stall_days`, visits past their due date. Each occurrence is published once
(`assistance.plan_overdue`, `assistance.measure_stalled`, `assistance.visit_overdue`): the
`alerts` row (kind, key) written in the same transaction as the outbox row is the record of what
was published, and its primary key keeps replicas from publishing it twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa

from services.assistance.adapters.orm import alerts, contacts, measures, plans
from services.assistance.domain.schedule import is_overdue, stalled_since
from shared.app import ServiceContext
from shared.db import insert_ignoring_duplicates

from .common import CST, assistance_event, policy_for

__all__ = ["is_stalled", "overdue_sweep", "run_sweep"]

log = logging.getLogger("fangfan.assistance.sweep")


def is_stalled(row: Any, now: dt.datetime) -> bool:
    policy = policy_for(row.region_code, now.date())
    last = row.last_progress_at.astimezone(CST).date() if row.last_progress_at.tzinfo else row.last_progress_at.date()
    return row.status not in ("closed", "dropped") and stalled_since(last, now.date(), policy.measure_stall_days)


async def run_sweep(ctx: ServiceContext) -> dict[str, int]:
    """One pass; returns how many events of each kind it published."""
    now = ctx.now()
    day = now.date()
    published = {"plan_overdue": 0, "measure_stalled": 0, "visit_overdue": 0}
    async with ctx.uow() as uow:
        s = uow.session
        candidates: list[tuple[str, str, str, str, dict[str, Any]]] = []  # kind, key, ref, region, data
        late_plans = (
            await s.execute(
                sa.select(plans).where(
                    plans.c.drawn_up_on.is_(None), plans.c.status != "closed", plans.c.due_date < day
                )
            )
        ).all()
        due_visits = (
            await s.execute(sa.select(plans).where(plans.c.next_visit_due.is_not(None), plans.c.next_visit_due < day))
        ).all()
        # the contact persons' inbox addresses (notification files the alerts under them)
        wanted = {p.contact_id for p in [*late_plans, *due_visits] if p.contact_id}
        hashes: dict[str, str | None] = {}
        if wanted:
            q = sa.select(contacts.c.id, contacts.c.sub_hash).where(contacts.c.id.in_(wanted))
            hashes = {r.id: r.sub_hash for r in (await s.execute(q)).all()}
        for p in late_plans:
            candidates.append(
                (
                    "plan_overdue",
                    f"{p.id}:{p.due_date.isoformat()}",
                    p.id,
                    p.region_code,
                    {
                        "plan_id": p.id,
                        "household_id": p.household_id,
                        "region_code": p.region_code,
                        "due_date": p.due_date.isoformat(),
                        "days_overdue": (day - p.due_date).days,
                        "contact_id": p.contact_id,
                        "contact_person_sub_hash": hashes.get(p.contact_id),
                    },
                )
            )
        open_measures = (
            await s.execute(sa.select(measures).where(measures.c.status.not_in(["closed", "dropped"])))
        ).all()
        for m in open_measures:
            if not is_stalled(m, now):
                continue
            last = m.last_progress_at.astimezone(CST)
            candidates.append(
                (
                    "measure_stalled",
                    f"{m.id}:{last.isoformat()}",
                    m.id,
                    m.region_code,
                    {
                        "measure_id": m.id,
                        "plan_id": m.plan_id,
                        "household_id": m.household_id,
                        "region_code": m.region_code,
                        "type": m.type,
                        "department": m.department,
                        "status": m.status,
                        "last_progress_on": last.date().isoformat(),
                        "days_without_progress": (day - last.date()).days,
                    },
                )
            )
        for p in due_visits:
            if not is_overdue(p.next_visit_due, day):
                continue
            candidates.append(
                (
                    "visit_overdue",
                    f"{p.id}:{p.next_visit_due.isoformat()}",
                    p.id,
                    p.region_code,
                    {
                        "plan_id": p.id,
                        "household_id": p.household_id,
                        "region_code": p.region_code,
                        "contact_id": p.contact_id,
                        "contact_person_sub_hash": hashes.get(p.contact_id),
                        "visit_id": p.next_visit_id,
                        "due_date": p.next_visit_due.isoformat(),
                        "days_overdue": (day - p.next_visit_due).days,
                    },
                )
            )
        if not candidates:
            return published
        events = {}
        rows = []
        for kind, key, ref, region, data in candidates:
            ev = assistance_event(kind, data["household_id"], region, data)
            events[(kind, key)] = ev
            rows.append(
                {"kind": kind, "key": key, "ref_id": ref, "region_code": region, "event_id": ev.id, "published_at": now}
            )
        dialect = s.get_bind().dialect.name
        fresh: set[tuple[str, str]] = set()
        for i in range(0, len(rows), 500):
            stmt = insert_ignoring_duplicates(dialect, alerts, rows[i : i + 500]).returning(alerts.c.kind, alerts.c.key)
            fresh.update((k, key) for k, key in (await s.execute(stmt)).all())
        for kind, key in sorted(fresh):
            uow.add_event(events[(kind, key)])
            published[kind] += 1
        await uow.commit()
    return published


async def overdue_sweep(ctx: ServiceContext) -> None:
    """Background task: a pass every `ctx.state["sweep_interval_s"]` seconds (default 300)."""
    while True:
        await asyncio.sleep(float(ctx.state.get("sweep_interval_s", 300)))
        try:
            counts = await run_sweep(ctx)
            if any(counts.values()):
                log.info("overdue sweep published %s", counts)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("overdue sweep failed: %s: %s", type(exc).__name__, exc)
