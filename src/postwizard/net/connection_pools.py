"""Outbound connections kept alive in several small pools instead of one big one.

httpcore walks every connection of its pool on each request and each response (checking each
idle one's socket, and counting the idle ones once per idle connection), so the cost of a call
grows with the square of the connections kept alive. With the dispatcher's 64 calls in flight,
one pool of 200 keep-alive connections cost ~8 ms of CPU per call against ~1 ms for small pools
taken in turn (measured against the sandbox; the dispatch bench is CPU-bound on this)."""

from __future__ import annotations

import itertools

import httpx

# Connections kept alive in all: as many as the dispatcher makes calls at once, and some.
MAX_CONNECTIONS = 192
POOLS = 16


class PooledTransport(httpx.AsyncBaseTransport):
    """httpx's HTTP transport, as `pools` pools sharing `max_connections` and taken in turn.

    In turn rather than by host: most calls of one adapter go to one host. Each pool opens at
    most its share of `max_connections`; a request that finds its pool's share busy waits there
    (taken in turn, pools fill evenly: with 64 calls at once, ~4 each)."""

    def __init__(self, max_connections: int = MAX_CONNECTIONS, pools: int = POOLS) -> None:
        share = max(1, -(-max_connections // pools))
        limits = httpx.Limits(max_connections=share, max_keepalive_connections=share)
        context = httpx.create_ssl_context()  # one for all pools: loading CA certificates is slow
        self._pools = [
            httpx.AsyncHTTPTransport(verify=context, limits=limits) for _ in range(pools)
        ]
        self._turns = itertools.cycle(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._turns).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
