"""Who hears of appeals and complaints (notification's routing, pure): the person who filed, by
blind index, and the officers of the unit that must act."""

from __future__ import annotations

from typing import Any

import pytest

from services.notification.domain.routing import route_event

VILLAGE = "341221001201"
APPEAL = {
    "appeal_id": "a-1",
    "household_id": "hh-1",
    "review_level": "county",
    "decided_level": "township",
    "deadline": "2026-04-01",
    "appellant_sub_hash": "h-citizen",
}
COMPLAINT = {
    "complaint_id": "c-1",
    "responsible_level": "township",
    "reply_due": "2026-03-16",
    "complainant_sub_hash": "h-caller",
}


@pytest.mark.parametrize(
    ("domain", "name", "data", "expected"),
    [
        ("appeal", "received", APPEAL, [("appeal_received", "h-citizen", ()), ("appeal_to_review", None, ("county",))]),
        (
            "appeal",
            "decided",
            {**APPEAL, "outcome": "overturned"},
            [("appeal_decided", "h-citizen", ()), ("appeal_decided", None, ("township",))],
        ),
        ("appeal", "reminder_due", APPEAL, [("appeal_reminder_due", None, ("county",))]),
        ("appeal", "overdue", APPEAL, [("appeal_overdue", None, ("county", "province"))]),
        (
            "appeal",
            "received",
            {**APPEAL, "review_level": "city"},
            [("appeal_received", "h-citizen", ()), ("appeal_to_review", None, ("province",))],
        ),
        ("complaint", "received", COMPLAINT, [("complaint_received", "h-caller", ())]),
        ("complaint", "routed", COMPLAINT, [("complaint_routed", None, ("township",))]),
        ("complaint", "closed", {**COMPLAINT, "satisfaction": "satisfied"}, [("complaint_closed", "h-caller", ())]),
        (
            "complaint",
            "overdue",
            {**COMPLAINT, "stage": "reply", "due_date": "2026-03-16", "escalated_level": "county"},
            [("complaint_overdue", None, ("township", "county"))],
        ),
    ],
)
def test_who_hears(
    domain: str, name: str, data: dict[str, Any], expected: list[tuple[str, str | None, tuple[str, ...]]]
) -> None:
    routing = route_event(domain, name, "x", VILLAGE, data)
    assert [(n.kind, n.audience.person, n.audience.roles) for n in routing.notices] == expected


def test_decided_text_names_the_outcome() -> None:
    routing = route_event("appeal", "decided", "a-1", VILLAGE, {**APPEAL, "outcome": "partly_upheld"})
    assert routing.notices[0].body == "您的申诉已办结，复核结果：部分变更原决定。"
