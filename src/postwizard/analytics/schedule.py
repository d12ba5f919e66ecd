"""The collection schedule: when a published post is measured, counted from its publishing.

Fresh posts change fast and old ones hardly at all, so the steps decay: by default 2 min,
10 min, 30 min, 1 h, 3 h, 12 h, then once a day until 30 days after publishing. Written as
a setting: `"2m, 10m, 30m, 1h, 3h, 12h, every 1d until 30d"`."""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_SCHEDULE = "2m, 10m, 30m, 1h, 3h, 12h, every 1d until 30d"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_EVERY = re.compile(r"^every\s+(\S+)\s+until\s+(\S+)$")
# A schedule longer than this many steps is a typo (e.g. "every 1m until 30d").
MAX_STEPS = 1000


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 3h or 1d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class CollectionSchedule:
    """Offsets after publishing, strictly increasing; step `i` is due at `anchor + offsets[i]`."""

    offsets: tuple[timedelta, ...]

    @classmethod
    def parse(cls, text: str) -> CollectionSchedule:
        offsets: list[timedelta] = []
        for raw in (part.strip() for part in text.split(",")):
            if not raw:
                continue
            every = _EVERY.match(raw.lower())
            if every is None:
                offsets.append(parse_duration(raw))
                continue
            interval, until = parse_duration(every.group(1)), parse_duration(every.group(2))
            if interval <= timedelta(0):
                raise ValueError(f"{raw!r}: the interval must be longer than 0")
            # Multiples of the interval since publishing ("daily" = day 1, 2, ...), after the
            # last fixed step.
            last = offsets[-1] if offsets else timedelta(0)
            moment = (last // interval + 1) * interval
            while moment <= until and len(offsets) <= MAX_STEPS:
                offsets.append(moment)
                moment += interval
        if not offsets:
            raise ValueError("the schedule needs at least one step, e.g. 2m, 1h, 1d")
        if any(later <= earlier for earlier, later in itertools.pairwise(offsets)):
            raise ValueError("the steps must grow: each one later than the one before")
        if len(offsets) > MAX_STEPS:
            raise ValueError(f"the schedule has more than {MAX_STEPS} steps")
        return cls(tuple(offsets))

    def due_at(self, anchor: datetime, step: int) -> datetime | None:
        """When step `step` is due, None after the last one."""
        return anchor + self.offsets[step] if step < len(self.offsets) else None

    def next_step(self, anchor: datetime, now: datetime) -> int | None:
        """The first step still ahead at `now` (steps missed during an outage are skipped, not
        collected one after another), or None when the schedule has ended."""
        index = bisect.bisect_right(self.offsets, now - anchor)  # first step with offset > age
        return index if index < len(self.offsets) else None
