"""Primary keys sort in creation order, even many within one millisecond."""

from __future__ import annotations

from postwizard.ids import uuid7, uuid7s


def test_uuid7_is_strictly_increasing_and_well_formed() -> None:
    ids = [uuid7() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids[:100])


def test_uuid7s_continues_the_same_sequence_in_bulk() -> None:
    ids = [uuid7(), *uuid7s(20_000), uuid7(), *uuid7s(3)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids)
