"""One ASGI middleware for every request: a request id, one log line, one histogram sample."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postwizard.observability.metrics import HTTP_REQUEST_SECONDS

log = structlog.get_logger("postwizard.http")

REQUEST_ID_HEADER = "x-request-id"
# An incoming id is kept only if it cannot inject anything into logs or headers.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
UNMATCHED_ROUTE = "unmatched"
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestObservability:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = header_value(scope, REQUEST_ID_HEADER)
        request_id = incoming if incoming and VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
            HTTP_REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(elapsed)
            path = scope["path"]
            if path not in QUIET_PATHS or status >= 400:
                log.info(
                    "request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    client_ip=scope["client"][0] if scope.get("client") else None,
                )
            structlog.contextvars.unbind_contextvars("request_id")


def header_value(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", ()):
        if key == wanted:
            decoded: str = value.decode("latin-1")
            return decoded
    return None
