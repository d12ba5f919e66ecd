"""Weekly posting slots: their instants across DST changes, and the next free one."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postwizard.scheduling.slots import PostingSlot, next_free_slot, slot_instants
from postwizard.scheduling.timezones import local_to_utc, utc_to_local, wall_time_exists

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ZONE_NAMES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "UTC",
)
MONDAY, WEDNESDAY, SATURDAY, SUNDAY = 0, 2, 5, 6

PROPERTY_SETTINGS = settings(max_examples=150, deadline=timedelta(seconds=2), database=None)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def slot(weekday: int, hh_mm: str) -> PostingSlot:
    hours, minutes = hh_mm.split(":")
    return PostingSlot(weekday, int(hours) * 60 + int(minutes))


# --- PostingSlot ------------------------------------------------------------------------------


def test_posting_slot_knows_its_wall_time() -> None:
    monday_morning = slot(MONDAY, "09:30")
    assert monday_morning == PostingSlot(weekday=0, minute_of_day=570)
    assert monday_morning.wall_time == time(9, 30)
    assert str(monday_morning) == "Monday 09:30"
    assert str(PostingSlot(SUNDAY, 1439)) == "Sunday 23:59"


@pytest.mark.parametrize(
    ("weekday", "minute_of_day", "message"),
    [
        (7, 0, "weekday must be a whole number from 0 \\(Monday\\) to 6 \\(Sunday\\); got 7"),
        (-1, 0, "weekday .* got -1"),
        (True, 0, "weekday .* got True"),
        (1.0, 0, "weekday .* got 1.0"),
        (
            0,
            1440,
            "minute_of_day must be a whole number from 0 \\(00:00\\) to 1439 \\(23:59\\); got 1440",
        ),
        (0, -1, "minute_of_day .* got -1"),
        (0, "540", "minute_of_day .* got '540'"),
    ],
)
def test_posting_slot_rejects_out_of_range_values(
    weekday: object, minute_of_day: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PostingSlot(weekday, minute_of_day)  # type: ignore[arg-type]


def test_posting_slot_is_frozen() -> None:
    monday = slot(MONDAY, "09:00")
    with pytest.raises(AttributeError):
        monday.weekday = 1  # type: ignore[misc]


# --- slot_instants, concrete ------------------------------------------------------------------


def test_slots_keep_their_wall_time_across_the_berlin_spring_forward() -> None:
    slots = [slot(SATURDAY, "09:00"), slot(SUNDAY, "09:00"), slot(MONDAY, "09:00")]
    instants = list(slot_instants(slots, BERLIN, utc(2026, 3, 28), utc(2026, 3, 31)))
    assert instants == [
        utc(2026, 3, 28, 8),  # CET, UTC+1
        utc(2026, 3, 29, 7),  # CEST, UTC+2
        utc(2026, 3, 30, 7),
    ]


def test_slot_inside_the_berlin_gap_fires_at_the_shifted_time() -> None:
    instants = list(
        slot_instants([slot(SUNDAY, "02:30")], BERLIN, utc(2026, 3, 28), utc(2026, 3, 30))
    )
    assert instants == [utc(2026, 3, 29, 1, 30)]
    assert utc_to_local(instants[0], BERLIN) == datetime(2026, 3, 29, 3, 30)


def test_slots_that_the_gap_moves_onto_one_instant_fire_once_in_order() -> None:
    slots = [slot(SUNDAY, "02:30"), slot(SUNDAY, "03:00"), slot(SUNDAY, "03:30")]
    instants = list(slot_instants(slots, BERLIN, utc(2026, 3, 28), utc(2026, 3, 30)))
    # 02:30 -> 03:30 CEST; 03:00 CEST comes first.
    assert instants == [utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30)]


def test_slot_inside_the_berlin_fold_fires_once_at_the_first_occurrence() -> None:
    slots = [slot(SUNDAY, "02:30"), slot(SUNDAY, "03:00")]
    instants = list(slot_instants(slots, BERLIN, utc(2026, 10, 24), utc(2026, 10, 26)))
    assert instants == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 0)]


def test_new_york_gap_and_fold() -> None:
    gap = list(slot_instants([slot(SUNDAY, "02:30")], NEW_YORK, utc(2026, 3, 7), utc(2026, 3, 9)))
    assert gap == [utc(2026, 3, 8, 7, 30)]  # 03:30 EDT
    fold = list(
        slot_instants([slot(SUNDAY, "01:30")], NEW_YORK, utc(2026, 10, 31), utc(2026, 11, 2))
    )
    assert fold == [utc(2026, 11, 1, 5, 30)]  # 01:30 EDT, not 01:30 EST


def test_window_is_half_open_and_duplicates_collapse() -> None:
    monday_nine = slot(MONDAY, "09:00")  # 2026-01-05 08:00 UTC
    assert list(
        slot_instants([monday_nine, monday_nine], BERLIN, utc(2026, 1, 5, 8), utc(2026, 1, 12, 8))
    ) == [utc(2026, 1, 5, 8)]


def test_no_slots_or_an_empty_window_yield_nothing() -> None:
    assert list(slot_instants([], BERLIN, utc(2026, 1, 1), utc(2027, 1, 1))) == []
    assert (
        list(slot_instants([slot(MONDAY, "09:00")], BERLIN, utc(2026, 1, 1), utc(2026, 1, 1))) == []
    )


def test_slot_instants_require_aware_bounds() -> None:
    with pytest.raises(ValueError, match="start must be a timezone-aware datetime"):
        slot_instants([slot(MONDAY, "09:00")], BERLIN, datetime(2026, 1, 1), utc(2026, 2, 1))


# --- slot_instants, properties ----------------------------------------------------------------

slot_lists = st.lists(
    st.builds(PostingSlot, st.integers(0, 6), st.integers(0, 1439)), min_size=1, max_size=6
)
# Times near the DST changes of the zones above are where slots go wrong, so weight them.
dst_days = st.sampled_from(
    [
        utc(2026, 3, 8),
        utc(2026, 3, 29),
        utc(2026, 4, 5),
        utc(2026, 9, 27),
        utc(2026, 10, 4),
        utc(2026, 10, 25),
        utc(2026, 11, 1),
        utc(2018, 11, 4),  # Sao Paulo still had DST then
        utc(2019, 2, 17),
    ]
)
instants_near_dst = st.builds(
    lambda day, minutes: day + timedelta(minutes=minutes), dst_days, st.integers(-3 * 1440, 1440)
)
any_instant = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
starts = st.one_of(instants_near_dst, any_instant)


def brute_force_instants(
    slots: list[PostingSlot], tz: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    first_day = (start - timedelta(days=3)).date()
    days = [first_day + timedelta(days=n) for n in range((end - start).days + 7)]
    return sorted(
        {
            instant
            for day in days
            for s in slots
            if day.weekday() == s.weekday
            and start <= (instant := local_to_utc(datetime.combine(day, s.wall_time), tz)) < end
        }
    )


@PROPERTY_SETTINGS
@given(
    slots=slot_lists,
    zone_name=st.sampled_from(ZONE_NAMES),
    start=starts,
    days=st.integers(0, 21),
)
def test_slot_instants_match_a_brute_force_expansion(
    slots: list[PostingSlot], zone_name: str, start: datetime, days: int
) -> None:
    tz = ZoneInfo(zone_name)
    end = start + timedelta(days=days, hours=5)
    instants = list(slot_instants(slots, tz, start, end))
    assert instants == brute_force_instants(slots, tz, start, end)
    assert all(instant.tzinfo is UTC for instant in instants)
    assert all(a < b for a, b in itertools.pairwise(instants))
    for instant in instants:
        # Local clocks show the slot's weekday and time, unless the slot fell into a gap.
        wall = utc_to_local(instant, tz)
        shows_a_slot = PostingSlot(wall.weekday(), wall.hour * 60 + wall.minute) in slots
        moved_out_of_a_gap = any(
            not wall_time_exists(slot_wall, tz) and local_to_utc(slot_wall, tz) == instant
            for slot_wall in _slot_walls_before(slots, wall.date())
        )
        assert shows_a_slot or moved_out_of_a_gap


def _slot_walls_before(slots: list[PostingSlot], day: date) -> list[datetime]:
    """The slots' wall times on `day` and the day before (a gap moves wall times forward)."""
    return [
        datetime.combine(candidate, s.wall_time)
        for candidate in (day, day - timedelta(days=1))
        for s in slots
        if candidate.weekday() == s.weekday
    ]


