"""Which service answers which public path (all under /api/v1). The first matching prefix wins."""

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
]


def service_for(path: str) -> str | None:
    """`path` is the part after /api/v1."""
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + ":"):
            return service
    return None
