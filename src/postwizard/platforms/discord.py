"""Adapter for Discord channels, through an incoming webhook
(discord.com/developers/docs/resources/webhook).

Credentials (encrypted at rest): `{"webhook_url": "https://discord.com/api/webhooks/<id>/<token>"}`;
the token in the URL is the only secret. Options (`ConnectedAccount.options`, not secret):
`webhook_id`, `guild_id` and `channel_id` (for message links), `thread_id` when the URL named
one (`?thread_id=`).

Choices, each for a reason:
- Every message is sent with `?wait=true`, so Discord answers with the message (its id) instead of
  204; without it a message Discord fails to save returns no error at all.
- Attachments go as multipart `files[n]` parts next to `payload_json`, whose `attachments`
  carry each file's alt text as `description`; files are streamed from disk.
- Rate limits: Discord's per-route buckets are tracked from its `X-RateLimit-*` headers per webhook
  in memory (`RateLimitBuckets`); a call the bucket would refuse waits for the reset when that is
  short, and otherwise is not made (`RateLimitedError`).
- Reconcile cannot decide: execute-webhook has no idempotency key (Discord honours `nonce` /
  `enforce_nonce` only on the bot endpoint, not on webhooks) and a webhook can read back only a
  message whose id it already knows, so after a lost answer `reconcile` raises
  `UndecidableOutcomeError` and the person looks at the channel.
- A webhook sees no numbers: `provides_metrics` is False and account stats are empty.

Per-message options: `username` and `avatar_url` (override the webhook's), `embed` (a link card:
`title`, `description`, `url`), `link_preview` False (suppress embeds), `silent` (no push
notification).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

import httpx

from postwizard.platforms.http_calls import NOT_SENT, new_client
from postwizard.platforms.networks import Network
from postwizard.platforms.outgoing import check_request, open_media
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    AuthExpiredError,
    ConnectedAccount,
    ConnectError,
    ConnectField,
    PermanentError,
    PostMetrics,
    Published,
    PublishRequest,
    RateLimitedError,
    TransientError,
    UndecidableOutcomeError,
    UnknownOutcomeError,
)

DISCORD_WEBHOOK_BASES = (
    "https://discord.com",
    "https://ptb.discord.com",
    "https://canary.discord.com",
    "https://discordapp.com",
    "https://ptb.discordapp.com",
    "https://canary.discordapp.com",
)
# Below the dispatcher's 30 s call timeout, so a slow answer is classified here, not cancelled.
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_MAX_RATE_LIMIT_WAIT_S = 5.0
DEFAULT_RETRY_AFTER_S = 1.0
INCOMING_WEBHOOK = 1
# Message flags (Discord's message resource): no link embeds; no push/desktop notification.
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
MAX_ALT_TEXT_LENGTH = 1024  # an attachment's `description`
INVALID_FORM_BODY = 50035

_WEBHOOK_PATH = re.compile(r"/api(?:/v\d{1,2})?/webhooks/(\d{5,25})/([A-Za-z0-9_-]{10,200})/?")
_SNOWFLAKE = re.compile(r"\d{5,25}")
_EXECUTE = "POST /webhooks/{webhook_id}/{webhook_token}"
_GET = "GET /webhooks/{webhook_id}/{webhook_token}"

CONNECT_FIELDS = (
    ConnectField(
        name="webhook_url",
        label="Webhook URL",
        kind="url",
        help="In Discord: the channel's settings, Integrations, Webhooks, New Webhook, then "
        "Copy Webhook URL. You need the Manage Webhooks permission.",
        placeholder="https://discord.com/api/webhooks/123456789012345678/...",
    ),
)


@dataclass(frozen=True)
class WebhookAddress:
    """A webhook URL taken apart: where it lives, its id, its secret token, and the thread it
    posts into (if the URL named one)."""

    base: str
    webhook_id: str
    token: str
    thread_id: str | None = None

    @property
    def url(self) -> str:
        return f"{self.base}/api/webhooks/{self.webhook_id}/{self.token}"


def parse_webhook_url(value: str, allowed_bases: Collection[str]) -> WebhookAddress | None:
    """The webhook a URL names, or None when it is not a webhook URL on one of `allowed_bases`
    (scheme, host and port, e.g. "https://discord.com")."""
    try:
        url = httpx.URL(value.strip())
    except httpx.InvalidURL:
        return None
    if url.scheme not in {"http", "https"} or not url.host:
        return None
    base = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
    if base.lower() not in allowed_bases:
        return None
    match = _WEBHOOK_PATH.fullmatch(url.path)
    if match is None:
        return None
    thread_id = url.params.get("thread_id")
    if thread_id is not None and not _SNOWFLAKE.fullmatch(thread_id):
        return None
    return WebhookAddress(base.lower(), match.group(1), match.group(2), thread_id)


@dataclass
class _BucketState:
    remaining: int
    reset_at: float  # on the monotonic clock


class RateLimitBuckets:
    """Discord's per-route rate limits, as its response headers describe them.

    A route's bucket is named by `X-RateLimit-Bucket` (routes may share one); a bucket counts
    separately per top-level resource, here the webhook. `acquire` waits when the bucket is
    empty and resets within `max_wait` seconds, and raises `RateLimitedError` (without calling)
    when it resets later. Kept in memory: after a restart the first call learns the state again.
    """

    def __init__(
        self,
        *,
        max_wait: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._bucket_of_route: dict[str, str] = {}
        self._states: dict[str, _BucketState] = {}
        self._global_until = 0.0

    def _key(self, route: str, resource: str) -> str:
        return f"{self._bucket_of_route.get(route, route)}:{resource}"

    async def acquire(self, route: str, resource: str) -> None:
        """Return when a call to `route` for `resource` may be made, counting it."""
        while True:
            now = self._clock()
            state = self._states.get(self._key(route, resource))
            wait = max(self._global_until - now, 0.0)
            if state is not None and state.remaining <= 0 and state.reset_at > now:
                wait = max(wait, state.reset_at - now)
            if wait <= 0:
                if state is not None and state.reset_at > now:
                    state.remaining -= 1  # reserve the call until the answer tells the truth
                return
            if wait > self.max_wait:
                raise RateLimitedError(
                    f"Discord's rate limit for this webhook is used up for {wait:.1f} more "
                    "seconds; the message was not sent yet.",
                    retry_after=wait,
                    http_status=None,
                )
            await self._sleep(wait)

    def update(self, route: str, resource: str, response: httpx.Response) -> None:
        """Learn the bucket's state from a response's headers (and a 429's body)."""
        headers = response.headers
        bucket = headers.get("X-RateLimit-Bucket")
        if bucket:
            self._bucket_of_route[route] = bucket
        now = self._clock()
        key = self._key(route, resource)
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        reset_after = _number(headers.get("X-RateLimit-Reset-After"))
        if remaining is not None and reset_after is not None:
            self._states[key] = _BucketState(int(remaining), now + reset_after)
        if response.status_code == 429:
            body = _json_object(response)
            retry_after = _retry_after(body, response)
            if body.get("global") is True or headers.get("X-RateLimit-Global") == "true":
                self._global_until = now + retry_after
            else:
                self._states[key] = _BucketState(0, now + retry_after)


class DiscordPlatform:
    network: Network = Network.DISCORD
    provides_metrics: bool = False
    connect_fields: Sequence[ConnectField] = CONNECT_FIELDS

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        extra_webhook_bases: Sequence[str] = (),
        max_rate_limit_wait: float = DEFAULT_MAX_RATE_LIMIT_WAIT_S,
    ) -> None:
        # Only Discord's own hosts by default: the URL is where the content goes, so "any URL"
        # would let a typo post elsewhere. Tests add the fake's loopback base.
        self.allowed_bases = frozenset(
            base.rstrip("/").lower() for base in (*DISCORD_WEBHOOK_BASES, *extra_webhook_bases)
        )
        self.buckets = RateLimitBuckets(max_wait=max_rate_limit_wait)
        self._owns_client = client is None
        self._client = new_client(client, timeout)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- Connecting --------------------------------------------------------------------------

    async def connect(self, form: Mapping[str, str]) -> ConnectedAccount:
        """Check the webhook URL with `GET` on it (name, channel and server of the webhook)."""
        address = parse_webhook_url(form.get("webhook_url", ""), self.allowed_bases)
        if address is None:
            raise ConnectError(
                "That is not a Discord webhook URL. Copy it from the channel's settings "
                "(Integrations, Webhooks, Copy Webhook URL); it looks like "
                "https://discord.com/api/webhooks/<number>/<token>.",
                field="webhook_url",
            )
        try:
            response = await self._send(_GET, address, "GET", create=False)
            _raise_for_error(response, create=False)
        except AuthExpiredError as error:
            raise ConnectError(
                "Discord does not know this webhook: it was deleted or the URL is wrong. Copy "
                "the URL again from the channel's settings.",
                field="webhook_url",
                http_status=error.http_status,
            ) from error
        except (TransientError, RateLimitedError) as error:
            raise ConnectError(
                f"Discord could not be asked right now: {error.message} Try again in a moment.",
                http_status=error.http_status,
            ) from error
        except PermanentError as error:
            raise ConnectError(
                error.message, field="webhook_url", http_status=error.http_status
            ) from error
        webhook = _json_object(response)
        if webhook.get("type", INCOMING_WEBHOOK) != INCOMING_WEBHOOK:
            raise ConnectError(
                "This webhook cannot post messages (it is a channel-follower or application "
                "webhook). Create a new webhook in the channel's Integrations settings.",
                field="webhook_url",
            )
        name = str(webhook.get("name") or "Discord webhook")
        options: dict[str, Any] = {
            "webhook_id": str(webhook.get("id") or address.webhook_id),
            "guild_id": _optional_str(webhook.get("guild_id")),
            "channel_id": _optional_str(webhook.get("channel_id")),
        }
        if address.thread_id:
            options["thread_id"] = address.thread_id
        return ConnectedAccount(
            remote_id=options["webhook_id"],
            handle=name,
            display_name=name,
            credentials={"webhook_url": address.url},
            options=options,
        )

    # --- Publishing --------------------------------------------------------------------------

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        address = self._address(account)
        check_request(Network.DISCORD, request)
        payload = _payload(request)
        thread_id = _optional_str(account.options.get("thread_id")) or address.thread_id
        with ExitStack() as opened:
            files: list[tuple[str, tuple[str, IO[bytes], str]]] = []
            if request.media:
                payload["attachments"] = [
                    {
                        "id": index,
                        "filename": item.filename,
                        # Discord refuses longer descriptions; the start says most.
                        "description": item.alt_text[:MAX_ALT_TEXT_LENGTH],
                    }
                    for index, item in enumerate(request.media)
                ]
                files = [
                    (f"files[{index}]", (item.filename, open_media(opened, item), item.mime_type))
                    for index, item in enumerate(request.media)
                ]
            response = await self._send(
                _EXECUTE,
                address,
                "POST",
                create=True,
                payload=payload,
                files=files,
                thread_id=thread_id,
            )
        _raise_for_error(response, create=True)
        message = _json_object(response)
        if "id" not in message:
            raise UnknownOutcomeError(
                "Discord answered without the message; it may or may not have been posted.",
                http_status=response.status_code,
            )
        return _published(message, account.options)

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        """A webhook cannot tell: see the module docstring. Never guesses, never re-sends."""
        raise UndecidableOutcomeError(
            "Discord does not let a webhook check what it posted: webhooks have no idempotency "
            "key and cannot list the channel's messages."
        )

    # --- Numbers -----------------------------------------------------------------------------

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        """A webhook sees no reactions or views of its messages."""
        return []

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        """A webhook sees no member or follower counts."""
        return AccountStats()

    # --- HTTP --------------------------------------------------------------------------------

    def _address(self, account: AccountRef) -> WebhookAddress:
        address = parse_webhook_url(account.credentials.get("webhook_url", ""), self.allowed_bases)
        if address is None:
            raise AuthExpiredError(
                "No usable Discord webhook URL is stored for this account. Reconnect it."
            )
        return address

    async def _send(
        self,
        route: str,
        address: WebhookAddress,
        method: str,
        *,
        create: bool,
        payload: Mapping[str, Any] | None = None,
        files: Sequence[tuple[str, tuple[str, IO[bytes], str]]] = (),
        thread_id: str | None = None,
    ) -> httpx.Response:
        """One call on the webhook, paced by its rate-limit bucket. The URL holds the token, so
        it never appears in a message."""
        await self.buckets.acquire(route, address.webhook_id)
        params = {"wait": "true"} if create else {}
        if thread_id:
            params["thread_id"] = thread_id
        try:
            if files:
                response = await self._client.request(
                    method,
                    address.url,
                    params=params,
                    data={"payload_json": json.dumps(payload, ensure_ascii=False)},
                    files=list(files),
                )
            else:
                response = await self._client.request(
                    method, address.url, params=params, json=payload
                )
        except NOT_SENT as error:
            raise TransientError(f"Discord is unreachable ({type(error).__name__}).") from error
        except httpx.TransportError as error:
            if create:
                # Sent, but no answer: the message may exist. Never retry without asking.
                raise UnknownOutcomeError(
                    f"No answer from Discord after sending the message ({type(error).__name__}); "
                    "it may or may not have been posted."
                ) from error
            raise TransientError(f"Discord did not answer ({type(error).__name__}).") from error
        self.buckets.update(route, address.webhook_id, response)
        return response


