"""Webhook retry schedule: the delays between attempts (configuration, e.g. 5 s, 30 s, 2 min,
10 min, 1 h, … up to 24 h) with jitter; after the last delay's attempt a delivery is dead."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_SCHEDULE", "RetrySchedule", "parse_schedule"]

DEFAULT_SCHEDULE = (5.0, 30.0, 120.0, 600.0, 3600.0, 10800.0, 21600.0, 43200.0, 86400.0)


def parse_schedule(text: str) -> tuple[float, ...]:
    """`"5,30,120"` → (5.0, 30.0, 120.0); units are seconds; `""` means no retries."""
    out = tuple(float(p) for p in (x.strip() for x in text.split(",")) if p)
    if any(d < 0 for d in out):
        raise ValueError("retry delays must not be negative")
    return out


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    delays: Sequence[float] = DEFAULT_SCHEDULE
    #: Each delay is spread uniformly over ±jitter of itself, so receivers coming back up are
    #: not hit by every retry at the same instant.
    jitter: float = 0.2

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def next_delay(self, attempts_made: int, rng: random.Random | None = None) -> float | None:
        """Seconds to wait after `attempts_made` failed attempts; None when the delivery is dead."""
        if attempts_made < 1 or attempts_made > len(self.delays):
            return None
        base = self.delays[attempts_made - 1]
        r = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, base * (1.0 + r))
