"""What several fakes share."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse


class GraphError(Exception):
    """An error as Meta's Graph APIs (Facebook, Instagram, Threads) answer it: the HTTP status
    and the `error` object with its message, type, code and optional subcode."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: int,
        subcode: int | None = None,
        type_: str = "OAuthException",
        user_message: str | None = None,
        is_transient: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.subcode = status, message, code, subcode
        self.type, self.user_message, self.is_transient = type_, user_message, is_transient
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "code": self.code,
            "fbtrace_id": secrets.token_urlsafe(8),
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.user_message:
            error["error_user_msg"] = self.user_message
        if self.is_transient is not None:
            error["is_transient"] = self.is_transient
        return JSONResponse({"error": error}, status_code=self.status, headers=self.headers)
