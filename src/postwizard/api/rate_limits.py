"""One rate limiter for sign-ins, API-token requests and AI generations.

Each limit allows `per_minute` uses per key in a sliding one-minute window (the times of recent
uses are kept, not a fixed-minute counter, so a burst across a minute boundary is still held to
the limit). The counts live in this process (embedded default) or in Redis when
`POSTWIZARD_REDIS_URL` is set, so that several web processes share them. If Redis cannot be
reached, the process counts on its own rather than refusing everyone or letting everyone through.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from postwizard.errors import RateLimited

log = structlog.get_logger(__name__)

WINDOW_S = 60.0
REDIS_PREFIX = "postwizard:ratelimit:"
SWEEP_ABOVE_KEYS = 10_000


@dataclass(frozen=True)
class Limit:
    """`per_minute` uses per key; `name` keeps the keys of different limits apart."""

    name: str
    per_minute: int


class RateLimiter(Protocol):
    async def seconds_until_allowed(self, limit: Limit, keys: Sequence[str]) -> int:
        """0 when every key is under its limit, otherwise how many seconds to wait."""
        ...

    async def take(self, limit: Limit, keys: Sequence[str]) -> int:
        """Count one use against every key if all allow it (returns 0); otherwise count nothing
        and return how many seconds to wait."""
        ...

    async def record(self, limit: Limit, keys: Sequence[str]) -> None:
        """Count one use against every key, allowed or not (a failed sign-in)."""
        ...

    async def clear(self, limit: Limit, keys: Sequence[str]) -> None:
        """Forget the keys' uses (a successful sign-in)."""
        ...

    async def aclose(self) -> None: ...


async def enforce(limiter: RateLimiter, limit: Limit, keys: Sequence[str], what: str) -> None:
    """Count one use, or raise 429 with `Retry-After` saying what was limited."""
    wait = await limiter.take(limit, keys)
    if wait:
        raise RateLimited(
            f"Too many {what} (at most {limit.per_minute} a minute); try again in {wait} s.",
            retry_after=wait,
        )


def _whole_seconds(wait: float) -> int:
    return max(1, math.ceil(wait)) if wait > 0 else 0


class LocalRateLimiter:
    """Counts in this process's memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._uses: dict[str, deque[float]] = {}

    async def seconds_until_allowed(self, limit: Limit, keys: Sequence[str]) -> int:
        return self._wait(limit, keys, self.clock())

    async def take(self, limit: Limit, keys: Sequence[str]) -> int:
        now = self.clock()
        wait = self._wait(limit, keys, now)
        if not wait:
            self._add(limit, keys, now)
        return wait

    async def record(self, limit: Limit, keys: Sequence[str]) -> None:
        self._add(limit, keys, self.clock())

    async def clear(self, limit: Limit, keys: Sequence[str]) -> None:
        for key in keys:
            self._uses.pop(f"{limit.name}:{key}", None)

    async def aclose(self) -> None:
        self._uses.clear()

    def _wait(self, limit: Limit, keys: Sequence[str], now: float) -> int:
        wait = 0.0
        for key in keys:
            recent = self._recent(f"{limit.name}:{key}", now)
            if len(recent) >= limit.per_minute:
                wait = max(wait, recent[-limit.per_minute] + WINDOW_S - now)
        return _whole_seconds(wait)

    def _add(self, limit: Limit, keys: Sequence[str], now: float) -> None:
        if len(self._uses) > SWEEP_ABOVE_KEYS:
            # Keys nobody uses any more (one per client address, per token) must not pile up.
            for key in list(self._uses):
                self._recent(key, now)
        for key in keys:
            full_key = f"{limit.name}:{key}"
            recent = self._recent(full_key, now)
            recent.append(now)
            self._uses[full_key] = recent

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._uses.get(key, deque())
        while recent and recent[0] <= now - WINDOW_S:
            recent.popleft()
        if not recent:
            self._uses.pop(key, None)
        return recent


# One sorted set per key, scored by the time of each use (ms). Runs atomically in Redis, so two
# web processes taking the last allowed use at once cannot both get it.
# ARGV: now_ms, window_ms, limit, member, mode (0 = check, 1 = take, 2 = record)
_SCRIPT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local mode = tonumber(ARGV[5])
local wait = 0
if mode ~= 2 then
  for _, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local count = redis.call('ZCARD', key)
    if count >= limit then
      local edge = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
      wait = math.max(wait, tonumber(edge[2]) + window - now)
    end
  end
end
if wait == 0 and mode ~= 0 then
  for _, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[4])
    redis.call('PEXPIRE', key, window)
  end
end
return wait
"""

_CHECK, _TAKE, _RECORD = 0, 1, 2


class RedisRateLimiter:
    """Counts in Redis, shared by every process using the same Redis."""

    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._redis.register_script(_SCRIPT)
        self._fallback = LocalRateLimiter()

    async def seconds_until_allowed(self, limit: Limit, keys: Sequence[str]) -> int:
        wait = await self._run(limit, keys, _CHECK)
        return await self._fallback.seconds_until_allowed(limit, keys) if wait is None else wait

    async def take(self, limit: Limit, keys: Sequence[str]) -> int:
        wait = await self._run(limit, keys, _TAKE)
        return await self._fallback.take(limit, keys) if wait is None else wait

    async def record(self, limit: Limit, keys: Sequence[str]) -> None:
        if await self._run(limit, keys, _RECORD) is None:
            await self._fallback.record(limit, keys)

    async def clear(self, limit: Limit, keys: Sequence[str]) -> None:
        await self._fallback.clear(limit, keys)
        try:
            await self._redis.delete(*self._keys(limit, keys))
        except (RedisError, OSError) as error:
            log.warning("rate limits in Redis unavailable; not cleared", error=str(error))

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _keys(self, limit: Limit, keys: Sequence[str]) -> list[str]:
        return [f"{REDIS_PREFIX}{limit.name}:{key}" for key in keys]

    async def _run(self, limit: Limit, keys: Sequence[str], mode: int) -> int | None:
        """The wait in whole seconds, or None when Redis could not be asked."""
        now_ms = int(time.time() * 1000)
        member = f"{now_ms}:{uuid.uuid4().hex}"
        args: list[str | int] = [now_ms, int(WINDOW_S * 1000), limit.per_minute, member, mode]
        try:
            wait_ms = await self._script(keys=self._keys(limit, keys), args=args)
        except (RedisError, OSError) as error:
            log.warning(
                "rate limits in Redis unavailable; counting in this process", error=str(error)
            )
            return None
        return _whole_seconds(int(wait_ms) / 1000)


def create_rate_limiter(redis_url: str) -> RateLimiter:
    """Redis-backed when a Redis URL is configured, else in this process."""
    return RedisRateLimiter(redis_url) if redis_url else LocalRateLimiter()
