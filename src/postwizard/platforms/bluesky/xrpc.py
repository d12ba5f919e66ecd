"""XRPC, the AT Protocol's HTTP calling convention, over one shared httpx client.

A query is `GET /xrpc/<nsid>?params`, a procedure `POST /xrpc/<nsid>` with a JSON (or blob)
body; both answer JSON, and a failure answers `{"error": "<Name>", "message": "..."}` with a
4xx/5xx status. `Xrpc` turns every way a call can fail into one `XrpcFailure` that says what
is known (status, error name, whether the request left this machine); `errors.py` decides
what that means for the engine, which depends on the call (a read, a create, a sign-in).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterable, Mapping, Sequence
from typing import Any

import httpx

USER_AGENT = "PostWizard (Bluesky adapter)"

QueryParams = Mapping[str, str | Sequence[str]]


class XrpcFailure(Exception):
    """A call that did not succeed.

    `status` is the HTTP status, or None when no answer came; then `sent` says whether the
    request may have reached the server (False only when the connection was never made).
    `error` is the XRPC error name ("ExpiredToken", "RecordNotFound", ...) or, without an
    answer, the transport error's class name. `retry_after` is the wait a 429 asked for.
    """

    def __init__(
        self,
        *,
        status: int | None,
        error: str,
        message: str,
        sent: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{error}: {message}" if message else error)
        self.status = status
        self.error = error
        self.message = message or error
        self.sent = sent
        self.retry_after = retry_after

    @property
    def answered(self) -> bool:
        """Whether the server answered (with an error status)."""
        return self.status is not None


class Xrpc:
    """Calls XRPC methods on any AT Protocol service (PDS, entryway) through `client`."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def query(
        self,
        service: str,
        nsid: str,
        *,
        params: QueryParams | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """GET a query method; its JSON answer."""
        return await self._call("GET", service, nsid, params=params, token=token)

    async def procedure(
        self,
        service: str,
        nsid: str,
        *,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
        content: AsyncIterable[bytes] | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
    ) -> dict[str, Any]:
        """POST a procedure with a JSON `body`, or with raw `content` (a blob upload, streamed
        with its `content_type` and `content_length`); its JSON answer."""
        return await self._call(
            "POST",
            service,
            nsid,
            body=body,
            token=token,
            content=content,
            content_type=content_type,
            content_length=content_length,
        )

    async def get_json(self, url: str) -> dict[str, Any]:
        """GET a plain JSON document (a DID document); failures as `XrpcFailure`."""
        response = await self._send("GET", url, headers={"User-Agent": USER_AGENT})
        return _json_or_raise(response)

    async def _call(
        self,
        method: str,
        service: str,
        nsid: str,
        *,
        params: QueryParams | None = None,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
        content: AsyncIterable[bytes] | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
    ) -> dict[str, Any]:
        headers = {"User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        if content_length is not None:
            # Sent as a length rather than chunked: the PDS checks a blob's size up front.
            headers["Content-Length"] = str(content_length)
        url = f"{service.rstrip('/')}/xrpc/{nsid}"
        response = await self._send(
            method,
            url,
            headers=headers,
            params=_flat_params(params),
            json=dict(body) if body is not None else None,
            content=content,
        )
        return _json_or_raise(response)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        params: tuple[tuple[str, str], ...] | None = None,
        json: dict[str, Any] | None = None,
        content: AsyncIterable[bytes] | None = None,
    ) -> httpx.Response:
        try:
            return await self._client.request(
                method, url, headers=headers, params=params, json=json, content=content
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # No connection was made: the server cannot have seen the request.
            raise XrpcFailure(
                status=None, error=type(error).__name__, message=str(error), sent=False
            ) from error
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            raise XrpcFailure(
                status=None, error="InvalidURL", message=str(error), sent=False
            ) from error
        except httpx.TransportError as error:
            raise XrpcFailure(
                status=None, error=type(error).__name__, message=str(error), sent=True
            ) from error


def _flat_params(params: QueryParams | None) -> tuple[tuple[str, str], ...] | None:
    """Query parameters as pairs; a list value repeats its name (`uris=a&uris=b`), the XRPC
    encoding of array parameters."""
    if params is None:
        return None
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if isinstance(value, str):
            pairs.append((name, value))
        else:
            pairs.extend((name, item) for item in value)
    return tuple(pairs)


def _json_or_raise(response: httpx.Response) -> dict[str, Any]:
    if response.is_success:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise XrpcFailure(
                status=response.status_code,
                error="InvalidResponse",
                message=f"expected a JSON object, got {response.text[:200]!r}",
            )
        return answer
    error, message = _error_body(response)
    retry_after = retry_after_seconds(response.headers) if response.status_code == 429 else None
    raise XrpcFailure(
        status=response.status_code, error=error, message=message, retry_after=retry_after
    )


def _error_body(response: httpx.Response) -> tuple[str, str]:
    """The XRPC error name and message; a proxy's HTML error page becomes "HTTP 502"."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"], str(body.get("message") or "")
    return f"HTTP {response.status_code}", response.text[:200].strip()


def retry_after_seconds(headers: httpx.Headers, now: float | None = None) -> float | None:
    """How long a 429 asks to wait: `RateLimit-Reset` (a Unix time, what a PDS sends) or
    `Retry-After` (seconds or an HTTP date, what proxies send). None if neither is usable."""
    current = time.time() if now is None else now
    reset = headers.get("ratelimit-reset")
    if reset is not None:
        try:
            return max(float(reset) - current, 0.0)
        except ValueError:
            pass
    retry_after = headers.get("retry-after")
    if retry_after is None:
        return None
    try:
        return max(float(retry_after), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - current, 0.0)
