"""The one small protocol every network adapter implements, and the typed errors it raises.

Adapters never touch the database: the publishing engine gives them what to publish and records
what they answer. Every error is classified so the engine knows what to do next:

| error | engine's next step |
| --- | --- |
| `TransientError` | retry later with backoff |
| `RateLimitedError` | retry after `retry_after` seconds |
| `TokenExpiredError` | refresh the credentials (`Refreshable.refresh`), then go on |
| `AuthExpiredError` | stop; the account needs reconnecting |
| `PermanentError` | stop; show the reason to the user |
| `UnknownOutcomeError` | never retry blindly: `reconcile` first |
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from postwizard.platforms.networks import Network


class PlatformError(Exception):
    """A network call failed; the subclass says what the engine should do."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


class TransientError(PlatformError):
    """Worth retrying: a 5xx, a refused connection, a timeout before the request was sent."""


class RateLimitedError(PlatformError):
    def __init__(self, message: str, *, retry_after: float, http_status: int | None = 429) -> None:
        super().__init__(message, http_status=http_status)
        self.retry_after = retry_after


class AuthExpiredError(PlatformError):
    """The credentials are no longer accepted (revoked, expired beyond refresh)."""


class TokenExpiredError(AuthExpiredError):
    """The access token ran out but the stored credentials can renew it: the engine calls the
    adapter's `refresh`, stores what it returns and tries again. Only an `AuthExpiredError`
    from `refresh` itself marks the account "needs reconnect"."""


class PermanentError(PlatformError):
    """The network refused the content itself; retrying cannot help."""


class UnknownOutcomeError(PlatformError):
    """The request may have been applied (timeout after sending, connection reset)."""


class UndecidableOutcomeError(UnknownOutcomeError):
    """Raised by `reconcile` when the network offers no way to tell whether the post exists (no
    idempotency key, and the account's posts cannot be read back: Telegram bots, Discord
    webhooks). The person decides: the delivery fails with a "look, then mark it published or
    retry" message instead of being re-checked forever or re-posted."""


@dataclass(frozen=True)
class AccountRef:
    """What an adapter needs to act as an account (credentials already decrypted)."""

    id: uuid.UUID
    network: Network
    handle: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaItem:
    """One attached file, ready to upload: adapters read the bytes from `path` (a local file;
    never loaded whole into memory for video) or hand `public_url` to networks that fetch media
    themselves (Instagram, Threads, the sandbox)."""

    kind: Literal["image", "gif", "video"]
    mime_type: str
    size_bytes: int
    path: Path
    filename: str
    alt_text: str = ""
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    public_url: str | None = None


@dataclass(frozen=True)
class PublishRequest:
    """One delivery's content. `marker` is unique per delivery and stable across retries: the
    adapter sends it as an idempotency key, a record key or a lookup marker, whatever the
    network offers, so `reconcile` can find a post whose answer was lost.

    `options` are the target's per-network options (e.g. Mastodon `visibility`,
    `spoiler_text`, `language`; Telegram `disable_notification`); `reply_to` is the remote id
    of the post this one answers (threads). `first_attempt_at` is when the first publish
    attempt of this delivery started (stable across retries): `reconcile` searches the
    account's posts from then on, and adapters that need a time-based record key derive it
    from it."""

    marker: str
    text: str
    media: Sequence[MediaItem] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    reply_to: str | None = None
    first_attempt_at: datetime | None = None


@dataclass(frozen=True)
class Published:
    remote_id: str
    url: str | None
    published_at: datetime | None = None


@dataclass(frozen=True)
class PostMetrics:
    remote_id: str
    impressions: int | None = None
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountStats:
    followers: int | None = None
    following: int | None = None
    posts: int | None = None


class Platform(Protocol):
    """A network adapter. `provides_metrics` is False for networks that give an account no
    numbers about its posts (Telegram bots, Discord webhooks): the UI says so instead of
    showing zeros."""

    network: Network
    provides_metrics: bool

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        """Create the post, or raise a `PlatformError` subclass."""
        ...

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        """After an unknown outcome: the post if the network has it, None if it certainly does not.
        Raises `UnknownOutcomeError` (or another PlatformError) when it cannot tell."""
        ...

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]: ...

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats: ...


@runtime_checkable
class Refreshable(Protocol):
    """An adapter whose credentials expire and can be renewed without the user."""

    def needs_refresh(self, credentials: Mapping[str, str], now: datetime) -> bool:
        """True when the credentials should be renewed before the next call (ahead of expiry)."""
        ...

    async def refresh(self, account: AccountRef) -> Mapping[str, str]:
        """The renewed credentials (merged over the stored ones by the engine, which never lets an
        empty value overwrite a stored one). Raises `AuthExpiredError` only when the network
        definitively refused (revoked); `TransientError` when it could not tell."""
        ...


# --- Connecting accounts ------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectField:
    """One input of a network's connect form, described so the UI can render it."""

    name: str
    label: str
    kind: Literal["text", "password", "url"] = "text"
    help: str = ""
    placeholder: str = ""
    required: bool = True


@dataclass(frozen=True)
class ConnectedAccount:
    """What connecting produced: the account as the network names it, the credentials to store
    (encrypted) and options such as the instance's own limits (`limit_overrides` keys of
    `postwizard.platforms.limits`) or the remote account id."""

    remote_id: str
    handle: str
    display_name: str
    credentials: Mapping[str, str]
    limit_overrides: Mapping[str, int] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OAuthStart:
    """Where to send the person to authorize, and what to keep until the callback (app client
    id/secret registered on the instance, PKCE verifier, ...); kept server-side, never sent to
    the browser."""

    authorize_url: str
    pending: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class FormConnector(Protocol):
    """Networks connected by filling in a form (app password, bot token, webhook URL)."""

    connect_fields: Sequence[ConnectField]

    async def connect(self, form: Mapping[str, str]) -> ConnectedAccount:
        """Verify the form against the network. Raises `ConnectError` naming the field at fault."""
        ...


@runtime_checkable
class OAuthConnector(Protocol):
    """Networks connected by an OAuth2 redirect. `form` holds the `connect_fields` the person
    filled in before the redirect (e.g. the Mastodon instance URL)."""

    connect_fields: Sequence[ConnectField]

    async def start_oauth(
        self, form: Mapping[str, str], redirect_uri: str, state: str
    ) -> OAuthStart: ...

    async def finish_oauth(
        self, pending: Mapping[str, str], code: str, redirect_uri: str
    ) -> ConnectedAccount | Sequence[ConnectedAccount]:
        """The account signed in, or every account the sign-in granted (Facebook pages,
        LinkedIn organizations): PostWizard connects them all."""
        ...


class ConnectError(PlatformError):
    """Connecting failed because of what the person entered; `field` names the input at fault
    (None when the network itself failed)."""

    def __init__(
        self, message: str, *, field: str | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(message, http_status=http_status)
        self.field = field
