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


def uuid7() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, a 12-bit counter, then random bits.

    The counter (RFC 9562 method 1) keeps ids made by this process strictly increasing even
    within one millisecond, so "order by id" is creation order (page order, target order)."""
    global _last_ms, _counter
    with _lock:
        unix_ms = time.time_ns() // 1_000_000
        if unix_ms > _last_ms:
            _last_ms = unix_ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
        else:
            _counter += 1
            if _counter >= 1 << COUNTER_BITS:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _counter = 0
        unix_ms, counter = _last_ms, _counter
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= counter << 64  # rand_a used as a counter
    value |= 0b10 << 62  # variant
    value |= int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)  # rand_b
    return uuid.UUID(int=value)
