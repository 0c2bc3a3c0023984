"""The deadline sweep of appeals and complaints: `appeal.reminder_due` / `appeal.overdue`,
`complaint.reminder_due` / `complaint.overdue` (an overdue complaint is escalated to the
supervising level, recorded on it and in its history). Each alert is published once per deadline:
its `grievance_alerts` row is written in the same transaction as the outbox row, and its primary
key keeps a second pass or a second replica from publishing it again."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, cast

from services.civil_affairs.application.ports import AppealRow, ComplaintRow, ComplaintsRepository, StaleVersion, Work
from services.civil_affairs.domain.appeals import HistoryEntry, Level
from services.civil_affairs.domain.appeals import alerts_due as appeal_alerts_due
from services.civil_affairs.domain.complaints import alerts_due as complaint_alerts_due
from services.civil_affairs.domain.complaints import escalation_target
from shared.events import Event

from . import appeals as appeals_uc
from . import complaints as complaints_uc
from .appeals_policy import appeal_policy, complaint_policy, grievance_policy_at

__all__ = ["SweepCounts", "sweep_grievances"]

log = logging.getLogger("fangfan.civil_affairs.appeals_sweep")


@dataclass(frozen=True, slots=True)
class SweepCounts:
    """How many alerts of each kind one pass published."""

    appeal_reminder_due: int = 0
    appeal_overdue: int = 0
    complaint_reminder_due: int = 0
    complaint_overdue: int = 0

    def by_kind(self) -> dict[str, int]:
        """By event kind (`appeal.reminder_due`, …), as logged."""
        return {
            "appeal.reminder_due": self.appeal_reminder_due,
            "appeal.overdue": self.appeal_overdue,
            "complaint.reminder_due": self.complaint_reminder_due,
            "complaint.overdue": self.complaint_overdue,
        }

    @property
    def total(self) -> int:
        return sum(self.by_kind().values())


async def _policies(uow: Work, today: dt.date) -> Any:
    """The policy resolved once per region for this pass (versions read once)."""
    versions = await uow.policy_versions()
    cache: dict[str, Any] = {}

    def at(region: str) -> Any:
        if region not in cache:
            cache[region] = grievance_policy_at(versions, region, today)
        return cache[region]

    return at


async def _appeal_candidates(uow: Work, today: dt.date) -> list[tuple[str, str, AppealRow, Event]]:
    out = []
    policy_at = await _policies(uow, today)
    for row in await uow.appeals.open_ones():
        policy = appeal_policy(policy_at(row["region_code"]))
        appeal = appeals_uc._domain(row)
        for kind, key in appeal_alerts_due(appeal, today, policy):
            extra: dict[str, Any] = {"days_left": (appeal.deadline - today).days}
            if kind == "overdue":
                extra = {"days_overdue": (today - appeal.deadline).days}
            out.append((f"appeal.{kind}", key, row, appeals_uc.appeal_event(kind, row, **extra)))
    return out


async def _complaint_candidates(uow: Work, today: dt.date) -> list[tuple[str, str, ComplaintRow, Event]]:
    out = []
    policy_at = await _policies(uow, today)
    for row in await uow.complaints.open_ones():
        policy = complaint_policy(policy_at(row["region_code"]))
        c = complaints_uc._domain(row)
        for kind, stage, key, due in complaint_alerts_due(c, today, policy):
            extra: dict[str, Any] = {"stage": stage, "due_date": due.isoformat()}
            if kind == "overdue":
                up = escalation_target(Level(row["responsible_level"]), row["responsible_region"])
                extra.update(days_overdue=(today - due).days, escalated_level=str(up.level), escalated_region=up.region)
            out.append((f"complaint.{kind}", key, row, complaints_uc.complaint_event(kind, row, **extra)))
    return out


async def sweep_grievances(uow: Work, now: dt.datetime) -> SweepCounts:
    """One pass (one transaction); returns how many alerts of each kind it published."""
    today = now.date()
    counts = {"appeal.reminder_due": 0, "appeal.overdue": 0, "complaint.reminder_due": 0, "complaint.overdue": 0}
    candidates: list[tuple[str, str, AppealRow | ComplaintRow, Event]] = [
        *await _appeal_candidates(uow, today),
        *await _complaint_candidates(uow, today),
    ]
    if not candidates:
        return SweepCounts()
    alerts = uow.alerts
    # most candidates went out on an earlier pass: read those, insert only the rest
    known = await alerts.known({row["id"] for _, _, row, _ in candidates})
    todo = [c for c in candidates if (c[0], c[1]) not in known]
    if not todo:
        return SweepCounts()
    rows = [
        {
            "kind": kind,
            "key": key,
            "ref_id": row["id"],
            "region_code": row["region_code"],
            "event_id": ev.id,
            "published_at": now,
        }
        for kind, key, row, ev in todo
    ]
    fresh = await alerts.claim(rows)  # a replica's concurrent pass may have claimed some
    escalations: dict[str, tuple[ComplaintRow, list[Event]]] = {}
    for kind, key, row, ev in todo:
        if (kind, key) not in fresh:
            continue
        uow.add_event(ev)
        counts[kind] += 1
        if kind == "complaint.overdue":
            escalations.setdefault(row["id"], (cast(ComplaintRow, row), []))[1].append(ev)  # a complaint's
    repo = uow.complaints
    for row, evs in escalations.values():
        await _record_escalation(repo, row, evs, now)
    await uow.commit()
    return SweepCounts(
        appeal_reminder_due=counts["appeal.reminder_due"],
        appeal_overdue=counts["appeal.overdue"],
        complaint_reminder_due=counts["complaint.reminder_due"],
        complaint_overdue=counts["complaint.overdue"],
    )


async def _record_escalation(repo: ComplaintsRepository, row: ComplaintRow, evs: list[Event], now: dt.datetime) -> None:
    """One update per complaint and pass: the escalation and its history entries."""
    entries = tuple(
        HistoryEntry(
            "escalate",
            row["state"],
            row["state"],
            "system",
            "system",
            now,
            f"{ev.data['stage']} overdue since {ev.data['due_date']}: escalated to the "
            f"{ev.data['escalated_level']} ({ev.data['escalated_region']})",
        )
        for ev in evs
    )
    last = evs[-1].data
    for _ in range(3):  # an officer acting meanwhile bumps the version: re-read and retry
        try:
            await repo.update(
                row["id"],
                row["version"],
                {
                    "escalated_level": last["escalated_level"],
                    "escalated_region": last["escalated_region"],
                    "history": [*row["history"], *appeals_uc.history_json(entries)],
                    "version": row["version"] + 1,
                    "updated_at": now,
                },
            )
            return
        except StaleVersion:
            fresh = await repo.get(row["id"])
            if fresh is None:
                return
            row = fresh
    log.warning("complaint %s: escalation not recorded (kept changing)", row["id"])
