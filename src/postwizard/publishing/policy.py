"""When to try again: exponential backoff with full jitter, bounded, and the give-up horizon."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 5.0
    max_seconds: float = 15 * 60.0
    # After this long past its due time a delivery stops retrying and fails with the last reason.
    give_up_after: timedelta = timedelta(hours=24)
    # After an outage, a delivery more than this late is not published but marked missed.
    missed_cutoff: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=2)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1): a uniform
        draw in [base, min(max, base * 2**(attempt-1))] — "full jitter" keeps retries of many
        deliveries from arriving together, the floor keeps them from hammering."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        return (rng or random).uniform(self.base_seconds, max(self.base_seconds, ceiling))

    def next_attempt_after_error(
        self,
        now: datetime,
        attempt: int,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> datetime:
        """A network's Retry-After wins over our own backoff when it asks for longer."""
        wait = self.backoff(attempt, rng)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return now + timedelta(seconds=wait)

    def gives_up(self, due_at: datetime, next_attempt_at: datetime) -> bool:
        return next_attempt_at - due_at > self.give_up_after

    def is_missed(self, due_at: datetime, now: datetime) -> bool:
        return now - due_at > self.missed_cutoff
