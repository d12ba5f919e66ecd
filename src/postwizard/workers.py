"""What every background loop (dispatcher, metric collector, notification sender) shares: a
worker id that names the process in leases and heartbeats, a sleep that a stop or a wake-up
event ends early, and the start-up step that keeps the garbage collector off the objects a
process holds for its whole life."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import uuid


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def sleep_until_woken(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Sleep up to `seconds`, ending early when `stop` is set or `wake` is set again (it is
    cleared first, so only a wake-up that comes after this call ends the sleep)."""
    wake.clear()
    stopping = asyncio.ensure_future(stop.wait())
    waking = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({stopping, waking}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        waking.cancel()


def freeze_startup_objects() -> None:
    """Process-wide, once start-up is done (`serve`, `worker`): move every object alive so far
    (imported modules, settings, the app) out of the cyclic garbage collector's sight. They
    live as long as the process, yet each full collection walked all of them again; in the
    collector's rounds, which allocate many short-lived objects, that was about 40 % of the
    Python time. Objects made later are collected as before."""
    gc.collect()
    gc.freeze()
