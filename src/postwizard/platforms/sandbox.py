"""Adapter for the built-in sandbox network, spoken to over HTTP like any remote network.

The sandbox has no idempotency key (like X), so the delivery's marker travels as `client_key`
and `reconcile` looks the marker up among the account's posts."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from postwizard.platforms.http_calls import new_client
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    AuthExpiredError,
    ConnectedAccount,
    ConnectError,
    ConnectField,
    MediaItem,
    PermanentError,
    PlatformError,
    PostMetrics,
    Published,
    PublishRequest,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)

DEFAULT_TIMEOUT_S = 10.0
METRICS_BATCH = 100
DEFAULT_RETRY_AFTER_S = 1.0

CONNECT_FIELDS = (
    ConnectField(
        name="handle",
        label="Handle",
        help="1 to 30 letters, digits or _. An existing sandbox handle signs in to that account.",
        placeholder="acme_test",
    ),
    ConnectField(
        name="display_name",
        label="Display name",
        help="How PostWizard shows the account; the handle if left empty.",
        placeholder="Acme (test)",
        required=False,
    ),
)
# What the sandbox says about a field, in words a person can act on.
_FIELD_HINTS = {
    "handle": "Use 1 to 30 letters, digits or _ for the handle.",
    "display_name": "Keep the display name to 100 characters or fewer.",
}


class SandboxPlatform:
    network = Network.SANDBOX
    provides_metrics = True
    connect_fields = CONNECT_FIELDS

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        client: httpx.AsyncClient | None = None,
        public_url: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Where people open the sandbox's post links (the in-process address is not reachable).
        self.public_url = (public_url or base_url).rstrip("/")
        self._client = new_client(client, timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def connect(self, form: Mapping[str, str]) -> ConnectedAccount:
        """Create the account on the sandbox, or sign in to it again when the handle exists (a
        new token; the old one stops working), as a network's sign-in would."""
        handle = form.get("handle", "").strip().removeprefix("@")
        display_name = form.get("display_name", "").strip()
        if not handle:
            raise ConnectError("Pick a handle, e.g. acme_test.", field="handle")
        body: dict[str, str] = {"handle": handle}
        if display_name:
            body["display_name"] = display_name
        try:
            response = await self._client.post(f"{self.base_url}/v1/accounts", json=body)
            if response.status_code == 409:
                signed_in = await self._client.post(f"{self.base_url}/v1/accounts/{handle}/token")
                _raise_for_connect_error(signed_in)
                token = str(signed_in.json()["token"])
                response = await self._client.get(
                    f"{self.base_url}/v1/accounts/{handle}",
                    headers={"Authorization": f"Bearer {token}"},
                )
                _raise_for_connect_error(response)
                answer = {**response.json(), "token": token}
            else:
                _raise_for_connect_error(response)
                answer = response.json()
        except httpx.TransportError as error:
            raise TransientError(
                f"The sandbox network at {self.base_url} did not answer: {type(error).__name__}."
            ) from error
        return ConnectedAccount(
            remote_id=str(answer["id"]),
            handle=str(answer["handle"]),
            display_name=display_name or str(answer["display_name"]),
            credentials={"token": str(answer["token"])},
        )

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        body: dict[str, Any] = {"text": request.text, "client_key": request.marker}
        if request.reply_to:
            body["reply_to"] = request.reply_to
        if request.media:
            # The sandbox keeps references, like networks that fetch media from a URL.
            body["media"] = [_media(item) for item in request.media]
        try:
            response = await self._client.post(
                self._account_url(account, "/posts"), json=body, headers=_auth(account)
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise TransientError(f"The sandbox network is unreachable: {error}") from error
        except httpx.TransportError as error:
            # Sent, but no answer: the post may exist. Never retry without reconciling.
            raise UnknownOutcomeError(
                f"No answer from the sandbox after sending ({type(error).__name__})."
            ) from error
        if response.status_code >= 500:
            raise UnknownOutcomeError(
                f"The sandbox answered {response.status_code}; the post may or may not exist.",
                http_status=response.status_code,
            )
        _raise_for_error(response)
        return self._public(_published(response.json()))

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        items = (await self._get(account, "/posts", params={"client_key": request.marker}))["items"]
        if not items:
            return None
        # Oldest first: if a duplicate ever slipped through, the original is the one to keep.
        oldest = min(items, key=lambda item: str(item.get("created_at", "")))
        return self._public(_published(oldest))

    def _public(self, published: Published) -> Published:
        if published.url and published.url.startswith(self.base_url):
            url = self.public_url + published.url[len(self.base_url) :]
            return Published(
                remote_id=published.remote_id, url=url, published_at=published.published_at
            )
        return published

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        metrics: list[PostMetrics] = []
        for start in range(0, len(remote_ids), METRICS_BATCH):
            batch = ",".join(remote_ids[start : start + METRICS_BATCH])
            answer = await self._request(
                account, "GET", f"{self.base_url}/v1/posts", params={"ids": batch}
            )
            for item in answer.get("items", []):
                metrics.append(
                    PostMetrics(
                        remote_id=str(item["id"]),
                        impressions=item.get("impressions"),
                        likes=item.get("likes"),
                        reposts=item.get("reposts"),
                        replies=item.get("replies"),
                        quotes=item.get("quotes"),
                    )
                )
        return metrics

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        answer = await self._get(account, "")
        return AccountStats(
            followers=answer.get("followers"),
            following=answer.get("following"),
            posts=answer.get("posts_count"),
        )

    def _account_url(self, account: AccountRef, suffix: str) -> str:
        return f"{self.base_url}/v1/accounts/{account.handle}{suffix}"

    async def _get(
        self, account: AccountRef, suffix: str, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return await self._request(
            account, "GET", self._account_url(account, suffix), params=params
        )

    async def _request(
        self, account: AccountRef, method: str, url: str, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        try:
            response = await self._client.request(
                method, url, params=params, headers=_auth(account)
            )
        except httpx.TransportError as error:  # reads are safe to retry
            raise TransientError(
                f"The sandbox network did not answer: {type(error).__name__}."
            ) from error
        if response.status_code >= 500:
            raise TransientError(
                f"The sandbox answered {response.status_code}.", http_status=response.status_code
            )
        _raise_for_error(response)
        answer: dict[str, Any] = response.json()
        return answer


def _media(item: MediaItem) -> dict[str, str]:
    """By URL when the file has a public one, else the bytes themselves (sandbox media are small)."""
    if item.public_url:
        return {"url": item.public_url, "alt": item.alt_text}
    data = base64.b64encode(item.path.read_bytes()).decode("ascii")
    return {"data_base64": data, "alt": item.alt_text}


def _auth(account: AccountRef) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.credentials.get('token', '')}"}


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return str(error.get("message") or error.get("code") or response.text)
    except ValueError:
        return response.text[:200]


def _raise_for_error(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    message = _error_message(response)
    if response.status_code == 429:
        retry_after = response.headers.get("Retry-After", "")
        seconds = (
            float(retry_after)
            if retry_after.replace(".", "", 1).isdigit()
            else DEFAULT_RETRY_AFTER_S
        )
        raise RateLimitedError(
            f"The sandbox is rate-limiting this account: {message}", retry_after=seconds
        )
    if response.status_code in {401, 403}:
        raise AuthExpiredError(
            f"The sandbox no longer accepts this account's token: {message}",
            http_status=response.status_code,
        )
    if 400 <= response.status_code < 500:
        raise PermanentError(
            f"The sandbox refused the post: {message}", http_status=response.status_code
        )
    raise PlatformError(message, http_status=response.status_code)


def _raise_for_connect_error(response: httpx.Response) -> None:
    """A refused field is the person's to fix (ConnectError); anything else is the network's."""
    if response.status_code == 422:
        try:
            problems = response.json()["error"].get("fields") or []
        except (ValueError, KeyError, AttributeError):
            problems = []
        for problem in problems:
            name = str(problem.get("field", ""))
            if name in _FIELD_HINTS:
                raise ConnectError(_FIELD_HINTS[name], field=name, http_status=422)
        raise ConnectError(f"The sandbox refused the account: {_error_message(response)}")
    if response.status_code >= 500:
        raise TransientError(
            f"The sandbox answered {response.status_code}.", http_status=response.status_code
        )
    _raise_for_error(response)


def _published(item: dict[str, Any]) -> Published:
    created = item.get("created_at")
    return Published(
        remote_id=str(item["id"]),
        url=item.get("url"),
        published_at=datetime.fromisoformat(created) if isinstance(created, str) else None,
    )