# --- Requests and answers ----------------------------------------------------------------------


def _payload(request: PublishRequest) -> dict[str, Any]:
    options = request.options
    payload: dict[str, Any] = {}
    if request.text:
        payload["content"] = request.text
    for name in ("username", "avatar_url"):
        value = options.get(name)
        if isinstance(value, str) and value.strip():
            payload[name] = value.strip()
    embed = options.get("embed")
    if isinstance(embed, Mapping):
        card = {
            key: str(embed[key])
            for key in ("title", "description", "url")
            if isinstance(embed.get(key), str) and embed[key]
        }
        if card:
            payload["embeds"] = [card]
    flags = 0
    if options.get("link_preview") is False:
        flags |= SUPPRESS_EMBEDS
    if options.get("silent") is True:
        flags |= SUPPRESS_NOTIFICATIONS
    if flags:
        payload["flags"] = flags
    return payload


def _raise_for_error(response: httpx.Response, *, create: bool) -> None:
    status = response.status_code
    if status < 300:
        return
    body = _json_object(response)
    message = str(body.get("message") or response.reason_phrase or status)
    if status == 429:
        retry_after = _retry_after(body, response)
        scope = "all requests from this server" if body.get("global") else "this webhook"
        raise RateLimitedError(
            f"Discord is rate-limiting {scope}: retry in {retry_after:g} seconds.",
            retry_after=retry_after,
        )
    if status >= 500:
        if create:
            raise UnknownOutcomeError(
                f"Discord answered {status}; the message may or may not have been posted.",
                http_status=status,
            )
        raise TransientError(f"Discord answered {status}: {message}.", http_status=status)
    if status in {401, 404}:
        raise AuthExpiredError(
            f"Discord says the webhook was deleted or its URL changed ({message}). Create a new "
            "webhook in the channel's settings and reconnect the account.",
            http_status=status,
        )
    if body.get("code") == INVALID_FORM_BODY and isinstance(body.get("errors"), dict):
        problems = "; ".join(_form_errors(body["errors"]))
        raise PermanentError(f"Discord refused the message: {problems}.", http_status=status)
    if status == 413:
        raise PermanentError(
            "Discord refused the attachments: together they are larger than this server "
            "accepts. Send smaller or fewer files.",
            http_status=status,
        )
    raise PermanentError(f"Discord refused the message: {message}.", http_status=status)


