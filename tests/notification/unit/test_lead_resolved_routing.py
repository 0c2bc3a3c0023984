"""Routing of `signal.lead_resolved`: an inbox item for each department account that sent the
lead's signals (by the blind index the event carries), nothing for anyone else."""

from __future__ import annotations

import pytest

from services.notification.domain.routing import route_event


@pytest.mark.parametrize(
    ("data", "people", "body"),
    [
        pytest.param(
            {"lead_id": "l1", "outcome": "matched", "household_id": "h1", "source_sub_hashes": ["A", "B"]},
            ["A", "B"],
            "贵部门推送的风险线索已核实并匹配到农户。",
            id="matched: both senders",
        ),
        pytest.param(
            {"lead_id": "l1", "outcome": "dismissed", "household_id": None, "source_sub_hashes": ["A"]},
            ["A"],
            "贵部门推送的风险线索已核查排除。",
            id="dismissed",
        ),
        pytest.param({"lead_id": "l1", "outcome": "matched"}, [], "", id="no sender hash: no inbox item"),
    ],
)
def test_lead_resolution_reaches_the_sending_department(data: dict[str, object], people: list[str], body: str) -> None:
    r = route_event("signal", "lead_resolved", "l1", "341221001201", data)
    assert [n.audience.person for n in r.notices] == people
    assert all(n.audience.roles == () for n in r.notices)
    for n in r.notices:
        assert n.kind == "lead_resolved"
        assert n.body == body
        assert n.data["lead_id"] == "l1"
        assert n.data["outcome"] == data["outcome"]
        assert n.region == "341221001201"
    assert r.schedules == []
    assert r.cancels == []
