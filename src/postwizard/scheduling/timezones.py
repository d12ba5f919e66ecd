"""Time zone names, and conversion between local wall time and UTC instants.

People schedule in wall time ("Mondays at 09:00 in Berlin"); the system stores and compares
UTC instants. Two wall times per year need a rule, and every scheduling function uses this one:

* A wall time that does not exist (the spring-forward gap) moves FORWARD by the length of the
  gap: 02:30 on the spring-forward day in Europe/Berlin becomes 03:30 CEST (01:30 UTC).
* A wall time that happens twice (the fall-back fold) means its FIRST occurrence: 02:30 on the
  fall-back day in Europe/Berlin is 02:30 CEST (00:30 UTC), never 02:30 CET.
"""

from __future__ import annotations

import difflib
import functools
import heapq
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

EXAMPLE_ZONES = "'Europe/Berlin' or 'America/New_York'"


@functools.cache
def _known_zone_names() -> frozenset[str]:
    # Walks the tz database on disk, so it is read once per process.
    return frozenset(available_timezones())


def validate_timezone(name: str) -> ZoneInfo:
    """Return the IANA time zone called `name` (surrounding spaces ignored).

    Raises ValueError for anything that is not a zone in the tz database, suggesting the
    intended name where one is close (wrong case, a typo, a bare city name).
    """
    if not isinstance(name, str):
        raise ValueError(f"time zone must be a name such as {EXAMPLE_ZONES}; got {name!r}")
    candidate = name.strip()
    if not candidate:
        raise ValueError(f"time zone is empty: use an IANA name such as {EXAMPLE_ZONES}")
    known = _known_zone_names()
    if not known:
        raise ValueError(
            "no IANA time zone data is available on this system: install the 'tzdata' package"
        )
    if candidate in known:
        return ZoneInfo(candidate)
    raise ValueError(_unknown_zone_message(candidate, known))


def _unknown_zone_message(candidate: str, known: frozenset[str]) -> str:
    message = f"unknown time zone {candidate!r}"
    suggestions = _suggest_zones(candidate, known)
    if suggestions:
        quoted = " or ".join(repr(suggestion) for suggestion in suggestions)
        return f"{message}: did you mean {quoted}? (names are IANA Area/City, case-sensitive)"
    return f"{message}: use an IANA name in Area/City form such as {EXAMPLE_ZONES}"


def _suggest_zones(candidate: str, known: frozenset[str]) -> list[str]:
    folded = candidate.casefold().replace(" ", "_")
    same_but_case = sorted(zone for zone in known if zone.casefold() == folded)
    if same_but_case:
        return same_but_case
    # "Berlin" or "new york": people often give only the city.
    by_city = sorted(zone for zone in known if zone.rsplit("/", 1)[-1].casefold() == folded)
    if by_city:
        return by_city[:3]
    by_lower = {zone.casefold(): zone for zone in known}
    close = difflib.get_close_matches(folded, sorted(by_lower), n=3, cutoff=0.8)
    return [by_lower[match] for match in close]


def as_utc(instant: datetime, what: str = "instant") -> datetime:
    """Return the aware `instant` expressed in UTC; a naive datetime is a ValueError.

    `what` names the value in the error message (e.g. "after", "start").
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"{what} must be a timezone-aware datetime (UTC); got naive {instant.isoformat()}"
        )
    return instant.astimezone(UTC)


def _require_naive(local: datetime, what: str) -> None:
    if local.tzinfo is not None:
        raise ValueError(
            f"{what} must be a naive local wall time (no tzinfo); got {local.isoformat()}"
        )


def local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """Convert the naive wall time `local` in `tz` to an aware UTC instant.

    DST policy:
    * a wall time inside a spring-forward gap does not exist; it moves forward by the gap
      (02:30 on 2026-03-29 in Europe/Berlin is treated as 03:30 CEST = 01:30 UTC);
    * a wall time inside a fall-back fold happens twice; the first occurrence is used
      (02:30 on 2026-10-25 in Europe/Berlin is 02:30 CEST = 00:30 UTC). `local.fold` is ignored.

    Raises ValueError if `local` carries a tzinfo.
    """
    _require_naive(local, "local")
    # PEP 495: with fold=0 zoneinfo applies the UTC offset in force *before* a transition.
    # In a fold that is the first occurrence; in a gap, the old (smaller) offset places the
    # instant exactly one gap-length later on the wall clock. Both are the policy above.
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def utc_to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    """Return the naive wall time in `tz` at the aware `instant`.

    Inverse of `local_to_utc` for every wall time that exists; raises ValueError if `instant`
    is naive.
    """
    return as_utc(instant).astimezone(tz).replace(tzinfo=None, fold=0)


def wall_time_exists(local: datetime, tz: ZoneInfo) -> bool:
    """Whether the naive wall time `local` is ever shown by clocks in `tz` (False in a gap)."""
    return utc_to_local(local_to_utc(local, tz), tz) == local.replace(fold=0)


def wall_times_to_utc(wall_times: Iterable[datetime], tz: ZoneInfo) -> Iterator[datetime]:
    """Convert non-decreasing naive wall times to strictly increasing UTC instants.

    Each wall time is converted with the DST policy of `local_to_utc`. Moving gap wall times
    forward can make them land on, or after, instants of the wall times that follow the gap
    (02:30 and 03:30 on a spring-forward day are the same instant); the output is sorted and
    each instant is produced once. Works lazily on endless inputs.
    """
    pending: list[datetime] = []
    last_wall: datetime | None = None
    last_emitted: datetime | None = None
    for wall in wall_times:
        if last_wall is not None and wall < last_wall:
            raise ValueError(
                f"wall times must not decrease: {wall.isoformat()} after {last_wall.isoformat()}"
            )
        last_wall = wall
        instant = local_to_utc(wall, tz)
        heapq.heappush(pending, instant)
        if not wall_time_exists(wall, tz):
            # A shifted gap time may be overtaken by the next wall times; hold it back.
            continue
        # An existing wall time's instant is a lower bound for every later wall time's instant
        # (the first occurrence of anything later is later), so everything up to it is final.
        while pending and pending[0] <= instant:
            ready = heapq.heappop(pending)
            if last_emitted is None or ready > last_emitted:
                last_emitted = ready
                yield ready
    while pending:
        ready = heapq.heappop(pending)
        if last_emitted is None or ready > last_emitted:
            last_emitted = ready
            yield ready
