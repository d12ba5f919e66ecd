"""Time zone validation and the DST policy of wall time <-> UTC conversion."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postwizard.scheduling.timezones import (
    as_utc,
    local_to_utc,
    utc_to_local,
    validate_timezone,
    wall_time_exists,
    wall_times_to_utc,
)

ZONE_NAMES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "UTC",
)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
CHATHAM = ZoneInfo("Pacific/Chatham")

PROPERTY_SETTINGS = settings(max_examples=200, deadline=timedelta(seconds=2), database=None)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- an oracle built only from UTC -> local conversion, which is never ambiguous ------------


def instants_showing(wall: datetime, tz: ZoneInfo) -> list[datetime]:
    """Every UTC instant at which clocks in `tz` show `wall` (0 in a gap, 2 in a fold)."""
    offsets = {wall.replace(tzinfo=tz, fold=fold).utcoffset() for fold in (0, 1)}
    candidates = {(wall - offset).replace(tzinfo=UTC) for offset in offsets if offset is not None}
    return sorted(c for c in candidates if c.astimezone(tz).replace(tzinfo=None) == wall)


@functools.cache
def transitions(zone_name: str, year: int) -> tuple[datetime, ...]:
    """UTC instants in `year` at which the zone's UTC offset changes (to the second)."""
    tz = ZoneInfo(zone_name)
    found = []
    day = utc(year, 1, 1)
    while day.year == year:
        low, high = day, day + timedelta(days=1)
        if low.astimezone(tz).utcoffset() != high.astimezone(tz).utcoffset():
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        day += timedelta(days=1)
    return tuple(found)


wall_times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31, 23, 59))


@st.composite
def walls_near_transitions(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    """A wall time within three hours of a real DST change, where the interesting cases are."""
    zone_name = draw(st.sampled_from([z for z in ZONE_NAMES if transitions(z, 2026)]))
    year = draw(st.integers(2020, 2035))
    changes = transitions(zone_name, year)
    tz = ZoneInfo(zone_name)
    change = draw(st.sampled_from(changes))
    wall_before_change = utc_to_local(change - timedelta(seconds=1), tz) + timedelta(seconds=1)
    shift = timedelta(minutes=draw(st.integers(-180, 180)))
    return tz, wall_before_change + shift


def assert_policy(wall: datetime, tz: ZoneInfo) -> None:
    instant = local_to_utc(wall, tz)
    assert instant.tzinfo is UTC
    back = utc_to_local(instant, tz)
    showing = instants_showing(wall, tz)
    if showing:
        # Exists (once or twice): the round trip is exact, and a fold means the first instant.
        assert back == wall
        assert instant == showing[0]
        assert wall_time_exists(wall, tz)
    else:
        # A gap: the wall time moves forward by exactly the gap's length.
        offsets = [wall.replace(tzinfo=tz, fold=fold).utcoffset() for fold in (0, 1)]
        assert offsets[0] is not None
        assert offsets[1] is not None
        gap = offsets[1] - offsets[0]
        assert gap > timedelta(0)
        assert back - wall == gap
        assert instants_showing(back, tz) == [instant]
        assert not wall_time_exists(wall, tz)


@PROPERTY_SETTINGS
@given(zone_name=st.sampled_from(ZONE_NAMES), wall=wall_times)
def test_round_trip_is_exact_except_in_gaps(zone_name: str, wall: datetime) -> None:
    assert_policy(wall, ZoneInfo(zone_name))


@PROPERTY_SETTINGS
@given(zone_and_wall=walls_near_transitions())
def test_round_trip_near_dst_changes(zone_and_wall: tuple[ZoneInfo, datetime]) -> None:
    tz, wall = zone_and_wall
    assert_policy(wall, tz)


def test_transition_oracle_sees_the_dst_changes() -> None:
    # Guards the property tests above against vacuously testing zones without DST.
    assert transitions("Europe/Berlin", 2026) == (utc(2026, 3, 29, 1), utc(2026, 10, 25, 1))
    assert transitions("Asia/Kolkata", 2026) == ()
    assert len(transitions("Pacific/Chatham", 2026)) == 2


# --- concrete DST examples ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "wall", "expected_utc", "expected_wall_back"),
    [
        # Gaps move forward by the gap.
        (
            BERLIN,
            datetime(2026, 3, 29, 2, 30),
            utc(2026, 3, 29, 1, 30),
            datetime(2026, 3, 29, 3, 30),
        ),
        (BERLIN, datetime(2026, 3, 29, 2, 0), utc(2026, 3, 29, 1, 0), datetime(2026, 3, 29, 3, 0)),
        (
            NEW_YORK,
            datetime(2026, 3, 8, 2, 30),
            utc(2026, 3, 8, 7, 30),
            datetime(2026, 3, 8, 3, 30),
        ),
        (
            SYDNEY,
            datetime(2026, 10, 4, 2, 15),
            utc(2026, 10, 3, 16, 15),
            datetime(2026, 10, 4, 3, 15),
        ),
        # Chatham springs forward from 02:45 to 03:45 (+12:45 -> +13:45).
        (
            CHATHAM,
            datetime(2026, 9, 27, 3, 0),
            utc(2026, 9, 26, 14, 15),
            datetime(2026, 9, 27, 4, 0),
        ),
        # Folds take the first occurrence (still summer time).
        (
            BERLIN,
            datetime(2026, 10, 25, 2, 30),
            utc(2026, 10, 25, 0, 30),
            datetime(2026, 10, 25, 2, 30),
        ),
        (
            NEW_YORK,
            datetime(2026, 11, 1, 1, 30),
            utc(2026, 11, 1, 5, 30),
            datetime(2026, 11, 1, 1, 30),
        ),
        (SYDNEY, datetime(2026, 4, 5, 2, 30), utc(2026, 4, 4, 15, 30), datetime(2026, 4, 5, 2, 30)),
        # Ordinary times either side.
        (
            BERLIN,
            datetime(2026, 3, 29, 1, 59),
            utc(2026, 3, 29, 0, 59),
            datetime(2026, 3, 29, 1, 59),
        ),
        (
            BERLIN,
            datetime(2026, 10, 25, 3, 0),
            utc(2026, 10, 25, 2, 0),
            datetime(2026, 10, 25, 3, 0),
        ),
    ],
)
def test_dst_policy_examples(
    tz: ZoneInfo, wall: datetime, expected_utc: datetime, expected_wall_back: datetime
) -> None:
    instant = local_to_utc(wall, tz)
    assert instant == expected_utc
    assert instant.tzinfo is UTC
    assert utc_to_local(instant, tz) == expected_wall_back


