"""Record keys and AT URIs of posts.

A post's record key (`rkey`) must be a TID (the `app.bsky.feed.post` lexicon's key type): 13
characters of "base32-sortable" encoding a 64-bit number whose top bit is 0, then 53 bits of
microseconds since the Unix epoch and 10 bits of "clock id". PostWizard chooses the key
itself instead of letting the PDS pick one: the time part is the delivery's first attempt
and the clock id comes from a hash of its marker, so every retry of a delivery uses the same
key, and a PDS never holds two records under one key. A lost answer therefore cannot turn
into a second post, and `getRecord` on that key tells whether the post exists.

Two deliveries of one account would share a key only if their first attempts began in the
same microsecond and their markers' hashes agreed on 10 bits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

POST_COLLECTION = "app.bsky.feed.post"

_S32_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID_LENGTH = 13
_CLOCK_ID_BITS = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def record_key(marker: str, first_attempt_at: datetime) -> str:
    """The TID under which the delivery with `marker` is published: the same for every
    attempt of that delivery."""
    if first_attempt_at.tzinfo is None:
        raise ValueError("first_attempt_at must be timezone-aware")
    microseconds = (first_attempt_at - _EPOCH) // _MICROSECOND
    digest = hashlib.sha256(marker.encode("utf-8")).digest()
    clock_id = int.from_bytes(digest[:2], "big") & ((1 << _CLOCK_ID_BITS) - 1)
    return _s32_encode((microseconds << _CLOCK_ID_BITS) | clock_id)


def tid_timestamp(tid: str) -> datetime:
    """The time encoded in a TID (to the microsecond)."""
    value = 0
    for character in tid:
        value = value * 32 + _S32_ALPHABET.index(character)
    return _EPOCH + (value >> _CLOCK_ID_BITS) * _MICROSECOND


def _s32_encode(value: int) -> str:
    characters = []
    while value:
        value, digit = divmod(value, 32)
        characters.append(_S32_ALPHABET[digit])
    return "".join(reversed(characters)).rjust(_TID_LENGTH, _S32_ALPHABET[0])


@dataclass(frozen=True, slots=True)
class AtUri:
    """`at://<repo>/<collection>/<rkey>`: the permanent address of a record."""

    repo: str
    collection: str
    rkey: str

    @classmethod
    def parse(cls, uri: str) -> AtUri:
        """Parse an AT URI of a record; ValueError if it is not one."""
        if not uri.startswith("at://"):
            raise ValueError(f"not an AT URI: {uri!r}")
        parts = uri.removeprefix("at://").split("/")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"not the AT URI of a record: {uri!r}")
        return cls(repo=parts[0], collection=parts[1], rkey=parts[2])

    def __str__(self) -> str:
        return f"at://{self.repo}/{self.collection}/{self.rkey}"


def post_web_url(web_url: str, handle: str, rkey: str) -> str:
    """Where people open the post in the Bluesky app."""
    return f"{web_url.rstrip('/')}/profile/{handle}/post/{rkey}"
