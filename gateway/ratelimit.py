"""Token buckets in the gateway's memory: per client IP (before authentication), per principal,
and stricter ones for citizens' self-applications and for bulk exports. Over the limit is 429
problem+json with `Retry-After` (whole seconds until a token is back)."""

from __future__ import annotations

import math
import time

from gateway.config import BucketSpec
from shared.errors import DomainError

__all__ = ["RateLimited", "TokenBuckets"]


class RateLimited(DomainError):
    status, code, title = 429, "rate_limited", "Too many requests"


class TokenBuckets:
    """Buckets of one kind, by key. State is [tokens, last refill time]; idle buckets that have
    refilled completely are dropped when the table grows, so memory stays bounded."""

    _MAX_KEYS = 100_000

    def __init__(self, name: str, spec: BucketSpec) -> None:
        self.name = name
        self.spec = spec
        self.unlimited = math.isinf(spec.rate)
        self._state: dict[str, list[float]] = {}

    def take(self, key: str, now: float | None = None) -> None:
        """Spend one token for `key`, or raise RateLimited with the seconds to wait."""
        if self.unlimited:
            return
        now = time.monotonic() if now is None else now
        st = self._state.get(key)
        if st is None:
            if len(self._state) >= self._MAX_KEYS:
                self._prune(now)
            st = self._state[key] = [self.spec.burst, now]
        else:
            st[0] = min(self.spec.burst, st[0] + (now - st[1]) * self.spec.rate)
            st[1] = now
        if st[0] >= 1.0:
            st[0] -= 1.0
            return
        wait = (1.0 - st[0]) / self.spec.rate
        raise RateLimited(
            f"too many requests ({self.name}); retry in {math.ceil(wait)} s",
            retry_after=max(1, math.ceil(wait)),
        )

    def _prune(self, now: float) -> None:
        full = [k for k, (tokens, t) in self._state.items() if tokens + (now - t) * self.spec.rate >= self.spec.burst]
        for k in full:
            del self._state[k]
        if len(self._state) >= self._MAX_KEYS:  # still full: under attack; forget the oldest half
            for k in list(self._state)[: self._MAX_KEYS // 2]:
                del self._state[k]
