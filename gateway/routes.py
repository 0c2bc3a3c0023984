"""Which service answers which public path (all under /api/v1; the first matching prefix wins), and
the per-route request body limits and upstream timeouts."""

from __future__ import annotations

API_PREFIX = "/api/v1"

#: (path prefix under /api/v1, service). `/admin/policies` is routed by its `service` field.
ROUTES: list[tuple[str, str]] = [
    ("/assessments", "identification"),
    ("/applications", "identification"),
    ("/cases", "identification"),
    ("/signals", "identification"),
    ("/households", "identification"),
    ("/screenings", "identification"),
    ("/jobs", "identification"),
    ("/statistics", "identification"),
    ("/notices", "identification"),
    ("/national-sync", "identification"),
    ("/subsidies", "subsidy"),
    ("/plans", "assistance"),
    ("/measures", "assistance"),
    ("/visits", "assistance"),
    ("/contacts", "assistance"),
    ("/employment", "assistance"),
    ("/subscriptions", "notification"),
    ("/deliveries", "notification"),
    ("/inbox", "notification"),
    ("/reminders", "notification"),
    ("/social-assistance", "civil_affairs"),
    ("/appeals", "civil_affairs"),
    ("/complaints", "civil_affairs"),
    ("/low-income", "identification"),
    ("/registry", "identification"),  # the DCI Social Registry API (docs/registry.md)
]


def service_for(path: str) -> str | None:
    """`path` is the part after /api/v1."""
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + ":"):
            return service
    return None


MiB = 1024 * 1024
GiB = 1024 * MiB
DEFAULT_MAX_BODY = 1 * MiB
DEFAULT_TIMEOUT_S = 30.0

#: (method, exact path under /api/v1 or prefix ending in "/"), max request body, upstream timeout (s).
#: Bulk uploads are streamed to the service and counted while streaming; everything else is small.
LIMITS: list[tuple[str, str, int, float]] = [
    ("POST", "/households/import", 2 * GiB, 1800.0),
    ("POST", "/subsidies/calculate:batch", 2 * GiB, 600.0),
    ("POST", "/signals", 64 * MiB, 120.0),
    ("GET", "/statistics/", DEFAULT_MAX_BODY, 120.0),
]


def limits_for(method: str, path: str) -> tuple[int, float]:
    """(max request body in bytes, upstream timeout in seconds) for one request."""
    for m, p, max_body, timeout in LIMITS:
        if m == method and (path == p or (p.endswith("/") and path.startswith(p))):
            return max_body, timeout
    if path.endswith(":export") or "/exports" in path:
        return DEFAULT_MAX_BODY, 600.0
    return DEFAULT_MAX_BODY, DEFAULT_TIMEOUT_S