# --- next_free_slot ---------------------------------------------------------------------------

MONDAY_AND_WEDNESDAY_NINE = [slot(MONDAY, "09:00"), slot(WEDNESDAY, "09:00")]


def test_next_free_slot_is_strictly_after() -> None:
    # Monday 2026-03-23 09:00 CET is 08:00 UTC.
    assert next_free_slot(MONDAY_AND_WEDNESDAY_NINE, BERLIN, utc(2026, 3, 23, 7, 59), []) == utc(
        2026, 3, 23, 8
    )
    assert next_free_slot(MONDAY_AND_WEDNESDAY_NINE, BERLIN, utc(2026, 3, 23, 8), []) == utc(
        2026, 3, 25, 8
    )


def test_next_free_slot_skips_taken_instants_given_in_any_zone() -> None:
    taken_in_berlin_time = [datetime(2026, 3, 23, 9, 0, tzinfo=BERLIN)]
    assert next_free_slot(
        MONDAY_AND_WEDNESDAY_NINE, BERLIN, utc(2026, 3, 23), taken_in_berlin_time
    ) == utc(2026, 3, 25, 8)


def test_next_free_slot_crosses_the_spring_forward() -> None:
    # Saturday before the change; the next Monday 09:00 is already CEST.
    assert next_free_slot(MONDAY_AND_WEDNESDAY_NINE, BERLIN, utc(2026, 3, 28, 12), []) == utc(
        2026, 3, 30, 7
    )


