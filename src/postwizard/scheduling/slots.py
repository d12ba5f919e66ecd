"""Weekly posting slots: the times "add to queue" may use, and finding the next free one.

Slots are wall times in the account's time zone ("Mondays 09:30 in Berlin"), so they stay at
the same local time across DST changes; instants follow the policy in `timezones`: a slot in a
spring-forward gap fires one gap-length later, a slot in a fall-back fold fires once (first).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from postwizard.scheduling.timezones import as_utc, utc_to_local, wall_times_to_utc

MINUTES_PER_DAY = 24 * 60
MAX_HORIZON_DAYS = 3660
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Wall times converted to UTC can land up to a day away from their date (offsets, and the
# largest real transition, Samoa skipping 2011-12-30, stay within that); two days of margin
# around a window make sure no slot instant inside it is missed.
_MARGIN = timedelta(days=2)


def _is_whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, order=True)
class PostingSlot:
    """A weekly wall time: `weekday` 0 (Monday) to 6 (Sunday), `minute_of_day` 0 to 1439."""

    weekday: int
    minute_of_day: int

    def __post_init__(self) -> None:
        if not _is_whole_number(self.weekday) or not 0 <= self.weekday <= 6:
            raise ValueError(
                f"weekday must be a whole number from 0 (Monday) to 6 (Sunday); got {self.weekday!r}"
            )
        if not _is_whole_number(self.minute_of_day) or not (
            0 <= self.minute_of_day < MINUTES_PER_DAY
        ):
            raise ValueError(
                "minute_of_day must be a whole number from 0 (00:00) to 1439 (23:59); "
                f"got {self.minute_of_day!r}"
            )

    @property
    def wall_time(self) -> time:
        """The slot's time of day."""
        return time(self.minute_of_day // 60, self.minute_of_day % 60)

    def __str__(self) -> str:
        return f"{WEEKDAY_NAMES[self.weekday]} {self.wall_time:%H:%M}"


def _times_by_weekday(slots: Iterable[PostingSlot]) -> tuple[tuple[time, ...], ...]:
    unique = sorted(set(slots))
    return tuple(
        tuple(slot.wall_time for slot in unique if slot.weekday == weekday) for weekday in range(7)
    )


def _wall_times(
    times_by_weekday: tuple[tuple[time, ...], ...], first_day: date, last_day: date
) -> Iterator[datetime]:
    day = first_day
    while day <= last_day:
        for wall_time in times_by_weekday[day.weekday()]:
            yield datetime.combine(day, wall_time)
        day += timedelta(days=1)


def slot_instants(
    slots: Iterable[PostingSlot], tz: ZoneInfo, start: datetime, end: datetime
) -> Iterator[datetime]:
    """Yield the UTC instants of `slots` in `tz` with start <= instant < end, in order.

    Each instant is produced once, even for duplicate slots, a slot in a fall-back fold, or two
    slots that a spring-forward gap moves onto the same instant. `start` and `end` must be
    timezone-aware (ValueError otherwise).
    """
    start_utc = as_utc(start, "start")
    end_utc = as_utc(end, "end")
    times_by_weekday = _times_by_weekday(slots)
    if end_utc <= start_utc or not any(times_by_weekday):
        return iter(())
    first_day = utc_to_local(start_utc - _MARGIN, tz).date()
    last_day = utc_to_local(end_utc + _MARGIN, tz).date()
    return _instants_within(
        wall_times_to_utc(_wall_times(times_by_weekday, first_day, last_day), tz),
        start_utc,
        end_utc,
    )


def _instants_within(
    instants: Iterator[datetime], start: datetime, end: datetime
) -> Iterator[datetime]:
    for instant in instants:
        if instant >= end:
            return
        if instant >= start:
            yield instant


def next_free_slot(
    slots: Iterable[PostingSlot],
    tz: ZoneInfo,
    after: datetime,
    taken: Collection[datetime],
    horizon_days: int = 366,
) -> datetime | None:
    """Return the first slot instant strictly after `after` that is not in `taken`.

    Instants are compared as UTC instants, so `taken` may hold aware datetimes in any zone.
    Only instants before `after` + `horizon_days` days are considered; None when there are no
    slots or none of them is free in that window. Naive datetimes and a horizon outside
    1..3660 days raise ValueError.
    """
    after_utc = as_utc(after, "after")
    if not _is_whole_number(horizon_days) or not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise ValueError(
            f"horizon_days must be a whole number from 1 to {MAX_HORIZON_DAYS}; got {horizon_days!r}"
        )
    taken_utc = {as_utc(instant, "taken instant") for instant in taken}
    window_end = after_utc + timedelta(days=horizon_days)
    for instant in slot_instants(slots, tz, after_utc, window_end):
        if instant > after_utc and instant not in taken_utc:
            return instant
    return None
