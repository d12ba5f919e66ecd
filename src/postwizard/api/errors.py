"""Every error leaves the API in one shape: `{"error": {"code", "message", "fields"?}}`."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from postwizard.errors import PostWizardError, error_body
from postwizard.observability.metrics import HTTP_EXCEPTIONS

log = structlog.get_logger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def json_error_response(
    status: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, fields), status_code=status, headers=headers)


def _field_name(location: tuple[int | str, ...]) -> str:
    # ("body", "email") -> "email"; ("query", "limit") -> "limit"; nested -> "signup.email"
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"} and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, PostWizardError)
    return json_error_response(
        error.status_code, error.code, error.message, error.fields, error.headers
    )


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    if any(problem.get("type") == "json_invalid" for problem in problems):
        detail = next(p for p in problems if p.get("type") == "json_invalid")
        reason = detail.get("ctx", {}).get("error", "malformed")
        return json_error_response(
            400, "invalid_json", f"The request body is not valid JSON ({reason})."
        )
    fields = []
    for problem in problems:
        message = str(problem.get("msg", "invalid"))
        if problem.get("type") == "extra_forbidden":
            message = "unknown field; remove it"
        fields.append({"field": _field_name(tuple(problem.get("loc", ()))), "message": message})
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:3])
    return json_error_response(
        422, "validation_error", f"Some fields are not valid — {summary}.", fields
    )


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = STATUS_CODES.get(error.status_code, "error")
    message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
    if error.status_code == 404 and message == "Not Found":
        message = "There is nothing at this address."
    if error.status_code == 405:
        message = "This address does not accept that method."
    headers = dict(error.headers) if error.headers else None
    return json_error_response(error.status_code, code, message, headers=headers)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    route = getattr(request.scope.get("route"), "path", "unmatched")
    HTTP_EXCEPTIONS.labels(route).inc()
    log.exception("unhandled error", path=request.url.path)
    return json_error_response(
        500,
        "internal_error",
        "Something went wrong on our side; the error was logged with this request's id.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PostWizardError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
