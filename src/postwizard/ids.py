"""Time-ordered UUIDs (version 7), so primary keys sort by creation and index well."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0
COUNTER_BITS = 12


def _stamps(count: int) -> list[int]:
    """The next `count` ids without their random bits: 48-bit Unix milliseconds, version, a
    12-bit counter, variant. The counter (RFC 9562 method 1) keeps ids made by this process
    strictly increasing even within one millisecond."""
    global _last_ms, _counter
    stamps: list[int] = []
    with _lock:
        unix_ms = time.time_ns() // 1_000_000
        for _ in range(count):
            if unix_ms > _last_ms:
                _last_ms = unix_ms
                _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # room to count up
            else:
                _counter += 1
                if _counter >= 1 << COUNTER_BITS:  # exhausted: borrow the next millisecond
                    _last_ms += 1
                    _counter = 0
            stamps.append(
                ((_last_ms & ((1 << 48) - 1)) << 80)
                | (0x7 << 76)  # version
                | (_counter << 64)  # rand_a used as a counter
                | (0b10 << 62)  # variant
            )
    return stamps


_RAND_B = (1 << 62) - 1


def uuid7() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, a 12-bit counter, then random bits;
    strictly increasing within this process, so "order by id" is creation order (page order,
    target order)."""
    (stamp,) = _stamps(1)
    return uuid.UUID(int=stamp | (int.from_bytes(os.urandom(8), "big") & _RAND_B))


def uuid7s(count: int) -> list[uuid.UUID]:
    """`count` UUIDv7s, as `count` calls of `uuid7()` would make them (strictly increasing),
    for a bulk insert: the random bits of all come from one `os.urandom` call."""
    random_bits = os.urandom(8 * count)
    return [
        uuid.UUID(int=stamp | (int.from_bytes(random_bits[8 * n : 8 * n + 8], "big") & _RAND_B))
        for n, stamp in enumerate(_stamps(count))
    ]
