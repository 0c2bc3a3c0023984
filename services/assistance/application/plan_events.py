"""The events plans and measures publish on the way (`visit_scheduled`, `visit_cancelled`,
`measure_status_changed`), with the contact person's inbox address where notification needs it."""

from __future__ import annotations

import datetime as dt

from shared.events import Event

from .common import assistance_event
from .ports import Work
from .records import Measure, Plan

__all__ = ["announce_visit", "cancel_visit_event", "contact_hash", "measure_status_event"]


async def contact_hash(uow: Work, contact_id: str | None) -> str | None:
    """The contact person's inbox address (`contacts.sub_hash`), if they have an account."""
    if not contact_id:
        return None
    return (await uow.contacts.sub_hashes([contact_id])).get(contact_id)


async def announce_visit(
    uow: Work,
    *,
    visit_id: str,
    plan_id: str,
    household_id: str,
    region_code: str,
    due: dt.date,
    contact_id: str | None,
) -> None:
    """`visit_scheduled`: the next visit of a plan, the id it will be recorded under and its due
    date — notification sets the contact person's reminder from it. Published again (same
    `visit_id`) whenever the date or the contact person changes: the reminder moves."""
    uow.add_event(
        assistance_event(
            "visit_scheduled",
            household_id,
            region_code,
            {
                "visit_id": visit_id,
                "plan_id": plan_id,
                "household_id": household_id,
                "region_code": region_code,
                "due_date": due.isoformat(),
                "contact_id": contact_id,
                "contact_person_sub_hash": await contact_hash(uow, contact_id),
            },
        )
    )


def cancel_visit_event(plan: Plan, reason: str) -> Event:
    """`visit_cancelled`: the announced visit will not happen (the household was cleared out)."""
    return assistance_event(
        "visit_cancelled",
        plan.household_id,
        plan.region_code,
        {
            "visit_id": plan.next_visit_id,
            "plan_id": plan.id,
            "household_id": plan.household_id,
            "region_code": plan.region_code,
            "reason": reason,
        },
    )


def measure_status_event(m: Measure, from_status: str | None, to_status: str, on: dt.date) -> Event:
    """`measure_status_changed`: a measure added (`from` null) or moved on its lifecycle — what
    identification counts toward elimination (open / closed / dropped) and dates measures by."""
    return assistance_event(
        "measure_status_changed",
        m.household_id,
        m.region_code,
        {
            "measure_id": m.id,
            "plan_id": m.plan_id,
            "household_id": m.household_id,
            "region_code": m.region_code,
            "type": m.type,
            "department": m.department,
            "from": from_status,
            "to": to_status,
            "on": on.isoformat(),
        },
    )
