"""Prometheus metrics every process exposes at `/metrics`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("fangfan_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "fangfan_http_request_seconds",
    "HTTP request latency",
    ["service", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PUBLISHED = Counter("fangfan_outbox_published_total", "Events relayed to JetStream", ["service"])
OUTBOX_ERRORS = Counter("fangfan_outbox_errors_total", "Relay attempts that failed (retried)", ["service"])
OUTBOX_BACKLOG = Gauge("fangfan_outbox_backlog", "Outbox rows not yet published", ["service"])
CONSUMED = Counter("fangfan_events_consumed_total", "Events handled by a consumer", ["consumer", "outcome"])
DEAD_LETTERS = Counter("fangfan_dead_letters_total", "Events moved to the dead-letter table", ["consumer"])
