"""What the Graph API's error answers mean for the publishing engine.

Every Graph API error is `{"error": {"message", "type", "code", "error_subcode",
"error_user_title", "error_user_msg", "is_transient", "fbtrace_id"}}` (Graph API guide,
"Handling Errors"). The `code` decides, not the HTTP status:

| code | meaning | engine's next step |
| --- | --- | --- |
| 190, 102 | the token expired, was invalidated (password changed, app removed, logged out) | `AuthExpiredError`: a page token cannot be renewed without the person, so reconnect |
| 10, 200-299 | a permission was not granted or was removed | `AuthExpiredError` naming the permission |
| 4, 17, 32, 613, 80001-80014 | app, user, page, custom or business-use-case rate limit | `RateLimitedError`, waiting what `X-Business-Use-Case-Usage` says |
| 9 / 2207042 | Instagram's 24-hour publishing limit reached | `RateLimitedError` |
| 1, 2, `is_transient` | a passing problem at Meta | `TransientError` (`UnknownOutcomeError` after a create) |
| 368, 506, 100 and the rest | the content or a parameter was refused | `PermanentError` with Meta's reason |
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from postwizard.platforms.protocol import (
    AuthExpiredError,
    PermanentError,
    PlatformError,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)

DEFAULT_RETRY_AFTER_S = 600.0
"""A throttled call without `estimated_time_to_regain_access`: Platform rate limits count over
a rolling hour, so ten minutes lets part of it pass without waiting the whole hour."""
PUBLISHING_LIMIT_RETRY_AFTER_S = 3600.0
"""Instagram's limit is a rolling 24 hours; an hour later at least one slot has usually freed."""

