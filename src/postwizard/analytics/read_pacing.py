"""How fast collectors may read each network: concurrency caps and token buckets for metric
reads (the publishing `TokenBucket`/`Rate`, with the networks' documented *read* limits).

One adapter call fetches an account's due posts in as many requests as the network's batch
size needs (Bluesky 25 per request, ...); the call takes that many tokens at once and may
leave a bucket in debt, which the next call waits out, so the average rate holds exactly."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from postwizard.platforms.bluesky.adapter import METRICS_BATCH as BLUESKY_BATCH
from postwizard.platforms.mastodon.platform import METRICS_BATCH as MASTODON_BATCH
from postwizard.platforms.networks import Network
from postwizard.platforms.sandbox import METRICS_BATCH as SANDBOX_BATCH
from postwizard.publishing.pacing import NetworkPacing, Rate, TokenBucket

# Waits up to this long for tokens in-process; longer waits put the jobs back in the queue.
SHORT_WAIT_S = 2.0

# Post ids one request can ask for, per network (as the adapters batch them).
READ_BATCH: Mapping[Network, int] = MappingProxyType(
    {
        Network.SANDBOX: SANDBOX_BATCH,
        Network.BLUESKY: BLUESKY_BATCH,
        Network.MASTODON: MASTODON_BATCH,
        Network.X: 100,  # GET /2/tweets?ids= takes up to 100
    }
)

# Read limits from the networks' documentation (NETWORKS.md), kept below publishing's share.
DEFAULT_READ_PACING: Mapping[Network, NetworkPacing] = MappingProxyType(
    {
        # The sandbox allows 300 requests per 5 minutes per account.
        Network.SANDBOX: NetworkPacing(concurrency=32, per_account=Rate(300, 300, burst=60)),
        # 300 requests per 5 minutes per token.
        Network.MASTODON: NetworkPacing(concurrency=16, per_account=Rate(240, 300, burst=30)),
        # AppView reads: 3,000 per 5 minutes per IP; leave room for other reads.
        Network.BLUESKY: NetworkPacing(concurrency=16, per_network=Rate(2000, 300, burst=50)),
        # GET /2/tweets: 900 per 15 minutes per user on paid tiers.
        Network.X: NetworkPacing(concurrency=8, per_account=Rate(900, 900, burst=20)),
        Network.FACEBOOK: NetworkPacing(concurrency=4, per_account=Rate(200, 3600, burst=10)),
        Network.INSTAGRAM: NetworkPacing(concurrency=4, per_account=Rate(200, 3600, burst=10)),
        Network.THREADS: NetworkPacing(concurrency=4, per_account=Rate(200, 3600, burst=10)),
        Network.LINKEDIN: NetworkPacing(concurrency=4, per_account=Rate(100, 3600, burst=10)),
    }
)


def requests_for(network: Network, ids: int) -> int:
    """How many requests reading `ids` posts takes on `network` (at least 1)."""
    return max(1, math.ceil(ids / READ_BATCH.get(network, 1)))


@dataclass
class ReadPacer:
    """The read buckets and semaphores of one collector."""

    pacing: Mapping[Network, NetworkPacing] = field(default_factory=lambda: DEFAULT_READ_PACING)
    clock: Callable[[], float] = time.monotonic
    _slots: dict[Network, asyncio.Semaphore] = field(default_factory=dict)
    _account_buckets: dict[uuid.UUID, TokenBucket] = field(default_factory=dict)
    _network_buckets: dict[Network, TokenBucket] = field(default_factory=dict)

    def slots(self, network: Network) -> asyncio.Semaphore | None:
        limit = self.pacing.get(network, NetworkPacing()).concurrency
        if limit is None:
            return None
        return self._slots.setdefault(network, asyncio.Semaphore(limit))

    def _buckets(self, network: Network, account_id: uuid.UUID) -> list[TokenBucket]:
        pacing = self.pacing.get(network, NetworkPacing())
        buckets: list[TokenBucket] = []
        if pacing.per_account is not None:
            bucket = TokenBucket(pacing.per_account, self.clock)
            buckets.append(self._account_buckets.setdefault(account_id, bucket))
        if pacing.per_network is not None:
            bucket = TokenBucket(pacing.per_network, self.clock)
            buckets.append(self._network_buckets.setdefault(network, bucket))
        return buckets

    async def acquire(self, network: Network, account_id: uuid.UUID, requests: int) -> float:
        """Take `requests` tokens from each bucket of the call once one is available, waiting up
        to `SHORT_WAIT_S`. Returns 0 when the call may go ahead, else the seconds until it may
        (nothing was taken)."""
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