def _form_errors(errors: Mapping[str, Any], path: tuple[str, ...] = ()) -> list[str]:
    """Discord's nested "Invalid Form Body" errors as "field: reason" lines, the field named by
    its path (e.g. "embeds.0.title: Must be 256 or fewer in length")."""
    found: list[str] = []
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            field = ".".join(path) or "the message"
            found += [f"{field}: {str(e.get('message', '')).rstrip('.')}" for e in value]
        elif isinstance(value, Mapping):
            found += _form_errors(value, (*path, key))
    return found


def _retry_after(body: Mapping[str, Any], response: httpx.Response) -> float:
    for value in (
        body.get("retry_after"),
        response.headers.get("Retry-After"),
        response.headers.get("X-RateLimit-Reset-After"),
    ):
        number = _number(value)
        if number is not None and number >= 0:
            return number
    return DEFAULT_RETRY_AFTER_S


def _published(message: Mapping[str, Any], options: Mapping[str, Any]) -> Published:
    message_id = str(message["id"])
    guild_id = _optional_str(options.get("guild_id"))
    channel_id = _optional_str(message.get("channel_id")) or _optional_str(
        options.get("channel_id")
    )
    url = (
        f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
        if guild_id and channel_id
        else None
    )
    timestamp = message.get("timestamp")
    published_at = None
    if isinstance(timestamp, str):
        try:
            published_at = datetime.fromisoformat(timestamp)
        except ValueError:
            published_at = None
    return Published(remote_id=message_id, url=url, published_at=published_at)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _optional_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
