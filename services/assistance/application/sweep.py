"""The overdue sweep: plans not drawn up within `plan_due_days`, measures without progress for
`measure_stall_days`, visits past their due date. Each occurrence is published once
(`assistance.plan_overdue`, `assistance.measure_stalled`, `assistance.visit_overdue`): the
`alerts` row (kind, key) written in the same transaction as the outbox row is the record of what
was published, and its primary key keeps replicas from publishing it twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.assistance.domain.schedule import is_overdue, stalled_since

from .common import CST, assistance_event, policy_for
from .ports import Alert, Work
from .records import Measure
from .views import SweepResult

__all__ = ["SweepResult", "is_stalled", "sweep_overdue"]


def is_stalled(row: Measure, now: dt.datetime) -> bool:
    policy = policy_for(row.region_code, now.date())
    last = row.last_progress_at.astimezone(CST).date() if row.last_progress_at.tzinfo else row.last_progress_at.date()
    return row.status not in ("closed", "dropped") and stalled_since(last, now.date(), policy.measure_stall_days)


async def sweep_overdue(uow: Work, now: dt.datetime) -> SweepResult:
    """One pass (committed if it found anything); returns how many events of each kind it published."""
    day = now.date()
    published = {"plan_overdue": 0, "measure_stalled": 0, "visit_overdue": 0}
    candidates: list[tuple[str, str, str, str, dict[str, Any]]] = []  # kind, key, ref, region, data
    late_plans = await uow.plans.late(day)
    due_visits = await uow.plans.visits_past_due(day)
    # the contact persons' inbox addresses (notification files the alerts under them)
    hashes = await uow.contacts.sub_hashes({p.contact_id for p in [*late_plans, *due_visits] if p.contact_id})
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
                    "contact_person_sub_hash": hashes.get(p.contact_id) if p.contact_id else None,
                },
            )
        )
    for m in await uow.measures.unfinished():
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
        if p.next_visit_due is None or not is_overdue(p.next_visit_due, day):
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
                    "contact_person_sub_hash": hashes.get(p.contact_id) if p.contact_id else None,
                    "visit_id": p.next_visit_id,
                    "due_date": p.next_visit_due.isoformat(),
                    "days_overdue": (day - p.next_visit_due).days,
                },
            )
        )
    if not candidates:
        return SweepResult(**published)
    events = {}
    found = []
    for kind, key, ref, region, data in candidates:
        ev = assistance_event(kind, data["household_id"], region, data)
        events[(kind, key)] = ev
        found.append(Alert(kind, key, ref, region, ev.id, now))
    fresh = await uow.alerts.record_fresh(found)
    for kind, key in sorted(fresh):
        uow.add_event(events[(kind, key)])
        published[kind] += 1
    await uow.commit()
    return SweepResult(**published)
