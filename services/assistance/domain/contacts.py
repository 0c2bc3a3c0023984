"""Contact-person assignment (帮扶联系人): each monitored household has one, chosen from its
village's roster — the least-loaded active contact, ties broken by id (002 篇九 §三(二))."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import RuleViolation

__all__ = ["ContactLoad", "choose_contact", "ensure_same_village"]


@dataclass(frozen=True, slots=True)
class ContactLoad:
    contact_id: str
    region_code: str
    active: bool
    households: int  # plans not closed currently assigned


def choose_contact(roster: Iterable[ContactLoad], village: str) -> ContactLoad | None:
    """The active contact of `village` with the fewest households (then the smallest id)."""
    candidates = [c for c in roster if c.active and c.region_code == village]
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c.households, c.contact_id))


def ensure_same_village(contact_region: str, household_region: str) -> None:
    if contact_region != household_region:
        raise RuleViolation(
            "contact_other_village",
            "the contact person belongs to another village's roster",
            "002 篇九 §三(二): 结对监测帮扶 within the household's village",
        )
