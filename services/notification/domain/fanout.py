"""Fan-out decisions, pure: which subscriptions an event goes to (type pattern and region
prefix; disabled ones too — they hold it until re-enabled), and which of a batch's new delivery
rows go straight to this replica's dispatcher (leased) rather than to its claim loop."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.notification.domain.patterns import matches_any
from shared.identifiers import region_within

__all__ = ["Target", "matching", "plan_leases"]


@dataclass(frozen=True, slots=True)
class Target:
    """A subscription as the fan-out sees it."""

    id: str
    event_types: Any
    region: str
    status: str
    url: str


def matching(subs: Iterable[Target], domain: str, name: str, region: str) -> list[Target]:
    return [s for s in subs if matches_any(s.event_types, domain, name) and region_within(region, s.region)]


def plan_leases(pairs: Sequence[tuple[Target, str]], *, room: int, blocked: set[tuple[str, str]]) -> list[bool]:
    """For each (subscription, order key) row in event order: leased to our dispatcher at once?
    Only for an active subscription, while there is room, and when nothing of that household is
    pending before it for that subscription — in the table (`blocked`) or earlier in this batch."""
    seen = set(blocked)
    out: list[bool] = []
    for s, key in pairs:
        pair = (s.id, key)
        leased = room > 0 and s.status == "active" and pair not in seen
        seen.add(pair)  # a later event of this household for s waits behind this one
        if leased:
            room -= 1
        out.append(leased)
    return out
