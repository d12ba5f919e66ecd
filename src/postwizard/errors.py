"""One error type for the domain, rendered as `{"error": {"code", "message", "fields"?}}`."""

from __future__ import annotations

from typing import Any


class PostWizardError(Exception):
    """A failure a person can act on; carries the HTTP status it maps to."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        fields: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields
        self.headers = headers

    def to_body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.fields)


def error_body(
    code: str, message: str, fields: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


class NotFound(PostWizardError):
    status_code = 404
    code = "not_found"


class Unauthenticated(PostWizardError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(PostWizardError):
    status_code = 403
    code = "forbidden"


class Conflict(PostWizardError):
    status_code = 409
    code = "conflict"


class RateLimited(PostWizardError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
