"""Calls to LinkedIn's versioned REST API, and what its answers mean for the publishing engine.

Every `/rest/` call carries `LinkedIn-Version: YYYYMM` (PostWizard's setting, never a constant:
LinkedIn retires each version after about a year and then answers every call 426
`NONEXISTENT_VERSION`, which broke other schedulers for everyone at once) and
`X-Restli-Protocol-Version: 2.0.0`. Errors are `{"status", "serviceErrorCode", "code",
"message"}`:

| answer | error |
| --- | --- |
| 426 `NONEXISTENT_VERSION`, 400 `VERSION_MISSING` | `PermanentError` naming `POSTWIZARD_LINKEDIN_VERSION` and the value sent |
| 401 (`EXPIRED_ACCESS_TOKEN`, or the stored expiry has passed) with a refresh token | `TokenExpiredError`: refresh, then go on |
| 401 otherwise (`REVOKED_ACCESS_TOKEN`, invalid) | `AuthExpiredError`: reconnect |
| 403 `ACCESS_DENIED` | `AuthExpiredError` naming the scope the call needs |
| 429 (usually without headers) | `RateLimitedError`: `Retry-After` if sent, else until midnight UTC for a daily limit, else `DEFAULT_RETRY_AFTER_S` |
| 5xx, no answer | `TransientError`; `UnknownOutcomeError` for the post's create |
| other 4xx (422 content refused, duplicate, ...) | `PermanentError` with LinkedIn's message |
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from postwizard.platforms.http_calls import send
from postwizard.platforms.protocol import (
    AuthExpiredError,
    PermanentError,
    PlatformError,
    RateLimitedError,
    TokenExpiredError,
    TransientError,
    UnknownOutcomeError,
)

VERSION_SETTING = "POSTWIZARD_LINKEDIN_VERSION"
DEFAULT_RETRY_AFTER_S = 300.0
"""After a 429 that names no wait and no daily limit: LinkedIn documents no window for its
short-term throttles; five minutes keeps PostWizard well clear of them."""
_VERSION_CODES = frozenset({"NONEXISTENT_VERSION", "VERSION_MISSING", "INVALID_VERSION"})
EXPIRY_MARGIN = timedelta(minutes=1)


class LinkedInApi:
    """One member's token against one LinkedIn API host."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_url: str,
        version: str,
        token: str,
        refreshable: bool = False,
        expires_at: datetime | None = None,
    ) -> None:
        self.client = client
        self.api_url = api_url.rstrip("/")
        self.version = version
        self.token = token
        self.refreshable = refreshable
        self.expires_at = expires_at

    def rest_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "LinkedIn-Version": self.version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    async def call(
        self,
        method: str,
        path_and_query: str,
        *,
        what: str,
        scope: str,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        versioned: bool = True,
        creates_post: bool = False,
    ) -> httpx.Response:
        """Send one request to `api_url + path_and_query` (the query already encoded, as
        Rest.li's `List(...)` syntax needs); a 2xx answer or the `PlatformError` it means.
        `scope` is what LinkedIn wants for the call, named when it answers 403."""
        all_headers = (
            self.rest_headers() if versioned else {"Authorization": f"Bearer {self.token}"}
        )
        all_headers.update(headers or {})
        return await self.send(
            method,
            self.api_url + path_and_query,
            what=what,
            scope=scope,
            json=json,
            headers=all_headers,
            creates_post=creates_post,
        )

    async def send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        scope: str,
        json: Mapping[str, Any] | None = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        creates_post: bool = False,
    ) -> httpx.Response:
        response = await send(
            self.client,
            method,
            url,
            network="LinkedIn",
            what=what,
            creates_post=creates_post,
            json=json,
            content=content,
            headers=headers,
        )
        if response.status_code >= 400:
            raise self.classify(response, what=what, scope=scope, creates_post=creates_post)
        return response

    def classify(
        self, response: httpx.Response, *, what: str, scope: str, creates_post: bool = False
    ) -> PlatformError:
        """The engine's error for a LinkedIn error answer (see the module's table)."""
        status = response.status_code
        body = error_body(response)
        code = str(body.get("code") or "")
        message = str(body.get("message") or "").strip() or f"HTTP {status}"
        if status == 426 or code in _VERSION_CODES:
            return PermanentError(
                f"LinkedIn refused the API version PostWizard sent (LinkedIn-Version: "
                f"{self.version or 'none'}): {message}. LinkedIn retires versions after about a "
                f"year; set {VERSION_SETTING} to a current version (YYYYMM, listed on LinkedIn's "
                "API versioning page) and restart PostWizard.",
                http_status=status,
            )
        if status == 429:
            seconds = retry_after_seconds(response.headers, message, datetime.now(UTC))
            return RateLimitedError(
                f"LinkedIn is rate-limiting this account ({message}); PostWizard tries again in "
                f"{math.ceil(seconds)} s.",
                retry_after=seconds,
            )
        if status == 401:
            expired = code == "EXPIRED_ACCESS_TOKEN" or (
                self.expires_at is not None and self.expires_at <= datetime.now(UTC) + EXPIRY_MARGIN
            )
            if self.refreshable and expired and code != "REVOKED_ACCESS_TOKEN":
                return TokenExpiredError(
                    f"The LinkedIn access token ran out ({message}); it will be renewed.",
                    http_status=status,
                )
            return AuthExpiredError(
                f"LinkedIn no longer accepts PostWizard's access to this account ({message}). "
                "Reconnect the account.",
                http_status=status,
            )
        if status == 403:
            return AuthExpiredError(
                f"LinkedIn refused {what}: the permission {scope} is missing ({message}). "
                f"Reconnect the account and grant {scope}.",
                http_status=status,
            )
        if status >= 500:
            if creates_post:
                return UnknownOutcomeError(
                    f"LinkedIn answered {status} ({message}) to the post; it may or may not have "
                    "been published.",
                    http_status=status,
                )
            return TransientError(
                f"LinkedIn answered {status} while {what} ({message}).", http_status=status
            )
        return PermanentError(f"LinkedIn refused {what}: {message}", http_status=status)


def error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return {"message": text[:200]} if text and not text.startswith("<") else {}
    return body if isinstance(body, dict) else {}


def json_object(response: httpx.Response, *, what: str) -> dict[str, Any]:
    """The JSON object of a 2xx answer, or a `TransientError` (a proxy's page)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TransientError(f"LinkedIn answered with unexpected data while {what}.")
    return body


def retry_after_seconds(headers: Mapping[str, str], message: str, now: datetime) -> float:
    """`Retry-After` when LinkedIn sends it (rarely); for a daily limit ("... DAY limit ...")
    the time until midnight UTC, when LinkedIn's daily counters reset; else the default."""
    value = headers.get("Retry-After")
    if value:
        try:
            return max(1.0, float(value))
        except ValueError:
            pass
    if "DAY" in message.upper().split() or "DAILY" in message.upper():
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        return max(60.0, (midnight - now).total_seconds() + 60)
    return DEFAULT_RETRY_AFTER_S
