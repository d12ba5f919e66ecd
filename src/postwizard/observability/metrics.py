"""The Prometheus registry other modules add their metrics to, and the HTTP metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUEST_SECONDS = Histogram(
    "postwizard_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_EXCEPTIONS = Counter(
    "postwizard_http_unhandled_exceptions_total",
    "Requests that ended in an unhandled exception (a bug).",
    ["route"],
    registry=REGISTRY,
)
