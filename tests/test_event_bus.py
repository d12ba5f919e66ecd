"""The event bus: in-process and Redis, live delivery and replay after a Last-Event-ID."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

from postwizard.realtime.bus import EventBus, InProcessBus
from postwizard.realtime.events import Event
from postwizard.realtime.redis_bus import RedisBus
from tests.support.services import RedisServer


async def next_events(stream: AsyncIterator[Event], count: int) -> list[Event]:
    return [await asyncio.wait_for(anext(stream), timeout=5) for _ in range(count)]


async def started_subscription(
    bus: EventBus, workspace_id: uuid.UUID, last: str | None = None
) -> AsyncIterator[Event]:
    stream = bus.subscribe(workspace_id, last)
    # The generator registers its listener on first iteration; give it a tick to get there.
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)

    async def chained() -> AsyncIterator[Event]:
        yield await waiting
        async for event in stream:
            yield event

    return chained()


async def test_in_process_bus_delivers_only_the_workspaces_events() -> None:
    bus = InProcessBus()
    mine, other = uuid.uuid4(), uuid.uuid4()
    stream = await started_subscription(bus, mine)
    await bus.publish(other, "post.created", {"n": 0})
    await bus.publish(mine, "post.created", {"n": 1})
    await bus.publish(mine, "post.published", {"n": 2})
    events = await next_events(stream, 2)
    assert [(e.type, e.data["n"]) for e in events] == [("post.created", 1), ("post.published", 2)]


async def test_in_process_bus_replays_what_a_reconnecting_client_missed() -> None:
    bus = InProcessBus()
    workspace = uuid.uuid4()
    first = await bus.publish(workspace, "a", {"n": 1})
    await bus.publish(workspace, "b", {"n": 2})
    await bus.publish(workspace, "c", {"n": 3})
    stream = bus.subscribe(workspace, first.id)
    assert [e.type for e in await next_events(stream, 2)] == ["b", "c"]


async def test_slow_subscriber_is_cut_off_instead_of_growing_memory() -> None:
    bus = InProcessBus()
    workspace = uuid.uuid4()
    stream = await started_subscription(bus, workspace)
    for n in range(1500):
        await bus.publish(workspace, "tick", {"n": n})
    received = []
    async for event in stream:
        received.append(event)
    assert 0 < len(received) < 1500


async def test_redis_bus_carries_events_between_processes_and_replays(
    redis_server: RedisServer,
) -> None:
    publisher, listener = RedisBus(redis_server.url), RedisBus(redis_server.url)
    await publisher.start()
    await listener.start()
    try:
        workspace = uuid.uuid4()
        stream = await started_subscription(listener, workspace)
        first = await publisher.publish(workspace, "metric.updated", {"likes": 1})
        await publisher.publish(workspace, "metric.updated", {"likes": 2})
        events = await next_events(stream, 2)
        assert [e.data["likes"] for e in events] == [1, 2]
        assert events[0].id == first.id

        replayed = await next_events(listener.subscribe(workspace, first.id), 1)
        assert replayed[0].data == {"likes": 2}
    finally:
        await publisher.stop()
        await listener.stop()
