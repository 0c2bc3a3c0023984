"""The checker: what was acknowledged (committed to an outbox) against what was observed (each
consumer's inbox, and the effects). Exactly once means, for every consumer, that its inbox holds
exactly the outbox events its subjects match — none missing, none extra."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tests.reliability.system import query


def consumers_of(urls: Mapping[str, str]) -> dict[str, tuple[str, Sequence[str]]]:
    """Every durable consumer of the given services (service → database URL), as their specs
    declare them: name → (database URL, filter subjects)."""
    out: dict[str, tuple[str, Sequence[str]]] = {}
    for service, url in urls.items():
        spec = importlib.import_module(f"services.{service}.main").spec()
        for c in spec.consumers:
            out[f"{service}-{c.name}"] = (url, list(c.filter_subjects))
    return out


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject wildcards: `*` one token, `>` the rest (at least one token)."""
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


async def outbox(url: str) -> dict[str, str]:
    """event id → subject of every event the service committed."""
    return {r["event_id"]: r["subject"] for r in await query(url, "SELECT event_id, subject FROM outbox")}


async def unpublished(url: str) -> int:
    rows = await query(url, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
    return int(rows[0]["n"])


async def inbox(url: str, consumer: str) -> set[str]:
    return {r["event_id"] for r in await query(url, "SELECT event_id FROM inbox WHERE consumer = $1", consumer)}


@dataclass
class Verdict:
    consumer: str
    expected: int
    handled: int
    missing: set[str] = field(default_factory=set)
    extra: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra


async def check_inboxes(
    outbox_urls: Sequence[str], consumers: Mapping[str, tuple[str, Sequence[str]]]
) -> dict[str, Verdict]:
    """`consumers`: durable name → (its service's database URL, its filter subjects)."""
    committed: dict[str, str] = {}
    for url in outbox_urls:
        committed.update(await outbox(url))
    out: dict[str, Verdict] = {}
    for name, (url, filters) in consumers.items():
        expected = {eid for eid, subj in committed.items() if any(subject_matches(f, subj) for f in filters)}
        seen = await inbox(url, name)
        out[name] = Verdict(name, len(expected), len(seen), expected - seen, seen - expected)
    return out


def summary(verdicts: Mapping[str, Verdict]) -> dict[str, object]:
    return {
        v.consumer: {"expected": v.expected, "handled": v.handled, "missing": len(v.missing), "extra": len(v.extra)}
        for v in verdicts.values()
    }
