"""The wire shape of monitoring's answers (registry, low income, statistics, signals, loops, the
national sync): each function maps a use case's typed result to the JSON body its route has
always answered — the same keys in the same order, times as ISO 8601, money as a string to the
fen, ID numbers as masked as the result holds them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from services.identification.application.loops import HouseholdLoops
from services.identification.application.monitoring_ports import (
    HouseholdHead,
    OpenCaseRef,
    PolicyRef,
    RegistryItem,
)

__all__ = [
    "iso",
    "loops_body",
    "money",
    "policy_body",
    "registry_item_body",
]


def iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def money(value: Decimal | None) -> str | None:
    """A stored amount to the fen ("1234.50"), None as null."""
    return None if value is None else f"{value:.2f}"


def policy_body(policy: PolicyRef | None) -> dict[str, Any] | None:
    return None if policy is None else {"id": policy.id, "version": policy.version}


def _head_body(head: HouseholdHead | None) -> dict[str, Any] | None:
    if head is None:
        return None
    return {
        "relation": head.relation,
        "sex": head.sex,
        "birth_year": head.birth_year,
        "id_number": head.id_number_masked,
        "name": None,
    }


def _open_case_body(case: OpenCaseRef | None) -> dict[str, Any] | None:
    if case is None:
        return None
    return {
        "id": case.id,
        "procedure": case.procedure,
        "state": case.state,
        "deadline": iso(case.deadline),
        "overdue": case.overdue,
    }


def registry_item_body(item: RegistryItem) -> dict[str, Any]:
    """A household of a registry list: masked head (no name), open case."""
    return {
        "id": item.id,
        "household_number": item.household_number,
        "region_code": item.region_code,
        "status": item.status,
        "category": item.category,
        "low_income_category": item.low_income_category,
        "warning": item.warning,
        "members": item.members,
        "head": _head_body(item.head),
        "open_case": _open_case_body(item.open_case),
        "updated_at": iso(item.updated_at),
    }


def loops_body(loops: HouseholdLoops) -> dict[str, Any]:
    """`HouseholdLoops` as `GET /households/{id}` and the red-mark routes show it."""
    mark = loops.red_mark
    return {
        "measures": {
            "since": None if loops.measures_since is None else loops.measures_since.isoformat(),
            **loops.measure_counts,
        },
        "reassessment": loops.reassessment,
        "red_mark": None
        if mark is None
        else {"reason": mark.reason, "by": mark.by, "at": mark.at.isoformat() if mark.at else None},
        "mark_history": [
            {"action": m.action, "reason": m.reason, "by": m.by, "role": m.role, "at": m.at.isoformat()}
            for m in loops.mark_history
        ],
    }