EXPIRED_TOKEN_CODES = frozenset({102, 190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
INSTAGRAM_PUBLISHING_LIMIT_SUBCODE = 2207042
TRANSIENT_CODES = frozenset({1, 2})
# Subcodes of 190 (Graph API "Authentication Error Subcodes").
_TOKEN_REASONS = {
    458: "PostWizard was removed from the Facebook account's apps",
    459: "the person must sign in to facebook.com to confirm their account",
    460: "the Facebook password was changed",
    463: "the access token expired",
    464: "the Facebook account is not confirmed",
    467: "the access token is no longer valid (signed out, or access removed)",
    492: "the person is no longer an admin of the Page",
}
# Instagram container and publishing errors with a clearer explanation than Meta's message.
_INSTAGRAM_REASONS = {
    2207003: "Instagram took too long to download the media",
    2207004: "the image is larger than Instagram accepts (8 MB)",
    2207009: "the image's aspect ratio is outside what Instagram accepts (4:5 to 1.91:1)",
    2207026: "Instagram does not accept this video's format",
    2207052: "Instagram could not download the media from PostWizard's public address",
}


INVALID_PARAMETER_CODE = 100
NOT_FOUND_SUBCODE = 33  # "Object with ID ... does not exist" (code 100)


class GraphRefusedError(PermanentError):
    """A `PermanentError` that keeps Meta's `code` and `error_subcode`, so a caller can tell a
    deleted object (100 / 33) from a refused one."""

    def __init__(
        self, message: str, *, code: int | None, subcode: int | None, http_status: int | None
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.code = code
        self.subcode = subcode

    @property
    def is_not_found(self) -> bool:
        return self.subcode == NOT_FOUND_SUBCODE or self.http_status == 404


@dataclass(frozen=True)
class GraphError:
    """The `error` object of a Graph API answer."""

    message: str
    code: int | None
    subcode: int | None
    user_message: str
    is_transient: bool
    fbtrace_id: str

    @property
    def reason(self) -> str:
        """Meta's own words for a person: the user message when there is one."""
        text = self.user_message or self.message
        return text.strip().rstrip(".") or "no reason given"


def graph_error(response: httpx.Response) -> GraphError:
    """The error object of `response`, or one made from its HTTP status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        text = response.text.strip()
        message = text[:200] if text and not text.startswith("<") else ""
        return GraphError(
            message=message or f"HTTP {response.status_code} {response.reason_phrase}".strip(),
            code=None,
            subcode=None,
            user_message="",
            is_transient=False,
            fbtrace_id="",
        )
    return GraphError(
        message=str(error.get("message") or ""),
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        user_message=str(error.get("error_user_msg") or ""),
        is_transient=error.get("is_transient") is True,
        fbtrace_id=str(error.get("fbtrace_id") or ""),
    )


def raise_for_graph_error(
    response: httpx.Response,
    *,
    network: str,
    what: str,
    creates_post: bool = False,
    permission: str | None = None,
) -> None:
    """Nothing for a 2xx answer; otherwise the `PlatformError` it means. `network` names the
    network in messages ("Facebook", "Instagram"), `what` says what was being done, and
    `permission` is the permission the call needs (named when Meta says one is missing)."""
    status = response.status_code
    if status < 400:
        return
    error = graph_error(response)
    raise classify(
        error,
        http_status=status,
        headers=response.headers,
        network=network,
        what=what,
        creates_post=creates_post,
        permission=permission,
    )


def classify(
    error: GraphError,
    *,
    http_status: int,
    headers: Mapping[str, str],
    network: str,
    what: str,
    creates_post: bool = False,
    permission: str | None = None,
) -> PlatformError:
    """The `PlatformError` a Graph API error means (see the module docstring)."""
    code, subcode, reason = error.code, error.subcode, error.reason
    trace = f" (Meta trace id {error.fbtrace_id})" if error.fbtrace_id else ""
    if code in EXPIRED_TOKEN_CODES or (code is None and http_status == 401):
        why = _TOKEN_REASONS.get(subcode or 0, reason)
        return AuthExpiredError(
            f"{network} no longer accepts PostWizard's access: {why}. Reconnect the account "
            "(Accounts, Reconnect) to sign in with Facebook again.",
            http_status=http_status,
        )
    if subcode == INSTAGRAM_PUBLISHING_LIMIT_SUBCODE:
        return RateLimitedError(
            f"{network} says this account reached its limit of posts published through the API "
            f"in 24 hours ({reason}); PostWizard tries again later.",
            retry_after=PUBLISHING_LIMIT_RETRY_AFTER_S,
            http_status=http_status,
        )
    if code in RATE_LIMIT_CODES or (code is None and http_status == 429):
        seconds = retry_after_seconds(headers)
        return RateLimitedError(
            f"{network} is rate-limiting PostWizard ({reason}); it tries again in "
            f"{_duration(seconds)}.",
            retry_after=seconds,
            http_status=http_status,
        )
    if (
        code == 10
        or (code is not None and 200 <= code <= 299)
        or (code is None and http_status == 403)
    ):
        needed = f"the {permission} permission" if permission else "a permission"
        return AuthExpiredError(
            f"{network} refused {what}: {needed} is missing or was removed ({reason}). "
            "Reconnect the account and grant every permission PostWizard asks for.",
            http_status=http_status,
        )
    if code in TRANSIENT_CODES or error.is_transient or http_status >= 500:
        if creates_post:
            return UnknownOutcomeError(
                f"{network} failed while {what} ({reason}){trace}; the post may or may not "
                "have been published.",
                http_status=http_status,
            )
        return TransientError(f"{network} failed while {what} ({reason}).", http_status=http_status)
    explained = _INSTAGRAM_REASONS.get(subcode or 0)
    detail = f"{explained} ({reason})" if explained else reason
    return GraphRefusedError(
        f"{network} refused {what}: {detail}.",
        code=code,
        subcode=subcode,
        http_status=http_status,
    )


def retry_after_seconds(headers: Mapping[str, str]) -> float:
    """How long to wait after a throttled call: the longest `estimated_time_to_regain_access`
    (minutes) in `X-Business-Use-Case-Usage` (or `X-Ad-Account-Usage`); a default when Meta
    gives no time (Platform rate limits, `X-App-Usage`, carry none)."""
    minutes: list[float] = []
    for name in ("X-Business-Use-Case-Usage", "X-Ad-Account-Usage"):
        minutes += _regain_minutes(headers.get(name))
    if not minutes:
        return DEFAULT_RETRY_AFTER_S
    return max(60.0, max(minutes) * 60.0)


def _regain_minutes(raw: str | None) -> list[float]:
    """Every `estimated_time_to_regain_access` in one usage header. BUC headers map business
    object ids to lists of usage objects; the ad account header is one object."""
    if not raw:
        return []
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        return []
    usages: list[Any] = []
    if isinstance(parsed, dict) and "estimated_time_to_regain_access" in parsed:
        usages = [parsed]
    elif isinstance(parsed, dict):
        for value in parsed.values():
            usages += value if isinstance(value, list) else [value]
    found = []
    for usage in usages:
        value = usage.get("estimated_time_to_regain_access") if isinstance(usage, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            found.append(float(value))
    return found


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{math.ceil(seconds)} s"
    return f"{math.ceil(seconds / 60)} min"
