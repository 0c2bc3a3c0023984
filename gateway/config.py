"""The gateway's own settings, read from the environment (prefix FANGFAN_) on top of the shared
Settings: upstream URLs, JWKS, rate limits, circuit breaker, API-key cache."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.settings import SERVICE_PORTS, SERVICES

__all__ = ["BucketSpec", "GatewayConfig", "parse_bucket"]

_PERIODS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}


@dataclass(frozen=True)
class BucketSpec:
    """A token bucket: `rate` tokens per second, at most `burst` saved up."""

    rate: float
    burst: float


def parse_bucket(text: str) -> BucketSpec:
    """`"200/s,1000"` → 200 per second, burst 1000; `"10/min"` → burst 10; `"off"` → unlimited."""
    text = text.strip().lower()
    if text in ("off", "0", "none", "unlimited"):
        return BucketSpec(rate=float("inf"), burst=float("inf"))
    spec, _, burst = text.partition(",")
    count, _, period = spec.partition("/")
    per = _PERIODS.get(period.strip() or "s")
    if per is None:
        raise ValueError(f"rate {text!r}: period must be s, min or hour")
    n = float(count)
    if n <= 0:
        raise ValueError(f"rate {text!r} must be positive (or 'off')")
    return BucketSpec(rate=n / per, burst=float(burst) if burst.strip() else max(n, 1.0))


def _env(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(f"FANGFAN_{name}", default)


@dataclass(frozen=True)
class GatewayConfig:
    #: The first replica of each service (its OpenAPI is fetched from there).
    upstreams: dict[str, str] = field(default_factory=dict)
    #: Every replica of each service: `FANGFAN_<SERVICE>_URL` may list several, comma-separated.
    replicas: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: A JWKS for RS256: a file path, an https URL, or an http URL on loopback.
    jwks: str | None = None
    #: Token buckets. Generous by default: only abuse should meet them.
    rate_ip: BucketSpec = BucketSpec(500.0, 2000.0)
    rate_principal: BucketSpec = BucketSpec(200.0, 1000.0)
    rate_self_application: BucketSpec = BucketSpec(10 / 60, 10.0)
    rate_export: BucketSpec = BucketSpec(1 / 10, 5.0)
    #: JSON request bodies nesting deeper than this are refused (422 json_too_deep) here.
    max_json_depth: int = 64
    breaker_failures: int = 5
    breaker_cooldown_s: float = 10.0
    api_key_cache_s: float = 10.0
    #: How long a pooled upstream connection may idle: below uvicorn's 5 s keep-alive, so the
    #: gateway never reuses a connection the service is closing.
    upstream_keepalive_s: float = 4.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        replicas = {
            s: tuple(
                u.strip().rstrip("/")
                for u in _env(env, f"{s.upper()}_URL", f"http://127.0.0.1:{SERVICE_PORTS[s]}").split(",")
                if u.strip()
            )
            for s in SERVICES
        }
        return cls(
            upstreams={s: urls[0] for s, urls in replicas.items()},
            replicas=replicas,
            jwks=env.get("FANGFAN_JWT_JWKS") or None,
            rate_ip=parse_bucket(_env(env, "RATE_IP", "500/s,2000")),
            rate_principal=parse_bucket(_env(env, "RATE_PRINCIPAL", "200/s,1000")),
            rate_self_application=parse_bucket(_env(env, "RATE_SELF_APPLICATION", "10/min,10")),
            rate_export=parse_bucket(_env(env, "RATE_EXPORT", "6/min,5")),
            max_json_depth=int(_env(env, "MAX_JSON_DEPTH", "64")),
            breaker_failures=int(_env(env, "BREAKER_FAILURES", "5")),
            breaker_cooldown_s=float(_env(env, "BREAKER_COOLDOWN_S", "10")),
            api_key_cache_s=float(_env(env, "API_KEY_CACHE_S", "10")),
        )
