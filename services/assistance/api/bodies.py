"""The JSON of the assistance API, from the use cases' typed read models (`application/views.py`):
dates and times in ISO 8601, keys in the order clients have always seen, optional keys present
only where they were (`households` on a roster or a new contact, `allowed_actions` on a measure
read for its caller, `measure_id` on a plan's own history, `policy` on `GET /plans/{id}`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.assistance.application.views import (
    ContactView,
    EmploymentRecordView,
    EmploymentStandard,
    HistoryItem,
    MeasureView,
    PersonJobOffers,
    PlanDetail,
    PlanSummary,
    Statistics,
    VisitCounts,
    VisitDue,
    VisitView,
)

__all__ = [
    "contact_body",
    "job_offers_body",
    "measure_body",
    "plan_detail_body",
    "plan_summary_body",
    "record_body",
    "standard_body",
    "statistics_body",
    "visit_body",
    "visit_due_body",
]


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def contact_body(c: ContactView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id,
        "region_code": c.region_code,
        "name": c.name,
        "phone": c.phone,
        "unit": c.unit,
        "active": c.active,
        "has_account": c.has_account,
    }
    if c.households is not None:
        out["households"] = c.households
    return out


def measure_body(m: MeasureView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m.id,
        "plan_id": m.plan_id,
        "household_id": m.household_id,
        "region_code": m.region_code,
        "type": m.type,
        "department": m.department,
        "status": m.status,
        "origin": m.origin,
        "rule": m.rule,
        "source": m.source,
        "reason": m.reason,
        "description": m.description,
        "outcome": m.outcome,
        "drop_reason": m.drop_reason,
        "last_progress_at": _iso(m.last_progress_at),
        "version": m.version,
    }
    if m.allowed_actions is not None:
        out["allowed_actions"] = list(m.allowed_actions)
    return out


def plan_summary_body(p: PlanSummary) -> dict[str, Any]:
    return {
        "id": p.id,
        "household_id": p.household_id,
        "region_code": p.region_code,
        "case_id": p.case_id,
        "status": p.status,
        "origin": p.origin,
        "opened_on": p.opened_on.isoformat(),
        "due_date": p.due_date.isoformat(),
        "drawn_up_on": _iso(p.drawn_up_on),
        "overdue": p.overdue,
        "contact_person": None if p.contact_person is None else contact_body(p.contact_person),
        "last_visit_on": _iso(p.last_visit_on),
        "next_visit_due": _iso(p.next_visit_due),
        "version": p.version,
        "measures": [{"id": m.id, "type": m.type, "department": m.department, "status": m.status} for m in p.measures],
    }


def _history_body(h: HistoryItem, *, with_measure: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "action": h.action,
        "from": h.from_status,
        "to": h.to_status,
        "by": h.by,
        "role": h.role,
        "at": h.at.isoformat(),
        "note": h.note,
    }
    if with_measure:
        item["measure_id"] = h.measure_id
    return item


def plan_detail_body(d: PlanDetail) -> dict[str, Any]:
    out = plan_summary_body(d.plan)
    out["measures"] = [
        {**measure_body(m.measure), "history": [_history_body(h, with_measure=False) for h in m.history]}
        for m in d.measures
    ]
    out["history"] = [_history_body(h, with_measure=True) for h in d.history]
    out["contact_history"] = [
        {
            "contact_id": a.contact_id,
            "previous_contact_id": a.previous_contact_id,
            "reason": a.reason,
            "by": a.by,
            "at": a.at.isoformat(),
        }
        for a in d.contact_history
    ]
    if d.policy is not None:
        out["policy"] = {"plan_due_days": {"value": d.policy.plan_due_days, "source": d.policy.source}}
    return out


def visit_body(v: VisitView) -> dict[str, Any]:
    return {
        "id": v.id,
        "plan_id": v.plan_id,
        "household_id": v.household_id,
        "region_code": v.region_code,
        "contact_id": v.contact_id,
        "visited_on": v.visited_on.isoformat(),
        "mode": v.mode,
        "findings": v.findings,
        "income": v.income,
        "attachments": v.attachments,
    }


def visit_due_body(r: VisitDue) -> dict[str, Any]:
    return {
        "plan_id": r.plan_id,
        "household_id": r.household_id,
        "region_code": r.region_code,
        "contact_id": r.contact_id,
        "plan_status": r.plan_status,
        "last_visit_on": _iso(r.last_visit_on),
        "due_date": r.due_date.isoformat(),
        "overdue": r.overdue,
        "days_overdue": r.days_overdue,
    }


def record_body(r: EmploymentRecordView) -> dict[str, Any]:
    return {
        "id": r.id,
        "person_ref": r.person_ref,
        "household_id": r.household_id,
        "region_code": r.region_code,
        "survey": r.survey,
        "services": [
            {"id": s.id, "kind": s.kind, "provided_on": s.provided_on.isoformat(), "detail": s.detail}
            for s in r.services
        ],
    }


def standard_body(s: EmploymentStandard) -> dict[str, Any]:
    return {
        "region": s.region,
        "as_of": s.as_of.isoformat(),
        "source": s.source,
        "villages": [
            {
                "region_code": v.region_code,
                "laborers": v.laborers,
                "meeting_standard": v.meeting_standard,
                "standard": {
                    "min_guidance_or_training": v.standard.min_guidance_or_training,
                    "min_job_recommendations": v.standard.min_job_recommendations,
                },
                "short": [
                    {
                        "record_id": x.record_id,
                        "person_ref": x.person_ref,
                        "guidance_or_training": x.guidance_or_training,
                        "job_recommendations": x.job_recommendations,
                        "missing": list(x.missing),
                    }
                    for x in v.short
                ],
            }
            for v in s.villages
        ],
    }


def job_offers_body(j: PersonJobOffers) -> dict[str, Any]:
    sanction = j.sanction
    return {
        "record_id": j.record_id,
        "person_ref": j.person_ref,
        "household_id": j.household_id,
        "recommendations": [
            {
                "id": o.id,
                "provided_on": o.provided_on.isoformat(),
                "outcome": o.outcome,
                "valid_reason": o.valid_reason,
                "note": o.note,
            }
            for o in j.recommendations
        ],
        "refusals_in_a_row": j.refusals_in_a_row,
        "refusals_before_sanction": j.refusals_before_sanction,
        "sanction": None
        if sanction is None
        else {
            "refusals": sanction.refusals,
            "recommendation_ids": list(sanction.recommendation_ids),
            "event_id": sanction.event_id,
            "decided_at": sanction.decided_at.isoformat(),
        },
    }


def _visit_counts(rows: tuple[VisitCounts, ...], key: str) -> list[dict[str, Any]]:
    return [{key: r.key, "due": r.due, "done": r.done, "overdue": r.overdue} for r in rows]


def statistics_body(s: Statistics) -> dict[str, Any]:
    return {
        "region": s.region,
        "as_of": s.as_of.isoformat(),
        # visits `done` this month so far; `due` in the next 30 days; `overdue` past their date
        "visits_done_since": s.visits_done_since.isoformat(),
        "visits_due_until": s.visits_due_until.isoformat(),
        "households_without_plan": {
            "total": s.households_without_plan_total,
            "by_village": [{"region_code": r.region_code, "count": r.count} for r in s.households_without_plan],
        },
        "plans_overdue": [{"region_code": r.region_code, "count": r.count} for r in s.plans_overdue],
        "measures": [
            {"type": m.type, "department": m.department, "status": m.status, "count": m.count} for m in s.measures
        ],
        "visits_by_village": _visit_counts(s.visits_by_village, "region_code"),
        "visits_by_contact": _visit_counts(s.visits_by_contact, "contact_id"),
    }
