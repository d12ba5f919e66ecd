"""How fast collectors may read each network: the networks' documented *read* limits, for the
publishing `Pacer` (concurrency caps and token buckets) that the collector paces its reads with.

One adapter call fetches an account's due posts in as many requests as the network's batch
size needs (Bluesky 25 per request, ...); the call takes that many tokens at once
(`Pacer.acquire(..., requests)`) and may leave a bucket in debt, which the next call waits
out, so the average rate holds exactly."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from postwizard.platforms.bluesky.adapter import METRICS_BATCH as BLUESKY_BATCH
from postwizard.platforms.mastodon.platform import METRICS_BATCH as MASTODON_BATCH
from postwizard.platforms.networks import Network
from postwizard.platforms.sandbox import METRICS_BATCH as SANDBOX_BATCH
from postwizard.publishing.pacing import NetworkPacing, Rate

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
