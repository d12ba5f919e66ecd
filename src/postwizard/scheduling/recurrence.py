"""Recurring posts described by an RFC 5545 RRULE, and evergreen recycling.

A rule is expanded in LOCAL wall time from a first occurrence given as a naive wall time, so
"every day at 09:00 in Europe/Berlin" stays at 09:00 local across DST changes; each wall time is
then converted with the DST policy in `timezones` (gap: later by the gap; fold: first).

Rules may be endless (no COUNT or UNTIL); every expansion is bounded by `limit`, and optionally
by `until`, so none runs away.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from postwizard.scheduling.timezones import as_utc, utc_to_local, wall_times_to_utc

MAX_OCCURRENCES = 10_000
MAX_EVERGREEN_DAYS = 3650
EXAMPLE_RULE = "'FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10'"

# Expanding from the first occurrence is unavoidable (COUNT and INTERVAL count from it), so a
# dense rule with an early start could scan for very long before reaching `after`; past this
# many wall times the expansion stops with an error instead (hourly for 50 years is ~440,000).
_MAX_WALL_TIMES_SCANNED = 500_000
# Far enough that a wall time earlier than this before `after` cannot land after it in UTC.
_MARGIN = timedelta(days=2)
# Converting wall times of year 9999 to UTC can overflow datetime in zones behind UTC.
_LAST_EXPANDED_YEAR = 9998

_SUPPORTED_FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BYDAY_ITEM = re.compile(r"(?P<ordinal>[+-]?[0-9]{1,2})?(?P<weekday>[A-Z]{2})")
_UNTIL_VALUE = re.compile(r"(?P<date>[0-9]{8})(?:T(?P<time>[0-9]{6})(?P<utc>Z)?)?")


@dataclass(frozen=True)
class RecurrenceRule:
    """A validated RRULE.

    `text` is the canonical form to store (upper case, no "RRULE:" prefix). At most one of
    `until_utc` (UNTIL given in UTC, "...Z") and `until_local` (UNTIL given as a floating local
    date-time, or as a date meaning through the end of that local day) is set.
    """

    text: str
    frequency: str
    count: int | None = None
    until_utc: datetime | None = None
    until_local: datetime | None = None

    @property
    def is_endless(self) -> bool:
        """True when the rule has neither COUNT nor UNTIL."""
        return self.count is None and self.until_utc is None and self.until_local is None

    def _expansion_text(self) -> str:
        # UNTIL is applied by `occurrences` itself: dateutil cannot compare a UTC UNTIL with
        # naive wall times, and a floating UNTIL is compared against wall times directly.
        return ";".join(part for part in self.text.split(";") if not part.startswith("UNTIL="))


def _positive_integer(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a positive whole number; got {value!r}")
    return int(value)


def _check_integer_list(name: str, value: str, low: int, high: int, *, signed: bool) -> None:
    allowed = f"-{high}..-{low} or {low}..{high}" if signed else f"{low}..{high}"
    for item in value.split(","):
        number = int(item) if _INTEGER.fullmatch(item) else None
        if number is None or not low <= abs(number) <= high or (number < 0 and not signed):
            raise ValueError(f"{name} values must be whole numbers in {allowed}; got {item!r}")


def _int_list_checker(low: int, high: int, *, signed: bool) -> Callable[[str, str], None]:
    def check(name: str, value: str) -> None:
        _check_integer_list(name, value, low, high, signed=signed)

    return check


def _check_frequency(name: str, value: str) -> None:
    if value in ("MINUTELY", "SECONDLY"):
        raise ValueError(f"FREQ={value} is not supported: recurring posts repeat at most hourly")
    if value not in _SUPPORTED_FREQUENCIES:
        raise ValueError(f"FREQ must be one of {', '.join(_SUPPORTED_FREQUENCIES)}; got {value!r}")


def _check_byday(name: str, value: str) -> None:
    for item in value.split(","):
        match = _BYDAY_ITEM.fullmatch(item)
        ordinal = match["ordinal"] if match else None
        if (
            match is None
            or match["weekday"] not in _WEEKDAYS
            or (ordinal is not None and not 1 <= abs(int(ordinal)) <= 53)
        ):
            raise ValueError(
                f"BYDAY values must be weekdays {','.join(_WEEKDAYS)}, optionally with an "
                f"ordinal such as 1MO or -1FR; got {item!r}"
            )


def _check_week_start(name: str, value: str) -> None:
    if value not in _WEEKDAYS:
        raise ValueError(f"WKST must be one of {','.join(_WEEKDAYS)}; got {value!r}")


def _check_count_or_interval(name: str, value: str) -> None:
    _positive_integer(name, value)


def _check_until(name: str, value: str) -> None:
    _parse_until(value)


def _reject_seconds(name: str, value: str) -> None:
    raise ValueError("BYSECOND is not supported: posts are scheduled to the minute")


_PART_CHECKS: dict[str, Callable[[str, str], None]] = {
    "FREQ": _check_frequency,
    "COUNT": _check_count_or_interval,
    "INTERVAL": _check_count_or_interval,
    "UNTIL": _check_until,
    "BYMONTH": _int_list_checker(1, 12, signed=False),
    "BYMONTHDAY": _int_list_checker(1, 31, signed=True),
    "BYYEARDAY": _int_list_checker(1, 366, signed=True),
    "BYWEEKNO": _int_list_checker(1, 53, signed=True),
    "BYDAY": _check_byday,
    "BYHOUR": _int_list_checker(0, 23, signed=False),
    "BYMINUTE": _int_list_checker(0, 59, signed=False),
    "BYSECOND": _reject_seconds,
    "BYSETPOS": _int_list_checker(1, 366, signed=True),
    "WKST": _check_week_start,
}


def _parse_until(value: str) -> tuple[datetime, bool]:
    """UNTIL as (date-time, given in UTC); a bare date means the end of that day."""
    match = _UNTIL_VALUE.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        day = datetime.strptime(match["date"], "%Y%m%d").date()
        if match["time"] is None:
            return datetime.combine(day, time.max), False
        clock = datetime.strptime(match["time"], "%H%M%S").time()
    except ValueError:
        raise ValueError(
            "UNTIL must be a date YYYYMMDD or a date-time YYYYMMDDTHHMMSS, optionally ending "
            f"in Z for UTC; got {value!r}"
        ) from None
    return datetime.combine(day, clock), match["utc"] is not None


def _split_parts(body: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for part in body.split(";"):
        name, separator, value = part.partition("=")
        if not separator or not name:
            raise ValueError(
                f"malformed rule part {part!r}: expected NAME=VALUE, as in {EXAMPLE_RULE}"
            )
        if name not in _PART_CHECKS:
            raise ValueError(
                f"unknown rule part {name!r}: expected parts such as FREQ, COUNT, UNTIL, "
                "INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, BYHOUR, BYMINUTE"
            )
        if name in parts:
            raise ValueError(f"{name} appears more than once")
        if not value:
            raise ValueError(f"{name} has no value")
        _PART_CHECKS[name](name, value)
        parts[name] = value
    return parts


def _dtstart_error() -> ValueError:
    return ValueError(
        "DTSTART is not allowed inside the rule: the first occurrence is given separately, "
        "as a local wall time"
    )


def _check_combinations(parts: dict[str, str]) -> None:
    """The RFC 5545 restrictions on which parts go together."""
    frequency = parts.get("FREQ")
    if frequency is None:
        raise ValueError(f"FREQ is required, as in {EXAMPLE_RULE}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("COUNT and UNTIL cannot both be given: choose one way to end the rule")
    if "BYWEEKNO" in parts and frequency != "YEARLY":
        raise ValueError("BYWEEKNO is only allowed with FREQ=YEARLY")
    if "BYYEARDAY" in parts and frequency in ("MONTHLY", "WEEKLY", "DAILY"):
        raise ValueError(f"BYYEARDAY is not allowed with FREQ={frequency}")
    if "BYMONTHDAY" in parts and frequency == "WEEKLY":
        raise ValueError("BYMONTHDAY is not allowed with FREQ=WEEKLY")
    has_ordinal = any(not item[:1].isalpha() for item in parts.get("BYDAY", "").split(","))
    if "BYDAY" in parts and has_ordinal and frequency not in ("MONTHLY", "YEARLY"):
        raise ValueError(
            "BYDAY with an ordinal (such as 1MO or -1FR) is only allowed with FREQ=MONTHLY or "
            "FREQ=YEARLY"
        )
    if "BYSETPOS" in parts and not any(
        name.startswith("BY") for name in parts if name != "BYSETPOS"
    ):
        raise ValueError("BYSETPOS needs another BY... part (such as BYDAY) to select from")


def parse_rule(rule: str) -> RecurrenceRule:
    """Validate an RRULE string such as "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10".

    A leading "RRULE:" is accepted. Rules without COUNT or UNTIL are allowed (they are endless;
    expansions are bounded by their caller's limit). Raises ValueError naming the problem for
    anything else: DTSTART or other properties, unknown or repeated parts, values out of range,
    COUNT together with UNTIL, FREQ=MINUTELY/SECONDLY and BYSECOND (posts are scheduled to the
    minute and repeat at most hourly), and part combinations RFC 5545 forbids.
    """
    if not isinstance(rule, str):
        raise ValueError(f"recurrence rule must be text such as {EXAMPLE_RULE}; got {rule!r}")
    body = rule.strip().upper()
    if not body:
        raise ValueError(f"recurrence rule is empty; expected something like {EXAMPLE_RULE}")
    if "DTSTART" in body:
        raise _dtstart_error()
    if "\n" in body or "\r" in body:
        raise ValueError("recurrence rule must be a single RRULE line")
    body = body.removeprefix("RRULE:")
    if ":" in body:
        property_name = body.split(":", 1)[0]
        raise ValueError(
            f"unsupported property {property_name!r}: give a single RRULE, such as {EXAMPLE_RULE}"
        )
    parts = _split_parts(body)
    _check_combinations(parts)
    text = ";".join(f"{name}={value}" for name, value in parts.items())
    until_utc = until_local = None
    if "UNTIL" in parts:
        until, in_utc = _parse_until(parts["UNTIL"])
        if in_utc:
            until_utc = until.replace(tzinfo=UTC)
        else:
            until_local = until
    count = int(parts["COUNT"]) if "COUNT" in parts else None
    return RecurrenceRule(text, parts["FREQ"], count, until_utc, until_local)


def _first_local_or_error(first_local: datetime) -> datetime:
    if not isinstance(first_local, datetime):
        raise ValueError(f"first_local must be a datetime; got {first_local!r}")
    if first_local.tzinfo is not None:
        raise ValueError(
            "first_local must be a naive local wall time (no tzinfo); "
            f"got {first_local.isoformat()}"
        )
    return first_local.replace(fold=0)


def _expanded_wall_times(
    parsed: RecurrenceRule, first_local: datetime, skip_before: datetime | None
) -> Iterator[datetime]:
    """The rule's wall times from `first_local`, skipping those before `skip_before`."""

    def cannot_expand(error: ValueError) -> ValueError:
        # Some rules only fail for some starts (FREQ=HOURLY;INTERVAL=24;BYHOUR=3 never reaches
        # 03:00 from 09:00), so dateutil's complaint is only known here.
        return ValueError(
            f"recurrence rule {parsed.text!r} cannot be expanded from "
            f"{first_local.isoformat()}: {error}"
        )

    try:
        expansion = rrulestr(parsed._expansion_text(), dtstart=first_local)
        walls = iter(expansion)
    except ValueError as error:
        raise cannot_expand(error) from None
    for scanned in itertools.count(1):
        try:
            wall = next(walls)
        except StopIteration:
            return
        except ValueError as error:
            raise cannot_expand(error) from None
        if scanned > _MAX_WALL_TIMES_SCANNED:
            raise ValueError(
                f"recurrence rule {parsed.text!r} is too dense to expand this far from its "
                f"first occurrence ({_MAX_WALL_TIMES_SCANNED} wall times scanned)"
            )
        if parsed.until_local is not None and wall > parsed.until_local:
            return
        if wall.year > _LAST_EXPANDED_YEAR:
            return
        if skip_before is not None and wall < skip_before:
            continue
        yield wall


def occurrences(
    rule: str | RecurrenceRule,
    first_local: datetime,
    tz: ZoneInfo,
    *,
    after: datetime | None = None,
    limit: int = 100,
    until: datetime | None = None,
) -> list[datetime]:
    """Expand `rule` from the naive wall time `first_local` in `tz` to UTC instants.

    The rule runs in local wall time (its time of day comes from `first_local`, and
    `first_local` is an occurrence only if it matches the rule, as in dateutil). Each wall time
    is converted with the DST policy (gap: moved forward by the gap; fold: first occurrence);
    the result is strictly increasing, and wall times that a gap moves onto the same instant
    count once. Only instants strictly after `after` and at or before `until` (and the rule's
    own UNTIL) are returned, at most `limit` (0..10000) of them. COUNT counts from
    `first_local`, including occurrences before `after`.

    Raises ValueError for a bad rule, an aware `first_local`, naive `after`/`until`, or a
    limit out of range.
    """
    parsed = rule if isinstance(rule, RecurrenceRule) else parse_rule(rule)
    start = _first_local_or_error(first_local)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_OCCURRENCES:
        raise ValueError(f"limit must be a whole number from 0 to {MAX_OCCURRENCES}; got {limit!r}")
    after_utc = None if after is None else as_utc(after, "after")
    bounds = [as_utc(until, "until")] if until is not None else []
    if parsed.until_utc is not None:
        bounds.append(parsed.until_utc)
    end_utc = min(bounds, default=None)
    if limit == 0:
        return []
    skip_before = None if after_utc is None else utc_to_local(after_utc - _MARGIN, tz)
    found: list[datetime] = []
    for instant in wall_times_to_utc(_expanded_wall_times(parsed, start, skip_before), tz):
        if end_utc is not None and instant > end_utc:
            break
        if after_utc is not None and instant <= after_utc:
            continue
        found.append(instant)
        if len(found) == limit:
            break
    return found


def next_occurrence(
    rule: str | RecurrenceRule, first_local: datetime, tz: ZoneInfo, after: datetime
) -> datetime | None:
    """The first occurrence strictly after `after` (aware), or None when the rule has ended."""
    upcoming = occurrences(rule, first_local, tz, after=after, limit=1)
    return upcoming[0] if upcoming else None


def next_evergreen(published_at: datetime, every_days: int) -> datetime:
    """When an evergreen post published at `published_at` (aware) is due again, in UTC.

    `every_days` (1..3650) counts whole 24-hour days, so the interval is exact regardless of
    DST. Raises ValueError for a naive `published_at` or an out-of-range interval.
    """
    published_utc = as_utc(published_at, "published_at")
    if (
        isinstance(every_days, bool)
        or not isinstance(every_days, int)
        or not 1 <= every_days <= MAX_EVERGREEN_DAYS
    ):
        raise ValueError(
            f"every_days must be a whole number from 1 to {MAX_EVERGREEN_DAYS}; got {every_days!r}"
        )
    return published_utc + timedelta(days=every_days)
