"""Per-account request limits: a token bucket like the ones real networks put in front of their APIs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DEFAULT_REQUESTS = 300
DEFAULT_WINDOW_SECONDS = 300.0


@dataclass(frozen=True)
class RateLimit:
    """`requests` per `window_seconds` for each account, refilled continuously.

    A burst of up to `requests` calls is allowed; after that one call is allowed every
    `window_seconds / requests` seconds."""

    requests: int = DEFAULT_REQUESTS
    window_seconds: float = DEFAULT_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise ValueError("a rate limit needs at least 1 request per window")
        if self.window_seconds <= 0:
            raise ValueError("a rate limit window must be longer than 0 seconds")

    @property
    def refill_per_second(self) -> float:
        return self.requests / self.window_seconds


@dataclass(frozen=True)
class Decision:
    """The answer for one request: allowed or not, and what to tell the caller."""

    allowed: bool
    remaining: int
    retry_after_seconds: int  # 0 when allowed


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


@dataclass
class RateLimiter:
    """One bucket per account, in memory (a sandbox process is one process).

    Only called from the event loop and never across an await, so it needs no lock."""

    limit: RateLimit
    _buckets: dict[int, _Bucket] = field(default_factory=dict)

    def take(self, account_id: int, now_seconds: float) -> Decision:
        """Spend one request of the account's bucket at `now_seconds` (any steady clock)."""
        bucket = self._buckets.get(account_id)
        if bucket is None:
            bucket = self._buckets[account_id] = _Bucket(float(self.limit.requests), now_seconds)
        elapsed = max(0.0, now_seconds - bucket.updated_at)
        bucket.tokens = min(
            float(self.limit.requests), bucket.tokens + elapsed * self.limit.refill_per_second
        )
        bucket.updated_at = max(bucket.updated_at, now_seconds)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Decision(
                allowed=True, remaining=math.floor(bucket.tokens), retry_after_seconds=0
            )
        wait = (1.0 - bucket.tokens) / self.limit.refill_per_second
        return Decision(allowed=False, remaining=0, retry_after_seconds=max(1, math.ceil(wait)))
