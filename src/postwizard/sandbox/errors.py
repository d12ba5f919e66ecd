"""Errors of the sandbox network, always answered as `{"error": {"code", "message", "fields"?}}`.

The codes are the network's own; an adapter classifies them (401 → reconnect, 422 → permanent,
429 → wait Retry-After, 5xx → transient) the way it would a real network's."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

CODES_BY_STATUS = {
    400: "bad_request",
    401: "invalid_token",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_request",
    429: "rate_limited",
}


class SandboxError(Exception):
    """An answer other than success, with the HTTP status, a stable code and a message."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        fields: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers
        self.fields = fields


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    fields: list[dict[str, str]] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return JSONResponse({"error": error}, status_code=status_code, headers=headers)


async def _sandbox_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, SandboxError)
    return error_response(
        error.status_code, error.code, error.message, headers=error.headers, fields=error.fields
    )


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return error_response(400, "invalid_json", "The request body is not valid JSON.")
    fields = [
        {
            "field": ".".join(str(part) for part in problem.get("loc", ())[1:]) or "body",
            "message": str(problem.get("msg", "invalid")),
        }
        for problem in problems
    ]
    summary = "; ".join(f"{field['field']}: {field['message']}" for field in fields[:3])
    return error_response(
        422, "invalid_request", f"The request is not valid: {summary}.", fields=fields
    )


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = CODES_BY_STATUS.get(error.status_code, "error")
    message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
    headers = dict(error.headers) if error.headers else None
    return error_response(error.status_code, code, message, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SandboxError, _sandbox_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
