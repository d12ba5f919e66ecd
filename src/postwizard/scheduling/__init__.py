"""Scheduling rules as pure functions: time zones and DST, posting slots, recurrence.

Everything here takes and returns timezone-aware UTC instants, except wall times, which are
naive datetimes interpreted in an explicit IANA zone (see `timezones` for the DST policy).
"""

from postwizard.scheduling.recurrence import (
    RecurrenceRule,
    next_evergreen,
    next_occurrence,
    occurrences,
    parse_rule,
)
from postwizard.scheduling.slots import PostingSlot, next_free_slot, slot_instants
from postwizard.scheduling.timezones import (
    as_utc,
    local_to_utc,
    utc_to_local,
    validate_timezone,
    wall_time_exists,
    wall_times_to_utc,
)

__all__ = [
    "PostingSlot",
    "RecurrenceRule",
    "as_utc",
    "local_to_utc",
    "next_evergreen",
    "next_free_slot",
    "next_occurrence",
    "occurrences",
    "parse_rule",
    "slot_instants",
    "utc_to_local",
    "validate_timezone",
    "wall_time_exists",
    "wall_times_to_utc",
]
