"""Group commit of call outcomes: many outcomes in one transaction, and one bad outcome does
not take the others with it."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.api.resources import resources_of
from postwizard.db.base import utcnow
from postwizard.publishing.models import WorkerHeartbeat
from postwizard.publishing.recorder import Recorder
from postwizard.realtime.events import queue_event


def heartbeat(name: str) -> WorkerHeartbeat:
    now = utcnow()
    return WorkerHeartbeat(worker=name, hostname="h", pid=1, started_at=now, seen_at=now)


async def rows(app: FastAPI) -> int:
    async with resources_of(app).session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(WorkerHeartbeat)) or 0)


async def test_outcomes_recorded_at_the_same_time_share_one_commit(app: FastAPI) -> None:
    held = resources_of(app)
    recorder = Recorder(held.session_factory, held.bus)
    sessions: set[int] = set()

    def adding(name: str):  # type: ignore[no-untyped-def]
        async def apply(session: AsyncSession) -> None:
            sessions.add(id(session))
            session.add(heartbeat(name))

        return apply

    await asyncio.gather(*(recorder.record(adding(f"w{n}")) for n in range(20)))
    assert await rows(app) == 20
    assert len(sessions) == 1


async def test_one_failing_outcome_does_not_lose_the_others(app: FastAPI) -> None:
    held = resources_of(app)
    recorder = Recorder(held.session_factory, held.bus)
    seen: list[str] = []
    held.bus.add_listener(lambda event: seen.append(event.type))

    async def good(session: AsyncSession) -> None:
        session.add(heartbeat(f"good-{len(seen)}-{id(session)}"))
        queue_event(session, None, "test.recorded", {})  # type: ignore[arg-type]

    async def bad(session: AsyncSession) -> None:
        raise RuntimeError("this outcome cannot be recorded")

    results = await asyncio.gather(
        recorder.record(good),
        recorder.record(bad),
        recorder.record(good),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == ["NoneType", "RuntimeError", "NoneType"]
    assert await rows(app) == 2
    assert seen.count("test.recorded") == 2  # events only for what was committed


@pytest.mark.parametrize("size", [1, 3])
async def test_a_lone_failure_is_raised_to_its_caller(app: FastAPI, size: int) -> None:
    held = resources_of(app)
    recorder = Recorder(held.session_factory, held.bus)

    async def bad(session: AsyncSession) -> None:
        raise ValueError("no")

    results = await asyncio.gather(
        *(recorder.record(bad) for _ in range(size)), return_exceptions=True
    )
    assert all(isinstance(r, ValueError) for r in results)
