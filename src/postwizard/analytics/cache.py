"""Cached aggregates: in this process (embedded mode) or in Redis (several web processes).

Entries are keyed by the workspace's *generation*. New numbers (the `metrics.updated` event,
or a delivery that just got published) bump the generation, so every older entry is dead at
once. A request that computed its answer from the old numbers while the bump happened stores
it under the old generation, where nobody reads it again: no stale answer survives an event.
The TTL bounds what no event announces (a post deleted, an account removed).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from postwizard.realtime.events import Event

log = structlog.get_logger(__name__)

# Events after which a workspace's aggregates may differ.
INVALIDATING_EVENTS = frozenset({"metrics.updated", "account_stats.updated"})
PUBLISHED_STATE = "published"
MAX_LOCAL_ENTRIES = 2000

Compute = Callable[[], Awaitable[str]]


def invalidates(event: Event) -> bool:
    """Whether `event` may change the workspace's aggregates."""
    if event.type in INVALIDATING_EVENTS:
        return True
    return event.type == "delivery.updated" and event.data.get("state") == PUBLISHED_STATE


class AggregateCache(Protocol):
    async def get_or_compute(self, workspace_id: uuid.UUID, key: str, compute: Compute) -> str:
        """The cached text for `key`, or `compute()`'s, stored for next time."""
        ...

    def on_event(self, event: Event) -> None:
        """A bus listener (quick, non-blocking): forget the workspace's entries when needed."""
        ...

    async def aclose(self) -> None: ...


class LocalCache:
    """In-process TTL cache, bounded (least recently used entries go first)."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._generations: dict[uuid.UUID, int] = {}
        self._entries: OrderedDict[tuple[uuid.UUID, int, str], tuple[float, str]] = OrderedDict()

    async def get_or_compute(self, workspace_id: uuid.UUID, key: str, compute: Compute) -> str:
        entry_key = (workspace_id, self._generations.get(workspace_id, 0), key)
        found = self._entries.get(entry_key)
        now = self.clock()
        if found is not None and found[0] > now:
            self._entries.move_to_end(entry_key)
            return found[1]
        value = await compute()
        self._entries[entry_key] = (now + self.ttl, value)
        self._entries.move_to_end(entry_key)
        while len(self._entries) > MAX_LOCAL_ENTRIES:
            self._entries.popitem(last=False)
        return value

    def invalidate(self, workspace_id: uuid.UUID) -> None:
        self._generations[workspace_id] = self._generations.get(workspace_id, 0) + 1
        for entry_key in [k for k in self._entries if k[0] == workspace_id]:
            del self._entries[entry_key]

    def on_event(self, event: Event) -> None:
        if invalidates(event):
            self.invalidate(event.workspace_id)

    async def aclose(self) -> None:
        self._entries.clear()


def generation_key(workspace_id: uuid.UUID) -> str:
    return f"postwizard:analytics:{workspace_id}:generation"


class RedisCache:
    """Shared by every web process. Each process hears each event and bumps the generation;
    a few extra bumps cost one recomputation at most. Redis trouble degrades to computing."""

    def __init__(self, url: str, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._pending: set[asyncio.Task[None]] = set()

    async def get_or_compute(self, workspace_id: uuid.UUID, key: str, compute: Compute) -> str:
        try:
            generation = str(await self._redis.get(generation_key(workspace_id)) or "0")
            entry_key = f"postwizard:analytics:{workspace_id}:{generation}:{key}"
            found = await self._redis.get(entry_key)
        except (RedisError, OSError) as error:
            log.warning("analytics cache unavailable; computing", error=str(error))
            return await compute()
        if found is not None:
            return str(found)
        value = await compute()
        try:
            await self._redis.set(entry_key, value, px=max(1, int(self.ttl * 1000)))
        except (RedisError, OSError) as error:
            log.warning("analytics cache unavailable; not stored", error=str(error))
        return value

    async def invalidate(self, workspace_id: uuid.UUID) -> None:
        try:
            await self._redis.incr(generation_key(workspace_id))
        except (RedisError, OSError) as error:
            log.warning("analytics cache not invalidated", error=str(error))

    def on_event(self, event: Event) -> None:
        if invalidates(event):
            task = asyncio.get_running_loop().create_task(self.invalidate(event.workspace_id))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self._redis.aclose()


def create_cache(redis_url: str, ttl_seconds: float) -> AggregateCache:
    """Redis when configured (shared by all processes), otherwise in this process."""
    if redis_url:
        return RedisCache(redis_url, ttl_seconds)
    return LocalCache(ttl_seconds)
