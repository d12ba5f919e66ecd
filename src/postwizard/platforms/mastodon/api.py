"""Calls to one Mastodon server, and what its answers mean for the publishing engine.

Mastodon answers errors as `{"error": "..."}` (OAuth endpoints add `error_description`):
401 is a token that was revoked or never valid (Mastodon tokens do not expire with time, so
there is nothing to refresh); 403 a token without the scope or an account whose login is
disabled; 422 content the server refused, with its reason; 429 a rate limit with
`X-RateLimit-Reset` (an ISO 8601 time) and, behind some proxies, `Retry-After`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from postwizard.platforms.http_calls import send
from postwizard.platforms.protocol import (
    AuthExpiredError,
    PermanentError,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)

DEFAULT_RETRY_AFTER_S = 60.0
"""When a 429 carries no hint: a fifth of Mastodon's 5-minute request window."""
_Body = TypeVar("_Body", dict[str, Any], list[Any])


class MastodonApi:
    """One instance, as one account (`token`) or anonymously (registering the app)."""

    def __init__(self, client: httpx.AsyncClient, instance_url: str, token: str = "") -> None:
        self.client = client
        self.instance_url = instance_url
        self.token = token

    @property
    def host(self) -> str:
        """The server's name for messages, e.g. "mastodon.social"."""
        return httpx.URL(self.instance_url).netloc.decode("ascii")

    async def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        creates_post: bool = False,
        params: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; a 2xx answer, or the `PlatformError` its failure means. `what` says
        in a few words what was being done ("publishing the post"). With `creates_post`, an
        answer lost after sending is an `UnknownOutcomeError`: the status may exist."""
        all_headers = dict(headers or {})
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        response = await send(
            self.client,
            method,
            self.instance_url + path,
            network=self.host,
            what=what,
            creates_post=creates_post,
            params=params,
            data=data,
            files=files,
            headers=all_headers,
        )
        raise_for_error(response, what=what, host=self.host, creates_post=creates_post)
        return response


def json_body(response: httpx.Response, kind: type[_Body], *, what: str) -> _Body:
    """The JSON body of a 2xx answer, if it is a `kind` (dict or list); otherwise a
    `TransientError` (a proxy's page, a server that is not Mastodon)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, kind):
        raise TransientError(
            f"{response.url.host} answered with unexpected data while {what}.",
            http_status=response.status_code,
        )
    return body


def error_message(response: httpx.Response) -> str:
    """The server's own words: `error` (and `error_description`) of the JSON body, or the start
    of a non-JSON body, or the HTTP reason."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = [str(body[key]) for key in ("error", "error_description") if body.get(key)]
        if parts:
            return ": ".join(parts)
    text = response.text.strip()
    if text and not text.startswith("<"):
        return text[:200]
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def raise_for_error(
    response: httpx.Response, *, what: str, host: str, creates_post: bool = False
) -> None:
    """Nothing for a 2xx answer, otherwise the `PlatformError` it means."""
    status = response.status_code
    if status < 400:
        return
    reason = error_message(response)
    if status == 429:
        seconds = retry_after_seconds(response.headers)
        raise RateLimitedError(
            f"{host} is rate-limiting this account ({reason}); PostWizard tries again in "
            f"{math.ceil(seconds)} s.",
            retry_after=seconds,
        )
    if status in (401, 403):
        raise AuthExpiredError(
            f"{host} no longer accepts PostWizard's access to this account ({reason}). "
            "Reconnect the account.",
            http_status=status,
        )
    if status >= 500:
        if creates_post:
            raise UnknownOutcomeError(
                f"{host} answered {status} ({reason}) to the post; it may or may not have been "
                "published.",
                http_status=status,
            )
        raise TransientError(f"{host} answered {status} while {what}.", http_status=status)
    if status == 413:
        reason = "the file is larger than this server accepts"
    raise PermanentError(f"{host} refused the request while {what}: {reason}", http_status=status)


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float:
    """How long to wait after a 429: the later of `Retry-After` (seconds or an HTTP date) and
    `X-RateLimit-Reset` (Mastodon's ISO 8601 time; a Unix time from some compatible servers)."""
    now = now or datetime.now(UTC)
    waits = [
        wait
        for wait in (
            _retry_after_header(headers.get("Retry-After"), now),
            _reset_header(headers.get("X-RateLimit-Reset"), now),
        )
        if wait is not None
    ]
    if not waits:
        return DEFAULT_RETRY_AFTER_S
    return max(1.0, *waits)


def _retry_after_header(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds()) if when.tzinfo else None


def _reset_header(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    # A large number is a Unix time; a small one a number of seconds.
    if number > 1_000_000_000:
        return max(0.0, number - now.timestamp())
    return max(0.0, number)
