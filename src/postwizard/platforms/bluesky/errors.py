"""What a failed XRPC call means for the engine: the PDS's documented errors mapped to the
typed errors of `postwizard.platforms.protocol`.

| what the PDS answered | error |
| --- | --- |
| 429 `RateLimitExceeded` (with `RateLimit-Reset`) | `RateLimitedError(retry_after)` |
| 400 `ExpiredToken` / `InvalidToken` (access JWT ran out or cannot be verified) | `TokenExpiredError`: refresh, then go on |
| 401 `AuthenticationRequired`, `AccountTakedown`, 400 `AccountDeactivated` | `AuthExpiredError`: reconnect |
| other 4xx (`InvalidRequest`: text too long, bad record, ...) | `PermanentError` with the PDS's message |
| 5xx, or no answer, on a read | `TransientError` |
| no answer after sending a create | `UnknownOutcomeError` |
| 5xx to a create | the adapter reads the record key back first: found → the post; certainly absent → `TransientError`; cannot tell → `UnknownOutcomeError` |
| no connection made | `TransientError` |
"""

from __future__ import annotations

from postwizard.platforms.bluesky.xrpc import XrpcFailure
from postwizard.platforms.protocol import (
    AuthExpiredError,
    PermanentError,
    PlatformError,
    RateLimitedError,
    TokenExpiredError,
    TransientError,
    UnknownOutcomeError,
)

DEFAULT_RETRY_AFTER_S = 60.0
"""The wait after a 429 that names none (a PDS always sends `RateLimit-Reset`; proxies may not)."""

TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})
ACCOUNT_GONE_ERRORS = frozenset({"AccountTakedown", "AccountDeactivated", "AccountSuspended"})


def classify(failure: XrpcFailure, *, what: str, creates: bool = False) -> PlatformError:
    """The engine's error for `failure` of the request for `what` ("the post", "the
    metrics").

    `creates` marks a call that may have created something (createRecord): without an answer
    after sending, or with a 5xx, its outcome is unknown rather than worth a plain retry."""
    if not failure.answered:
        if not failure.sent:
            return TransientError(f"Bluesky could not be reached for {what}: {failure.message}")
        if creates:
            return UnknownOutcomeError(
                f"No answer from Bluesky after sending {what} ({failure.error}); the post may "
                "or may not exist."
            )
        return TransientError(
            f"No answer from Bluesky to the request for {what} ({failure.error})."
        )
    status = failure.status
    if status == 429:
        return RateLimitedError(
            f"Bluesky is rate-limiting this account ({failure.message}).",
            retry_after=failure.retry_after
            if failure.retry_after is not None
            else DEFAULT_RETRY_AFTER_S,
        )
    if failure.error in TOKEN_ERRORS:
        return TokenExpiredError(
            f"The Bluesky session token is no longer valid ({failure.message}); it will be "
            "renewed.",
            http_status=status,
        )
    if failure.error in ACCOUNT_GONE_ERRORS:
        return AuthExpiredError(
            f"Bluesky says this account is not active ({failure.error}: {failure.message}).",
            http_status=status,
        )
    if status in {401, 403}:
        return AuthExpiredError(
            f"Bluesky no longer accepts this account's credentials ({failure.message}). "
            "Reconnect it with a new app password.",
            http_status=status,
        )
    if status is not None and status >= 500:
        if creates:
            return UnknownOutcomeError(
                f"Bluesky answered {status} to {what} ({failure.message}); the post may or may "
                "not exist.",
                http_status=status,
            )
        return TransientError(
            f"Bluesky answered {status} to the request for {what} ({failure.message}).",
            http_status=status,
        )
    return PermanentError(f"Bluesky refused {what}: {failure.message}", http_status=status)
