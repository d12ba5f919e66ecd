"""Best time to post: a weekday-by-hour heatmap from the workspace's own history, smoothed
toward a prior where the history is thin, and the next best slots.

How a cell is scored (docs/analytics.md explains it for people):

1. Each measured post gets a *lift*: log((engagements + 1) / (its account's median + 1)).
   Comparing a post with its own account's usual result lets a big and a small account share
   one heatmap; the log makes one viral post count as "much better", not "a hundred times".
2. Hours pool across weekdays first: hour h's estimate is the mean lift of every post at h,
   shrunk toward the prior's hour shape with `HOUR_PRIOR_POSTS` pseudo-posts.
3. A cell (weekday, hour) is the mean lift of its posts shrunk toward (hour estimate + the
   prior's weekday shape) with `CELL_PRIOR_POSTS` pseudo-posts.
4. The score shown is exp(lift): 1.0 is an ordinary post of the account, 1.5 is 50% better.

With no history every cell is the prior; with a few posts per cell the data leads.

The prior is the common shape of published social-media timing studies (a weekday daytime
audience: low at night, rising from 07:00, highest late morning and lunch, a second bump after
work; weekends somewhat quieter). It only orders times when there is no evidence; it is never
presented as the workspace's own data.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from postwizard.analytics.queries import EngagementSample
from postwizard.scheduling.slots import PostingSlot, slot_instants
from postwizard.scheduling.timezones import utc_to_local

HOURS = 24
WEEKDAYS = 7
HOUR_PRIOR_POSTS = 6.0
CELL_PRIOR_POSTS = 3.0

# Relative audience by local hour (index 0 = 00:00-00:59), and by weekday (0 = Monday).
PRIOR_HOUR_SHAPE = (
    0.45, 0.40, 0.38, 0.38, 0.40, 0.50,  # 00-05: asleep
    0.65, 0.80, 0.95, 1.10, 1.15, 1.18,  # 06-11: commute, morning
    1.20, 1.15, 1.05, 1.00, 1.00, 1.05,  # 12-17: lunch, afternoon
    1.10, 1.05, 0.95, 0.85, 0.70, 0.55,  # 18-23: after work, evening
)  # fmt: skip
PRIOR_WEEKDAY_SHAPE = (1.04, 1.06, 1.06, 1.04, 0.98, 0.90, 0.92)


def _log_normalised(shape: Sequence[float]) -> list[float]:
    """log of the shape, centred so its mean is 0 (the prior says "relative", not "how much")."""
    logs = [math.log(v) for v in shape]
    mean = sum(logs) / len(logs)
    return [v - mean for v in logs]


PRIOR_HOUR_LIFT = _log_normalised(PRIOR_HOUR_SHAPE)
PRIOR_WEEKDAY_LIFT = _log_normalised(PRIOR_WEEKDAY_SHAPE)


@dataclass(frozen=True)
class Cell:
    weekday: int
    hour: int
    posts: int
    observed: float | None  # exp(mean lift) of the cell's own posts; None without posts
    score: float  # smoothed: what the heatmap shows and slots are ranked by


@dataclass(frozen=True)
class Heatmap:
    timezone: str
    posts_used: int
    cells: list[Cell]  # weekday-major: cells[weekday * 24 + hour]

    def cell(self, weekday: int, hour: int) -> Cell:
        return self.cells[weekday * HOURS + hour]

    def ranked(self) -> list[Cell]:
        """Best first; ties go to the earlier time of the week."""
        return sorted(self.cells, key=lambda c: (-c.score, c.weekday, c.hour))

    def best_slots(self, count: int) -> list[PostingSlot]:
        """The `count` best weekly hours as posting slots (on the hour)."""
        return [PostingSlot(c.weekday, c.hour * 60) for c in self.ranked()[:count]]


def lifts(samples: Iterable[EngagementSample]) -> list[tuple[datetime, float]]:
    """(published_at, lift) per sample, each against its account's median engagements."""
    by_account: dict[uuid.UUID, list[EngagementSample]] = defaultdict(list)
    for sample in samples:
        by_account[sample.account_id].append(sample)
    result = []
    for account_samples in by_account.values():
        median = statistics.median(s.engagements for s in account_samples)
        for sample in account_samples:
            result.append((sample.published_at, math.log((sample.engagements + 1) / (median + 1))))
    return result


def heatmap(samples: Iterable[EngagementSample], zone_name: str, zone: ZoneInfo) -> Heatmap:
    """The smoothed weekday-by-hour heatmap of `samples` in local time of `zone`."""
    cell_lifts: dict[tuple[int, int], list[float]] = defaultdict(list)
    hour_lifts: dict[int, list[float]] = defaultdict(list)
    used = 0
    for published_at, lift in lifts(samples):
        local = utc_to_local(published_at, zone)
        cell_lifts[(local.weekday(), local.hour)].append(lift)
        hour_lifts[local.hour].append(lift)
        used += 1
    hour_estimate = [
        _shrunk(hour_lifts[hour], PRIOR_HOUR_LIFT[hour], HOUR_PRIOR_POSTS) for hour in range(HOURS)
    ]
    cells = []
    for weekday in range(WEEKDAYS):
        for hour in range(HOURS):
            own = cell_lifts.get((weekday, hour), [])
            prior = hour_estimate[hour] + PRIOR_WEEKDAY_LIFT[weekday]
            cells.append(
                Cell(
                    weekday=weekday,
                    hour=hour,
                    posts=len(own),
                    observed=math.exp(sum(own) / len(own)) if own else None,
                    score=math.exp(_shrunk(own, prior, CELL_PRIOR_POSTS)),
                )
            )
    return Heatmap(timezone=zone_name, posts_used=used, cells=cells)


def _shrunk(values: Sequence[float], prior: float, prior_weight: float) -> float:
    """The mean of `values` with `prior_weight` pseudo-observations at `prior` added."""
    return (sum(values) + prior_weight * prior) / (len(values) + prior_weight)


@dataclass(frozen=True)
class SlotSuggestion:
    at: datetime  # UTC instant of the slot's next occurrence
    weekday: int
    hour: int
    score: float


def next_best_slots(
    map_: Heatmap, zone: ZoneInfo, now: datetime, count: int, within: timedelta
) -> list[SlotSuggestion]:
    """The best `count` hours that come up after `now` within `within`, best first."""
    end = now + within
    suggestions = []
    for cell in map_.ranked():
        slot = PostingSlot(cell.weekday, cell.hour * 60)
        upcoming = next(
            (at for at in slot_instants([slot], zone, now, end) if at > now),
            None,
        )
        if upcoming is not None:
            suggestions.append(SlotSuggestion(upcoming, cell.weekday, cell.hour, cell.score))
        if len(suggestions) == count:
            break
    return suggestions