def test_fold_attribute_of_the_input_is_ignored() -> None:
    second = datetime(2026, 10, 25, 2, 30, fold=1)
    assert local_to_utc(second, BERLIN) == utc(2026, 10, 25, 0, 30)


def test_utc_to_local_accepts_any_aware_instant_and_returns_naive_wall_time() -> None:
    in_new_york = datetime(2026, 7, 1, 8, 0, tzinfo=NEW_YORK)  # 12:00 UTC
    wall = utc_to_local(in_new_york, BERLIN)
    assert wall == datetime(2026, 7, 1, 14, 0)
    assert wall.tzinfo is None


def test_wall_time_exists() -> None:
    assert not wall_time_exists(datetime(2026, 3, 29, 2, 30), BERLIN)
    assert wall_time_exists(datetime(2026, 10, 25, 2, 30), BERLIN)
    assert wall_time_exists(datetime(2026, 3, 29, 3, 0), BERLIN)


# --- ordering of many wall times ----------------------------------------------------------


def test_wall_times_to_utc_sorts_and_merges_gap_collisions() -> None:
    walls = [datetime(2026, 3, 29, hour, minute) for hour in (1, 2, 3, 4) for minute in (0, 30)]
    # 02:00 and 02:30 move onto the instants of 03:00 and 03:30.
    assert list(wall_times_to_utc(walls, BERLIN)) == [
        utc(2026, 3, 29, 0, 0),
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 29, 1, 30),
        utc(2026, 3, 29, 2, 0),
        utc(2026, 3, 29, 2, 30),
    ]


def test_wall_times_to_utc_puts_a_shifted_gap_time_after_what_it_overtakes() -> None:
    walls = [datetime(2026, 3, 29, 2, 45), datetime(2026, 3, 29, 3, 15)]
    # 02:45 -> 03:45 CEST, which comes after 03:15 CEST.
    assert list(wall_times_to_utc(walls, BERLIN)) == [
        utc(2026, 3, 29, 1, 15),
        utc(2026, 3, 29, 1, 45),
    ]


def test_wall_times_to_utc_rejects_decreasing_input() -> None:
    walls = [datetime(2026, 1, 2), datetime(2026, 1, 1)]
    with pytest.raises(ValueError, match="must not decrease"):
        list(wall_times_to_utc(walls, BERLIN))


@PROPERTY_SETTINGS
@given(
    zone_and_wall=walls_near_transitions(),
    steps=st.lists(st.integers(0, 90), min_size=1, max_size=12),
)
def test_wall_times_to_utc_output_is_strictly_increasing_and_complete(
    zone_and_wall: tuple[ZoneInfo, datetime], steps: list[int]
) -> None:
    tz, first = zone_and_wall
    walls = [first]
    for step in steps:
        walls.append(walls[-1] + timedelta(minutes=step))
    result = list(wall_times_to_utc(walls, tz))
    assert result == sorted({local_to_utc(wall, tz) for wall in walls})


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ZONE_NAMES)
def test_validate_timezone_accepts_iana_names(name: str) -> None:
    assert validate_timezone(name) == ZoneInfo(name)


def test_validate_timezone_ignores_surrounding_spaces() -> None:
    assert validate_timezone("  Europe/Berlin ").key == "Europe/Berlin"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("europe/berlin", "did you mean 'Europe/Berlin'"),
        ("Berlin", "did you mean 'Europe/Berlin'"),
        ("new york", "did you mean 'America/New_York'"),
        ("Europe/Berln", "'Europe/Berlin'"),
        ("PST", r"unknown time zone 'PST': use an IANA name .*'Europe/Berlin'"),
        ("+02:00", "unknown time zone '\\+02:00'"),
        ("../../etc/passwd", "unknown time zone"),
        ("", "time zone is empty"),
        ("   ", "time zone is empty"),
    ],
)
def test_validate_timezone_explains_unknown_names(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_timezone(name)


def test_naive_and_aware_mixups_are_rejected() -> None:
    with pytest.raises(ValueError, match="local must be a naive local wall time"):
        local_to_utc(utc(2026, 1, 1), BERLIN)
    with pytest.raises(ValueError, match="must be a timezone-aware datetime"):
        utc_to_local(datetime(2026, 1, 1), BERLIN)
    with pytest.raises(ValueError, match="start must be a timezone-aware datetime"):
        as_utc(datetime(2026, 1, 1), "start")
