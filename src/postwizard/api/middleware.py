"""Request-size guard: a body larger than the limit is refused before it is read whole."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postwizard.api.errors import json_error_response
from postwizard.observability.http import header_value


class BodySizeLimit:
    """`max_bytes` for every request, except paths matching one of `overrides`
    ((pattern, max bytes), first match wins), e.g. the media upload route."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        overrides: Sequence[tuple[re.Pattern[str], int]] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = tuple(overrides)

    def limit_for(self, path: str) -> int:
        return next(
            (limit for pattern, limit in self.overrides if pattern.fullmatch(path)),
            self.max_bytes,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope["path"])
        declared = header_value(scope, "content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._refuse(send, max_bytes)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    # Raised inside body parsing; FastAPI re-raises HTTPException and our handler renders it.
                    raise HTTPException(413, _message(max_bytes))
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, send: Send, max_bytes: int) -> None:
        response = json_error_response(413, "payload_too_large", _message(max_bytes))
        await response({"type": "http"}, _no_body, send)


def _message(max_bytes: int) -> str:
    return f"The request body is larger than {max_bytes} bytes."


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