def test_next_free_slot_in_the_gap_and_the_fold() -> None:
    sunday_half_past_two = [slot(SUNDAY, "02:30")]
    assert next_free_slot(sunday_half_past_two, BERLIN, utc(2026, 3, 28), []) == utc(
        2026, 3, 29, 1, 30
    )
    assert next_free_slot(sunday_half_past_two, BERLIN, utc(2026, 10, 24), []) == utc(
        2026, 10, 25, 0, 30
    )
    # Once the first 02:30 has passed, the repeated 02:30 is not another slot.
    assert next_free_slot(sunday_half_past_two, BERLIN, utc(2026, 10, 25, 0, 30), []) == utc(
        2026, 11, 1, 1, 30
    )


def test_next_free_slot_in_new_york() -> None:
    weekday_mornings = [slot(day, "08:00") for day in range(5)]
    # Friday 2026-03-06 08:00 EST is taken; Monday 2026-03-09 08:00 is EDT.
    assert next_free_slot(
        weekday_mornings, NEW_YORK, utc(2026, 3, 6), [utc(2026, 3, 6, 13)]
    ) == utc(2026, 3, 9, 12)


def test_next_free_slot_moves_on_when_the_next_weeks_are_full() -> None:
    after = utc(2026, 3, 1)
    ten_weeks = list(
        slot_instants(MONDAY_AND_WEDNESDAY_NINE, BERLIN, after, after + timedelta(weeks=10))
    )
    assert len(ten_weeks) == 20
    found = next_free_slot(MONDAY_AND_WEDNESDAY_NINE, BERLIN, after, ten_weeks)
    assert found == utc(2026, 5, 11, 7)  # Monday 09:00 CEST, the first one not taken


def test_next_free_slot_returns_none_without_slots_or_within_a_full_horizon() -> None:
    after = utc(2026, 3, 1)  # a Sunday
    assert next_free_slot([], BERLIN, after, []) is None
    all_week = list(
        slot_instants(MONDAY_AND_WEDNESDAY_NINE, BERLIN, after, after + timedelta(days=7))
    )
    assert (
        next_free_slot(MONDAY_AND_WEDNESDAY_NINE, BERLIN, after, all_week, horizon_days=7) is None
    )
    assert (
        next_free_slot(MONDAY_AND_WEDNESDAY_NINE, BERLIN, after, all_week, horizon_days=9)
        is not None
    )


@pytest.mark.parametrize(
    ("after", "taken", "horizon_days", "message"),
    [
        (datetime(2026, 3, 1), [], 366, "after must be a timezone-aware datetime"),
        (utc(2026, 3, 1), [datetime(2026, 3, 2)], 366, "taken instant must be a timezone-aware"),
        (utc(2026, 3, 1), [], 0, "horizon_days must be a whole number from 1 to 3660; got 0"),
        (utc(2026, 3, 1), [], 3661, "horizon_days .* got 3661"),
    ],
)
def test_next_free_slot_rejects_bad_input(
    after: datetime, taken: list[datetime], horizon_days: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        next_free_slot(MONDAY_AND_WEDNESDAY_NINE, BERLIN, after, taken, horizon_days)


@PROPERTY_SETTINGS
@given(
    slots=slot_lists,
    zone_name=st.sampled_from(ZONE_NAMES),
    after=starts,
    taken_picks=st.lists(st.booleans(), max_size=40),
)
def test_next_free_slot_is_the_first_untaken_slot_after(
    slots: list[PostingSlot], zone_name: str, after: datetime, taken_picks: list[bool]
) -> None:
    tz = ZoneInfo(zone_name)
    # The default horizon holds at least 52 instants, more than can be taken here.
    upcoming = list(slot_instants(slots, tz, after, after + timedelta(days=366)))
    taken = {instant for instant, pick in zip(upcoming, taken_picks, strict=False) if pick}
    found = next_free_slot(slots, tz, after, taken)
    assert found is not None
    assert found > after
    assert found not in taken
    assert found.tzinfo is UTC
    assert found in upcoming
    # Nothing free was skipped.
    assert all(instant in taken for instant in upcoming if after < instant < found)
