"""The household economic-situation check (居民家庭经济状况核对, 003 §二(二) "凡救助，必核对"):
what the county check system is asked, what it answers, and what the answer means for the
application. Pure.

A result says whether the household passes (assets within the rules), what assets and what annual
income the check found. The category is decided again on the verified income (the found income
replaces the declared one when given): a failed check, or verified income above the line, rejects
the application with the explanation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from services.civil_affairs.domain.programmes import (
    CategoryDecision,
    HouseholdFacts,
    Programme,
    ProgrammePolicy,
    decide,
)

__all__ = ["CheckRecord", "CheckResult", "evaluate_check"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    passed: bool
    checked_at: dt.datetime
    reference: str
    assets_found: tuple[dict[str, Any], ...] = ()
    income_found_annual: Decimal | None = None
    note: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "checked_at": self.checked_at.isoformat(),
            "reference": self.reference,
            "assets_found": list(self.assets_found),
            "income_found_annual": None if self.income_found_annual is None else str(self.income_found_annual),
            "note": self.note,
        }

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> CheckResult:
        income = d.get("income_found_annual")
        checked = d["checked_at"]
        return cls(
            passed=bool(d["passed"]),
            checked_at=checked if isinstance(checked, dt.datetime) else dt.datetime.fromisoformat(str(checked)),
            reference=str(d.get("reference") or ""),
            assets_found=tuple(dict(a) for a in d.get("assets_found") or ()),
            income_found_annual=None if income is None else Decimal(str(income)),
            note=d.get("note"),
        )


def evaluate_check(
    programme: Programme, facts: HouseholdFacts, result: CheckResult, policy: ProgrammePolicy, *, on: dt.date
) -> tuple[bool, CategoryDecision, str]:
    """(passed, the decision on the verified figures, the explanation for the history)."""
    verified = replace(
        facts,
        income_annual=facts.income_annual if result.income_found_annual is None else result.income_found_annual,
        assets_within_rules=facts.assets_within_rules and result.passed,
    )
    decision = decide(programme, verified, policy, on=on)
    assets = ", ".join(str(a.get("kind", "asset")) for a in result.assets_found) or "none"
    if not result.passed:
        why = f"the economic check (reference {result.reference}) failed: assets found beyond the rules ({assets})" + (
            f"; {result.note}" if result.note else ""
        )
        return False, decision, why
    income = "as declared" if result.income_found_annual is None else f"{result.income_found_annual} a year found"
    why = f"the economic check (reference {result.reference}) passed; income {income}; {decision.explanation}"
    return True, decision, why


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """One request to a county's check system and, once it answered, its result."""

    id: str
    application_id: str
    county: str
    adapter: str  # http | file
    status: str  # pending | done | timed_out
    requested_at: dt.datetime
    due_on: dt.date
    request: Mapping[str, Any]  # what was asked, without ID numbers
    sent_at: dt.datetime | None = None
    reference: str | None = None
    result: CheckResult | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "adapter": self.adapter,
            "status": self.status,
            "requested_at": self.requested_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "due_on": self.due_on.isoformat(),
            "reference": self.reference,
            "result": self.result.to_doc() if self.result else None,
        }
