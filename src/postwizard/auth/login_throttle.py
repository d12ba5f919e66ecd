"""Failed-login throttling per email and per client address (sliding one-minute window).

Kept in process memory: enough for the embedded default; the hardening issue moves it to
Redis for several web processes."""

from __future__ import annotations

import math
import time
from collections import deque

WINDOW_S = 60.0


class LoginThrottle:
    def __init__(self, max_failures_per_minute: int) -> None:
        self.max_failures = max_failures_per_minute
        self._failures: dict[str, deque[float]] = {}

    def seconds_until_allowed(self, keys: list[str], now: float | None = None) -> int:
        """0 when a login may be tried, otherwise how long to wait."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        for key in keys:
            recent = self._recent(key, now)
            if len(recent) >= self.max_failures:
                wait = max(wait, recent[0] + WINDOW_S - now)
        return math.ceil(wait)

    def record_failure(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in keys:
            self._recent(key, now).append(now)

    def record_success(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and recent[0] <= now - WINDOW_S:
            recent.popleft()
        return recent
