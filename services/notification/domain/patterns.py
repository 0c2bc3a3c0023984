"""Event-type patterns of a subscription (`risk.*`, `case.status_changed`, `*`) and the
per-household ordering key of a delivery."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["InvalidPattern", "matches_any", "order_key", "validate_pattern"]

_TOKEN = r"[a-z][a-z0-9_]*"
_PATTERN = re.compile(rf"^(\*|{_TOKEN}\.\*|{_TOKEN}\.{_TOKEN})$")


class InvalidPattern(ValueError):
    """Not `*`, `<domain>.*` or `<domain>.<event>`."""


def validate_pattern(pattern: str) -> str:
    p = pattern.strip()
    if not _PATTERN.match(p):
        raise InvalidPattern(
            f"{pattern!r} is not an event type pattern: use '*', '<domain>.*' or '<domain>.<event>' "
            "(lower case, e.g. 'risk.*', 'case.status_changed')"
        )
    return p


def matches(pattern: str, domain: str, name: str) -> bool:
    if pattern == "*":
        return True
    dom, _, ev = pattern.partition(".")
    return dom == domain and (ev == "*" or ev == name)


def matches_any(patterns: Iterable[str], domain: str, name: str) -> bool:
    return any(matches(p, domain, name) for p in patterns)


def order_key(subject: str, data: Mapping[str, Any]) -> str:
    """Deliveries to one subscription keep event order within one household: the household id
    when the event names one, else the event's subject (a case, a region)."""
    hh = data.get("household_id")
    return str(hh) if hh else subject
