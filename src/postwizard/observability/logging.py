"""structlog set up for ECS-shaped JSON (one event per line, for Filebeat/Logstash) or a
readable console; the standard library's loggers (uvicorn, alembic) go through it too."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from postwizard import __version__
from postwizard.config import LogFormat

ECS_VERSION = "8.11.0"
SERVICE_NAME = "postwizard"

# Our own keys mapped to ECS field names, so Kibana dashboards find them.
ECS_RENAMES = {
    "event": "message",
    "level": "log.level",
    "logger": "log.logger",
    "timestamp": "@timestamp",
    "request_id": "http.request.id",
    "method": "http.request.method",
    "path": "url.path",
    "status": "http.response.status_code",
    "duration_ms": "event.duration_ms",
    "client_ip": "client.ip",
    "exception": "error.stack_trace",
}


def to_ecs(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for ours, ecs in ECS_RENAMES.items():
        if ours in event_dict:
            event_dict[ecs] = event_dict.pop(ours)
    if "event.duration_ms" in event_dict:  # ECS wants nanoseconds in event.duration
        event_dict["event.duration"] = int(event_dict.pop("event.duration_ms") * 1_000_000)
    event_dict["ecs.version"] = ECS_VERSION
    event_dict["service.name"] = SERVICE_NAME
    event_dict["service.version"] = __version__
    return event_dict


def wants_json(log_format: LogFormat) -> bool:
    if log_format == LogFormat.AUTO:
        return not sys.stdout.isatty()
    return log_format == LogFormat.JSON


def configure_logging(log_format: LogFormat, level: str) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if wants_json(log_format):
        renderer: list[Any] = [
            structlog.processors.format_exc_info,
            to_ecs,
            structlog.processors.JSONRenderer(),
        ]
    else:
        renderer = [structlog.dev.ConsoleRenderer()]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Our middleware logs each request with its id; uvicorn's access log would double it.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request's full URL at info, httpcore every header at debug; network calls
    # carry secrets there (Telegram's bot token in the path, a Discord webhook's token, OAuth
    # codes in redirects), which must never be logged, whatever the level.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
