"""The Prometheus registry other modules add their metrics to, and the HTTP metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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

# Publishing: gauges are refreshed from the database on every scrape (any web process can
# answer); counters and the lateness histogram come from the dispatchers themselves.
PUBLISHING_QUEUE_DEPTH = Gauge(
    "postwizard_publishing_queue_depth", "Deliveries waiting or in progress.", registry=REGISTRY
)
PUBLISHING_DUE_NOT_STARTED = Gauge(
    "postwizard_publishing_due_not_started",
    "Deliveries due now or earlier that no worker has taken yet.",
    registry=REGISTRY,
)
PUBLISHING_OLDEST_DUE_SECONDS = Gauge(
    "postwizard_publishing_oldest_due_seconds",
    "How late the most overdue waiting delivery is.",
    registry=REGISTRY,
)
PUBLISHING_LIVE_WORKERS = Gauge(
    "postwizard_publishing_live_workers",
    "Dispatchers that sent a heartbeat in the last 30 seconds.",
    registry=REGISTRY,
)
DELIVERIES_FINISHED = Counter(
    "postwizard_deliveries_total",
    "Deliveries that reached a state, by state.",
    ["state"],
    registry=REGISTRY,
)
ATTEMPTS = Counter(
    "postwizard_attempts_total",
    "Network calls by kind and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
START_LATENESS = Histogram(
    "postwizard_delivery_start_lateness_seconds",
    "Time from a delivery's due time to its first network call.",
    registry=REGISTRY,
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
)
