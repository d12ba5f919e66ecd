"""What an X API answer means for the publishing engine.

X API v2 answers errors as RFC 7807 problem details (`type`, `title`, `detail`, `status`;
`application/problem+json`), sometimes with an `errors` list naming the parameters at fault;
its OAuth endpoint answers `{"error", "error_description"}`. The cases that matter:

| what X answered | error |
| --- | --- |
| 401 `Unauthorized` | `TokenExpiredError` when the stored access token is past its expiry (or its expiry is unknown and a refresh token is stored): refresh, then go on; otherwise `AuthExpiredError` (revoked) |
| 403 `reason: client-not-enrolled` (`Client Forbidden`) | `AuthExpiredError` naming it: the developer app lacks the API access this call needs |
| 403 bare `Forbidden` | `AuthExpiredError` naming the OAuth scope the call needs (`media.write`, `tweet.write`, ...) |
| 403 "duplicate content" | `DuplicateContentError`, which the adapter resolves by reconcile |
| 403 other (text too long, reply not visible, ...) and 400 | `PermanentError` with X's reason |
| 429 | `RateLimitedError`, retry after `x-rate-limit-reset` (or the 24-hour `x-user-limit-24hour-reset` when that quota is spent) |
| 5xx to a create, or no answer after sending one | `UnknownOutcomeError` |
| 5xx or no answer otherwise, no connection made | `TransientError` |
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

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
"""When a 429 names no reset time (X sends no `Retry-After`; proxies may drop its headers)."""
DUPLICATE_CONTENT = "duplicate content"
CLIENT_NOT_ENROLLED = "client-not-enrolled"
# A token is "past expiry" a little before its stated end: the two clocks differ.
EXPIRY_SKEW_S = 30.0


class DuplicateContentError(PermanentError):
    """X refused the post because the account already has one with the same text. Either our
    own earlier attempt went through (its answer was lost), or the person posted this text
    before; the adapter tells them apart by reconcile."""


def problem(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of an error answer (problem details or OAuth error), empty if none."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def reason(response: httpx.Response) -> str:
    """X's own words for a failed request, in one line: the messages of `errors`, else
    `detail` (with `title` when it adds something), else the OAuth `error_description`."""
    body = problem(response)
    messages = [
        str(item["message"])
        for item in body.get("errors") or ()
        if isinstance(item, dict) and item.get("message")
    ]
    if messages:
        return "; ".join(dict.fromkeys(messages))
    detail, title = body.get("detail"), body.get("title")
    if detail:
        if title and str(title).lower() not in str(detail).lower():
            return f"{title}: {detail}"
        return str(detail)
    oauth = [str(body[key]) for key in ("error", "error_description") if body.get(key)]
    if oauth:
        return ": ".join(oauth)
    text = response.text.strip()
    if text and not text.startswith("<"):
        return text[:200]
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float:
    """How long to wait after a 429. X sends `x-rate-limit-reset` (Unix seconds) for the
    15-minute window of the endpoint; when a 24-hour quota is what ran out (the Free tier's
    posts per day), `x-user-limit-24hour-remaining` (or the app's) is 0 and its reset is the
    time to wait for."""
    now = time.time() if now is None else now
    resets = [
        _epoch(headers.get(f"x-{who}-limit-24hour-reset"))
        for who in ("user", "app")
        if headers.get(f"x-{who}-limit-24hour-remaining") == "0"
    ]
    if not any(reset is not None for reset in resets):
        resets = [_epoch(headers.get("x-rate-limit-reset"))]
    waits = [reset - now for reset in resets if reset is not None]
    if not waits:
        retry_after = headers.get("retry-after")
        try:
            return max(1.0, float(retry_after)) if retry_after else DEFAULT_RETRY_AFTER_S
        except ValueError:
            return DEFAULT_RETRY_AFTER_S
    return max(1.0, *waits)


def _epoch(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def token_is_past_expiry(credentials: Mapping[str, str], now: datetime | None = None) -> bool:
    """Whether the stored access token has run out (or its expiry is unknown while a refresh
    token could renew it): a 401 then means "refresh", not "reconnect"."""
    raw = credentials.get("expires_at", "")
    if not raw:
        return bool(credentials.get("refresh_token"))
    try:
        expires_at = datetime.fromisoformat(raw)
    except ValueError:
        return bool(credentials.get("refresh_token"))
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return (expires_at - now).total_seconds() <= EXPIRY_SKEW_S


def classify(
    response: httpx.Response,
    *,
    what: str,
    scope: str,
    credentials: Mapping[str, str],
    creates_post: bool = False,
) -> PlatformError:
    """The engine's error for a failed answer to the request for `what` ("publishing the
    post"), a call that needs the OAuth `scope`."""
    status = response.status_code
    words = reason(response)
    body = problem(response)
    if status == 429:
        seconds = retry_after_seconds(response.headers)
        return RateLimitedError(
            f"X is rate-limiting this account while {what} ({words}); PostWizard tries again in "
            f"{math.ceil(seconds)} s.",
            retry_after=seconds,
        )
    if status == 401:
        if token_is_past_expiry(credentials):
            return TokenExpiredError(
                f"X's access token for this account has expired ({words}); it will be renewed.",
                http_status=status,
            )
        return AuthExpiredError(
            f"X no longer accepts PostWizard's access to this account ({words}); it was "
            "probably revoked under Settings → Security → Connected apps. Reconnect the account.",
            http_status=status,
        )
    if status == 403:
        return _forbidden(body, words, what=what, scope=scope)
    if status >= 500:
        if creates_post:
            return UnknownOutcomeError(
                f"X answered {status} ({words}) to the post; it may or may not have been "
                "published.",
                http_status=status,
            )
        return TransientError(f"X answered {status} while {what} ({words}).", http_status=status)
    if status == 413:
        words = "the file is larger than X accepts"
    return PermanentError(f"X refused the request while {what}: {words}", http_status=status)


def _forbidden(body: Mapping[str, Any], words: str, *, what: str, scope: str) -> PlatformError:
    if DUPLICATE_CONTENT in words.lower():
        return DuplicateContentError(f"X refused the post as a duplicate: {words}", http_status=403)
    if body.get("reason") == CLIENT_NOT_ENROLLED or "client-forbidden" in str(body.get("type")):
        needed = body.get("required_enrollment") or "API access for this endpoint"
        return AuthExpiredError(
            f"X refused PostWizard's developer app while {what} ({CLIENT_NOT_ENROLLED}: "
            f"{words}). In the X developer console, attach the app to a Project with "
            f"{needed}, then reconnect the account.",
            http_status=403,
        )
    if str(body.get("detail") or words).strip().lower() == "forbidden":
        # X's answer to a token without the scope: no more than "Forbidden".
        return AuthExpiredError(
            f"X refused {what}: this account's access lacks the `{scope}` permission. "
            "Reconnect the account and approve every permission PostWizard asks for.",
            http_status=403,
        )
    return PermanentError(f"X refused {what}: {words}", http_status=403)
