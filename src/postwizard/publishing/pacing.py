"""How fast the dispatcher may call each network: concurrency caps and token buckets.

Three limits apply to every publish call, all kept per worker process (a worker cannot see
another's in-flight calls without a round trip per call; the database-counted daily caps in
the dispatcher are the limits that hold across workers):

- **per-network concurrency**: at most `concurrency` calls to one network at once;
- **per-account token bucket**: the network's documented posting rate for one account (e.g.
  Mastodon's 300 statuses per 3 hours), with its burst;
- **per-network token bucket**: the app-wide rate (e.g. Telegram's ~30 messages/s per bot).

A call that would wait only briefly for a token waits; one that would wait longer is not made:
the delivery goes back to `retry_wait` until the bucket has refilled, so no lease is held and
no worker slot is blocked while a bucket refills.

The metric collector paces its reads with the same `Pacer`, given the networks' read limits
(`analytics/read_pacing.py`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from postwizard.platforms.networks import Network

# Waits up to this long for a token in-process; longer waits go back to the queue.
SHORT_WAIT_S = 2.0


@dataclass(frozen=True)
class Rate:
    """`calls` per `seconds`, with bursts of up to `burst` (default: all of them)."""

    calls: int
    seconds: float
    burst: int | None = None

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds

    @property
    def capacity(self) -> int:
        return self.burst if self.burst is not None else self.calls


@dataclass(frozen=True)
class NetworkPacing:
    concurrency: int | None = None
    per_account: Rate | None = None
    per_network: Rate | None = None


# From the networks' documentation (NETWORKS.md). Daily caps (Instagram 50, Threads 250) are
# counted in the database by the dispatcher instead, so they hold across workers and restarts.
DEFAULT_PACING: Mapping[Network, NetworkPacing] = MappingProxyType(
    {
        Network.MASTODON: NetworkPacing(concurrency=32, per_account=Rate(300, 3 * 3600, burst=30)),
        # 5,000 points per hour, a create costs 3: ~1,666 posts/h per account.
        Network.BLUESKY: NetworkPacing(concurrency=32, per_account=Rate(1666, 3600, burst=30)),
        Network.X: NetworkPacing(concurrency=16, per_account=Rate(200, 15 * 60, burst=20)),
        # ~1 message/s per chat, ~30 messages/s per bot overall.
        Network.TELEGRAM: NetworkPacing(
            concurrency=16, per_account=Rate(1, 1, burst=3), per_network=Rate(30, 1)
        ),
        # Webhooks: ~5 requests per 2 s per route; the adapter also follows the bucket headers.
        Network.DISCORD: NetworkPacing(
            concurrency=16, per_account=Rate(5, 2), per_network=Rate(50, 1)
        ),
        Network.FACEBOOK: NetworkPacing(concurrency=8),
        Network.INSTAGRAM: NetworkPacing(concurrency=8),
        Network.THREADS: NetworkPacing(concurrency=8),
        Network.LINKEDIN: NetworkPacing(concurrency=8, per_account=Rate(100, 3600, burst=10)),
    }
)


class TokenBucket:
    """Starts full; refills continuously at `rate.per_second` up to `rate.capacity`."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.tokens = float(rate.capacity)
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.rate.capacity), self.tokens + elapsed * self.rate.per_second)
        self.updated = now

    def wait_time(self) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill()
        if self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate.per_second

    def take(self) -> None:
        """Spend a token (the caller checked `wait_time() == 0`)."""
        self._refill()
        self.tokens -= 1


@dataclass
class Pacer:
    """The buckets and semaphores of one dispatcher (publish calls) or one metric collector
    (reads, with `analytics.read_pacing.DEFAULT_READ_PACING`)."""

    pacing: Mapping[Network, NetworkPacing] = field(default_factory=lambda: DEFAULT_PACING)
    clock: Callable[[], float] = time.monotonic
    _network_slots: dict[Network, asyncio.Semaphore] = field(default_factory=dict)
    _account_buckets: dict[uuid.UUID, TokenBucket] = field(default_factory=dict)
    _network_buckets: dict[Network, TokenBucket] = field(default_factory=dict)

    def slots(self, network: Network) -> asyncio.Semaphore | None:
        """The network's concurrency cap, or None when it has none."""
        limit = self.pacing.get(network, NetworkPacing()).concurrency
        if limit is None:
            return None
        return self._network_slots.setdefault(network, asyncio.Semaphore(limit))

    def _buckets(self, network: Network, account_id: uuid.UUID) -> list[TokenBucket]:
        pacing = self.pacing.get(network, NetworkPacing())
        buckets: list[TokenBucket] = []
        if pacing.per_account is not None:
            rate = pacing.per_account
            buckets.append(
                self._account_buckets.setdefault(account_id, TokenBucket(rate, self.clock))
            )
        if pacing.per_network is not None:
            rate = pacing.per_network
            buckets.append(self._network_buckets.setdefault(network, TokenBucket(rate, self.clock)))
        return buckets

    def try_take(self, network: Network, account_id: uuid.UUID) -> bool:
        """Take a token from each bucket of this call if all have one now; never waits."""
        buckets = self._buckets(network, account_id)
        if any(bucket.wait_time() > 0 for bucket in buckets):
            return False
        for bucket in buckets:
            bucket.take()
        return True

    async def acquire(self, network: Network, account_id: uuid.UUID, requests: int = 1) -> float:
        """Take `requests` tokens from each bucket of this call once one is available, waiting
        up to `SHORT_WAIT_S`. Returns 0 when the call may go ahead, else the seconds until it
        may (nothing was taken). Taking several at once may leave a bucket in debt, which the
        next call waits out, so the average rate holds."""
        buckets = self._buckets(network, account_id)
        while True:
            wait = max((bucket.wait_time() for bucket in buckets), default=0.0)
            if wait == 0:
                for bucket in buckets:
                    for _ in range(requests):
                        bucket.take()
                return 0.0
            if wait > SHORT_WAIT_S:
                return wait
            await asyncio.sleep(wait)
