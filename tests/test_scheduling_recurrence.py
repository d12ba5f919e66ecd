"""Recurring posts by RRULE, expanded in local wall time, and evergreen recycling."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from postwizard.scheduling import recurrence
from postwizard.scheduling.recurrence import (
    RecurrenceRule,
    next_evergreen,
    next_occurrence,
    occurrences,
    parse_rule,
)
from postwizard.scheduling.timezones import local_to_utc, utc_to_local, wall_time_exists
from tests.test_scheduling_timezones import ZONE_NAMES, transitions

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

PROPERTY_SETTINGS = settings(max_examples=150, deadline=timedelta(seconds=2), database=None)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- parse_rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "canonical"),
    [
        ("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"),
        ("  rrule:freq=daily;interval=2 ", "FREQ=DAILY;INTERVAL=2"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"),
        ("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        ),
        ("FREQ=DAILY;BYHOUR=9,17;BYMINUTE=30", "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=30"),
        (
            "FREQ=WEEKLY;WKST=SU;UNTIL=20261231T235959Z",
            "FREQ=WEEKLY;WKST=SU;UNTIL=20261231T235959Z",
        ),
    ],
)
def test_parse_rule_accepts_rrules(rule: str, canonical: str) -> None:
    assert parse_rule(rule).text == canonical


def test_parse_rule_reports_how_the_rule_ends() -> None:
    counted = parse_rule("FREQ=DAILY;COUNT=3")
    assert (counted.frequency, counted.count, counted.is_endless) == ("DAILY", 3, False)
    assert parse_rule("FREQ=DAILY;UNTIL=20260401T120000Z").until_utc == utc(2026, 4, 1, 12)
    assert parse_rule("FREQ=DAILY;UNTIL=20260401T120000").until_local == datetime(2026, 4, 1, 12)
    end_of_day = parse_rule("FREQ=DAILY;UNTIL=20260401").until_local
    assert end_of_day == datetime.combine(datetime(2026, 4, 1).date(), time.max)
    assert parse_rule("FREQ=WEEKLY").is_endless


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("", "recurrence rule is empty"),
        ("FREQ=DAILY;DTSTART=20260101T090000", "DTSTART is not allowed inside the rule"),
        ("DTSTART:20260101T090000\nRRULE:FREQ=DAILY", "DTSTART is not allowed inside the rule"),
        ("FREQ=DAILY\nFREQ=WEEKLY", "single RRULE line"),
        ("EXDATE:20260101T090000", "unsupported property 'EXDATE'"),
        ("BYDAY=MO", "FREQ is required"),
        (
            "FREQ=FORTNIGHTLY",
            "FREQ must be one of YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY; got 'FORTNIGHTLY'",
        ),
        ("FREQ=MINUTELY", "FREQ=MINUTELY is not supported"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be a positive whole number; got '0'"),
        ("FREQ=DAILY;COUNT=ten", "COUNT must be a positive whole number; got 'TEN'"),
        ("FREQ=DAILY;INTERVAL=-2", "INTERVAL must be a positive whole number"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20260101", "COUNT and UNTIL cannot both be given"),
        ("FREQ=DAILY;UNTIL=2026-01-01", "UNTIL must be a date YYYYMMDD"),
        ("FREQ=DAILY;UNTIL=20260231", "UNTIL must be a date YYYYMMDD .* got '20260231'"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ appears more than once"),
        ("FREQ=DAILY;COLOR=RED", "unknown rule part 'COLOR'"),
        ("FREQ=DAILY;;COUNT=2", "malformed rule part ''"),
        ("FREQ=DAILY;COUNT", "malformed rule part 'COUNT': expected NAME=VALUE"),
        ("FREQ=DAILY;COUNT=", "COUNT has no value"),
        ("FREQ=WEEKLY;BYDAY=MX", "BYDAY values must be weekdays .* got 'MX'"),
        ("FREQ=MONTHLY;BYDAY=0MO", "BYDAY values .* got '0MO'"),
        ("FREQ=WEEKLY;BYDAY=1MO", "BYDAY with an ordinal .* only allowed with FREQ=MONTHLY"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH values must be whole numbers in 1..12; got '13'"),
        (
            "FREQ=MONTHLY;BYMONTHDAY=32",
            "BYMONTHDAY values must be whole numbers in -31..-1 or 1..31",
        ),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR values must be whole numbers in 0..23; got '24'"),
        ("FREQ=DAILY;BYMINUTE=60", "BYMINUTE values .* got '60'"),
        ("FREQ=DAILY;BYSECOND=0", "BYSECOND is not supported"),
        ("FREQ=MONTHLY;BYWEEKNO=1", "BYWEEKNO is only allowed with FREQ=YEARLY"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY is not allowed with FREQ=WEEKLY"),
        ("FREQ=DAILY;BYYEARDAY=1", "BYYEARDAY is not allowed with FREQ=DAILY"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS needs another BY"),
        ("FREQ=WEEKLY;WKST=XX", "WKST must be one of"),
    ],
)
def test_parse_rule_names_what_is_wrong(rule: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rule(rule)


# --- occurrences, concrete --------------------------------------------------------------------


def test_weekly_rule_keeps_local_time_across_the_spring_forward() -> None:
    # Monday 2026-03-23 09:00 in Berlin; the clocks change on Sunday 2026-03-29.
    found = occurrences("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", datetime(2026, 3, 23, 9), BERLIN)
    assert found[:4] == [
        utc(2026, 3, 23, 8),
        utc(2026, 3, 25, 8),
        utc(2026, 3, 30, 7),
        utc(2026, 4, 1, 7),
    ]
    assert len(found) == 10
    assert {utc_to_local(instant, BERLIN).time() for instant in found} == {time(9)}


def test_daily_rule_in_the_gap_moves_forward_once() -> None:
    found = occurrences("FREQ=DAILY;COUNT=3", datetime(2026, 3, 28, 2, 30), BERLIN)
    assert [utc_to_local(instant, BERLIN) for instant in found] == [
        datetime(2026, 3, 28, 2, 30),
        datetime(2026, 3, 29, 3, 30),  # 02:30 does not exist that day
        datetime(2026, 3, 30, 2, 30),
    ]


def test_daily_rule_in_the_fold_fires_once_at_the_first_occurrence() -> None:
    found = occurrences("FREQ=DAILY;COUNT=3", datetime(2026, 10, 24, 2, 30), BERLIN)
    assert found == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_hourly_rule_through_the_gap_counts_colliding_hours_once() -> None:
    found = occurrences("FREQ=HOURLY;BYMINUTE=0,30;COUNT=8", datetime(2026, 3, 29, 1, 0), BERLIN)
    # Wall times 01:00 .. 04:30; 02:00 and 02:30 are the instants of 03:00 and 03:30.
    assert found == [utc(2026, 3, 29, 0, 0) + timedelta(minutes=30 * n) for n in range(6)]


def test_new_york_monthly_rule_on_the_second_sunday() -> None:
    # DST starts on the second Sunday of March at 02:00.
    found = occurrences(
        "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU;COUNT=2", datetime(2026, 3, 8, 2, 30), NEW_YORK
    )
    assert found == [utc(2026, 3, 8, 7, 30), utc(2027, 3, 14, 7, 30)]


def test_monthly_on_the_31st_skips_short_months() -> None:
    found = occurrences("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", datetime(2026, 1, 31, 12), BERLIN)
    assert [instant.date() for instant in found] == [
        datetime(2026, 1, 31).date(),
        datetime(2026, 3, 31).date(),
        datetime(2026, 5, 31).date(),
    ]


def test_endless_rules_are_bounded_by_limit_and_until() -> None:
    first = datetime(2026, 1, 1, 9)
    assert len(occurrences("FREQ=DAILY", first, BERLIN)) == 100
    assert len(occurrences("FREQ=DAILY", first, BERLIN, limit=7)) == 7
    assert occurrences("FREQ=DAILY", first, BERLIN, limit=0) == []
    until_third = occurrences("FREQ=DAILY", first, BERLIN, until=utc(2026, 1, 3, 8))
    assert until_third == [utc(2026, 1, 1, 8), utc(2026, 1, 2, 8), utc(2026, 1, 3, 8)]


@pytest.mark.parametrize(
    ("rule", "last"),
    [
        ("FREQ=DAILY;UNTIL=20260103T080000Z", utc(2026, 1, 3, 8)),  # inclusive, in UTC
        ("FREQ=DAILY;UNTIL=20260103T075959Z", utc(2026, 1, 2, 8)),
        ("FREQ=DAILY;UNTIL=20260103T090000", utc(2026, 1, 3, 8)),  # floating: Berlin wall time
        ("FREQ=DAILY;UNTIL=20260103", utc(2026, 1, 3, 8)),  # a date: through that day
    ],
)
def test_until_in_the_rule(rule: str, last: datetime) -> None:
    found = occurrences(rule, datetime(2026, 1, 1, 9), BERLIN)
    assert found[0] == utc(2026, 1, 1, 8)
    assert found[-1] == last


def test_after_is_exclusive_and_count_starts_at_the_first_occurrence() -> None:
    rule = "FREQ=DAILY;COUNT=5"
    first = datetime(2026, 1, 1, 9)
    assert occurrences(rule, first, BERLIN, after=utc(2026, 1, 3, 8)) == [
        utc(2026, 1, 4, 8),
        utc(2026, 1, 5, 8),
    ]
    assert next_occurrence(rule, first, BERLIN, after=utc(2026, 1, 3, 8)) == utc(2026, 1, 4, 8)
    assert next_occurrence(rule, first, BERLIN, after=utc(2026, 1, 5, 8)) is None


def test_next_occurrence_of_an_endless_rule_far_ahead() -> None:
    found = next_occurrence(
        "FREQ=WEEKLY;BYDAY=MO", datetime(2020, 1, 6, 9), BERLIN, after=utc(2035, 6, 1)
    )
    assert found == utc(2035, 6, 4, 7)  # Monday 09:00 CEST


def test_occurrences_accept_a_parsed_rule() -> None:
    parsed = parse_rule("FREQ=DAILY;COUNT=2")
    assert isinstance(parsed, RecurrenceRule)
    assert occurrences(parsed, datetime(2026, 1, 1, 9), BERLIN) == [
        utc(2026, 1, 1, 8),
        utc(2026, 1, 2, 8),
    ]


def test_a_rule_that_never_matches_from_its_start_is_explained() -> None:
    with pytest.raises(ValueError, match=r"cannot be expanded from 2026-01-01T09:00.*empty set"):
        occurrences("FREQ=HOURLY;INTERVAL=24;BYHOUR=3", datetime(2026, 1, 1, 9), BERLIN)


def test_a_rule_too_dense_to_reach_after_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recurrence, "_MAX_WALL_TIMES_SCANNED", 50)
    with pytest.raises(ValueError, match="too dense to expand this far"):
        next_occurrence("FREQ=HOURLY", datetime(2026, 1, 1), BERLIN, after=utc(2026, 2, 1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first_local": utc(2026, 1, 1)}, "first_local must be a naive local wall time"),
        ({"after": datetime(2026, 1, 1)}, "after must be a timezone-aware datetime"),
        ({"until": datetime(2026, 1, 1)}, "until must be a timezone-aware datetime"),
        ({"limit": -1}, "limit must be a whole number from 0 to 10000; got -1"),
        ({"limit": 10_001}, "limit .* got 10001"),
        ({"rule": "FREQ=DAILY;DTSTART=20260101"}, "DTSTART is not allowed"),
    ],
)
def test_occurrences_reject_bad_input(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"rule": "FREQ=DAILY", "first_local": datetime(2026, 1, 1, 9)}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        occurrences(tz=BERLIN, **arguments)  # type: ignore[arg-type]


# --- occurrences, properties ------------------------------------------------------------------


@st.composite
def starts_before_a_dst_change(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    """A wall time up to a week before a real DST change, at any minute of the day."""
    zone_name = draw(st.sampled_from([z for z in ZONE_NAMES if transitions(z, 2026)]))
    change = draw(st.sampled_from(transitions(zone_name, draw(st.integers(2020, 2035)))))
    tz = ZoneInfo(zone_name)
    change_day = utc_to_local(change, tz).date()
    day = change_day - timedelta(days=draw(st.integers(0, 7)))
    minute = draw(st.integers(0, 1439))
    return tz, datetime.combine(day, time(minute // 60, minute % 60))


@PROPERTY_SETTINGS
@given(zone_and_first=starts_before_a_dst_change(), count=st.integers(1, 15))
def test_daily_rule_keeps_its_wall_time_across_dst(
    zone_and_first: tuple[ZoneInfo, datetime], count: int
) -> None:
    tz, first = zone_and_first
    found = occurrences(f"FREQ=DAILY;COUNT={count}", first, tz)
    assert len(found) == count
    assert all(instant.tzinfo is UTC for instant in found)
    assert all(a < b for a, b in itertools.pairwise(found))
    for day_number, instant in enumerate(found):
        planned = first + timedelta(days=day_number)
        shown = utc_to_local(instant, tz)
        if wall_time_exists(planned, tz):
            assert shown == planned
        else:
            assert shown - planned == gap_length(planned, tz)


def gap_length(wall: datetime, tz: ZoneInfo) -> timedelta:
    """How far clocks jump at the gap containing `wall` (fold=1 uses the offset after it)."""
    before = wall.replace(tzinfo=tz, fold=0).utcoffset()
    after = wall.replace(tzinfo=tz, fold=1).utcoffset()
    assert before is not None
    assert after is not None
    return after - before


RULES = (
    "FREQ=DAILY;COUNT=40",
    "FREQ=WEEKLY;BYDAY=MO,WE,SA;COUNT=30",
    "FREQ=HOURLY;INTERVAL=5;COUNT=60",
    "FREQ=HOURLY;BYMINUTE=0,20,40;COUNT=150",
    "FREQ=MONTHLY;BYDAY=-1SU;COUNT=12",
    "FREQ=DAILY;INTERVAL=3;BYHOUR=1,2,3;COUNT=45",
)


@PROPERTY_SETTINGS
@given(
    rule=st.sampled_from(RULES),
    zone_and_first=starts_before_a_dst_change(),
    after_hours=st.integers(-48, 24 * 40),
    until_hours=st.integers(0, 24 * 60),
    limit=st.integers(0, 30),
)
def test_occurrences_are_the_converted_local_expansion_filtered(
    rule: str,
    zone_and_first: tuple[ZoneInfo, datetime],
    after_hours: int,
    until_hours: int,
    limit: int,
) -> None:
    tz, first = zone_and_first
    # The oracle: dateutil's local expansion, each converted by the DST policy, deduplicated.
    expected = sorted({local_to_utc(wall, tz) for wall in rrulestr(rule, dtstart=first)})
    full = occurrences(rule, first, tz, limit=1000)
    assert full == expected
    assert len(full) <= int(rule.rsplit("COUNT=", 1)[1])
    assert all(a < b for a, b in itertools.pairwise(full))

    first_utc = local_to_utc(first, tz)
    after = first_utc + timedelta(hours=after_hours)
    until = first_utc + timedelta(hours=until_hours)
    window = occurrences(rule, first, tz, after=after, until=until, limit=limit)
    assert window == [instant for instant in full if after < instant <= until][:limit]
    assert next_occurrence(rule, first, tz, after) == next(
        (instant for instant in full if instant > after), None
    )


# --- evergreen --------------------------------------------------------------------------------


def test_next_evergreen_adds_whole_days() -> None:
    published = utc(2026, 3, 28, 8)
    assert next_evergreen(published, 1) == utc(2026, 3, 29, 8)  # 24 hours, DST or not
    assert next_evergreen(published, 30) == utc(2026, 4, 27, 8)
    in_berlin = datetime(2026, 3, 28, 9, tzinfo=BERLIN)
    assert next_evergreen(in_berlin, 3650) == utc(2036, 3, 25, 8)
    assert next_evergreen(in_berlin, 1).tzinfo is UTC


@pytest.mark.parametrize(
    ("published_at", "every_days", "message"),
    [
        (utc(2026, 1, 1), 0, "every_days must be a whole number from 1 to 3650; got 0"),
        (utc(2026, 1, 1), 3651, "every_days .* got 3651"),
        (utc(2026, 1, 1), True, "every_days .* got True"),
        (datetime(2026, 1, 1), 7, "published_at must be a timezone-aware datetime"),
    ],
)
def test_next_evergreen_rejects_bad_input(
    published_at: datetime, every_days: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        next_evergreen(published_at, every_days)
