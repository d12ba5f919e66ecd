"""The event bus: publish per-workspace events, subscribe with replay after a Last-Event-ID."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import anyio
import structlog

from postwizard.realtime.events import Event

log = structlog.get_logger(__name__)

SUBSCRIBER_QUEUE_SIZE = 1000
REPLAY_BUFFER_SIZE = 1000


class Subscription:
    """One listener's queue. A listener that falls too far behind is closed, not allowed to grow memory;
    its browser reconnects with Last-Event-ID and catches up from the replay buffer."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)  # wakes the reader so it ends the stream

    async def close_when(self, event: anyio.Event) -> None:
        await event.wait()
        with contextlib.suppress(asyncio.QueueEmpty):
            while self.queue.full():
                self.queue.get_nowait()
        self.queue.put_nowait(None)


class LocalFanout:
    """Delivers events to this process's subscribers, per workspace."""

    def __init__(self) -> None:
        self._subscribers: dict[uuid.UUID, set[Subscription]] = {}
        self._listeners: list[Callable[[Event], None]] = []

    def deliver(self, event: Event) -> None:
        for subscription in list(self._subscribers.get(event.workspace_id, ())):
            subscription.offer(event)
        for listener in self._listeners:
            listener(event)

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` (quick, non-blocking) for every event of every workspace, e.g. to wake
        the dispatcher when a post is scheduled in any process."""
        self._listeners.append(listener)

    def add(self, workspace_id: uuid.UUID) -> Subscription:
        subscription = Subscription()
        self._subscribers.setdefault(workspace_id, set()).add(subscription)
        return subscription

    def remove(self, workspace_id: uuid.UUID, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(workspace_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[workspace_id]

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, workspace_id: uuid.UUID, type_: str, data: dict[str, Any]) -> Event: ...

    def subscribe(
        self,
        workspace_id: uuid.UUID,
        last_event_id: str | None,
        until: anyio.Event | None = None,
    ) -> AsyncIterator[Event]: ...

    async def ping(self) -> None: ...

    def add_listener(self, listener: Callable[[Event], None]) -> None: ...


class FanoutBus:
    """What both buses share: local delivery and replay-then-live subscriptions without gaps or repeats."""

    def __init__(self) -> None:
        self.fanout = LocalFanout()

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        self.fanout.add_listener(listener)

    def order_key(self, event_id: str) -> tuple[int, ...]:
        raise NotImplementedError

    async def replay(self, workspace_id: uuid.UUID, after_id: str) -> list[Event]:
        raise NotImplementedError

    async def subscribe(
        self,
        workspace_id: uuid.UUID,
        last_event_id: str | None,
        until: anyio.Event | None = None,
    ) -> AsyncIterator[Event]:
        """Replayed events after `last_event_id`, then live ones; ends when the listener falls
        too far behind or when `until` is set (the server is shutting down)."""
        subscription = self.fanout.add(
            workspace_id
        )  # first, so nothing published meanwhile is missed
        closer = asyncio.create_task(subscription.close_when(until)) if until else None
        try:
            newest: tuple[int, ...] | None = None
            if last_event_id:
                for event in await self.replay(workspace_id, last_event_id):
                    newest = self.order_key(event.id)
                    yield event
            while True:
                live = await subscription.queue.get()
                if live is None:
                    return
                if newest is not None and self.order_key(live.id) <= newest:
                    continue  # already sent during replay
                yield live
        finally:
            if closer is not None:
                closer.cancel()
            self.fanout.remove(workspace_id, subscription)


class InProcessBus(FanoutBus):
    """The embedded default: events live in this process only."""

    def __init__(self, replay_size: int = REPLAY_BUFFER_SIZE) -> None:
        super().__init__()
        self._sequence = 0
        self._recent: dict[uuid.UUID, deque[Event]] = {}
        self._replay_size = replay_size

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def publish(self, workspace_id: uuid.UUID, type_: str, data: dict[str, Any]) -> Event:
        self._sequence += 1
        event = Event(id=str(self._sequence), workspace_id=workspace_id, type=type_, data=data)
        self._recent.setdefault(workspace_id, deque(maxlen=self._replay_size)).append(event)
        self.fanout.deliver(event)
        return event

    def order_key(self, event_id: str) -> tuple[int, ...]:
        return (int(event_id),) if event_id.isdigit() else (-1,)

    async def replay(self, workspace_id: uuid.UUID, after_id: str) -> list[Event]:
        after = self.order_key(after_id)
        return [e for e in self._recent.get(workspace_id, ()) if self.order_key(e.id) > after]


def create_bus(redis_url: str) -> EventBus:
    """Redis when configured (several processes), otherwise in-process."""
    if redis_url:
        from postwizard.realtime.redis_bus import RedisBus

        return RedisBus(redis_url)
    return InProcessBus()


BusFactory = Callable[[str], EventBus]
