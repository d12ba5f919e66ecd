"""The one small protocol every network adapter implements, and the typed errors it raises.

Adapters never touch the database: the publishing engine gives them what to publish and records
what they answer. Every error is classified so the engine knows what to do next:

| error | engine's next step |
| --- | --- |
| `TransientError` | retry later with backoff |
| `RateLimitedError` | retry after `retry_after` seconds |
| `AuthExpiredError` | stop; the account needs reconnecting |
| `PermanentError` | stop; show the reason to the user |
| `UnknownOutcomeError` | never retry blindly: `reconcile` first |
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

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


class PermanentError(PlatformError):
    """The network refused the content itself; retrying cannot help."""


class UnknownOutcomeError(PlatformError):
    """The request may have been applied (timeout after sending, connection reset)."""


@dataclass(frozen=True)
class AccountRef:
    """What an adapter needs to act as an account (credentials already decrypted)."""

    id: uuid.UUID
    network: Network
    handle: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishRequest:
    """One delivery's content. `marker` is unique per delivery and stable across retries: the
    adapter sends it as an idempotency key, a record key or a lookup marker, whatever the
    network offers, so `reconcile` can find a post whose answer was lost."""

    marker: str
    text: str
    media_urls: Sequence[str] = ()
    alt_texts: Sequence[str] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    reply_to: str | None = None


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
    """A network adapter."""

    network: Network

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
