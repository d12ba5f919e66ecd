"""Redis event bus: pub/sub carries each event to every process; a capped stream per
workspace keeps recent events so a reconnecting browser can replay what it missed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import datetime
from typing import Any, cast

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from postwizard.realtime.bus import REPLAY_BUFFER_SIZE, FanoutBus
from postwizard.realtime.events import Event

log = structlog.get_logger(__name__)

CHANNEL = "postwizard:events"
RECONNECT_DELAY_S = 1.0


def stream_key(workspace_id: uuid.UUID) -> str:
    return f"postwizard:events:{workspace_id}"


class RedisBus(FanoutBus):
    def __init__(self, url: str) -> None:
        super().__init__()
        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="redis-event-listener")
        # Publishing before our own subscription is live would lose our own events.
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()

    async def ping(self) -> None:
        await self._redis.ping()

    async def publish(self, workspace_id: uuid.UUID, type_: str, data: dict[str, Any]) -> Event:
        payload = json.dumps(data, default=str)
        at = datetime.now().astimezone()
        event_id = await self._redis.xadd(
            stream_key(workspace_id),
            {"type": type_, "data": payload, "at": at.isoformat()},
            maxlen=REPLAY_BUFFER_SIZE,
            approximate=True,
        )
        event = Event(id=str(event_id), workspace_id=workspace_id, type=type_, data=data, at=at)
        message = {
            "id": event.id,
            "workspace_id": str(workspace_id),
            "type": type_,
            "data": payload,
            "at": at.isoformat(),
        }
        await self._redis.publish(CHANNEL, json.dumps(message))
        return event

    def order_key(self, event_id: str) -> tuple[int, ...]:
        milliseconds, _, sequence = event_id.partition("-")
        try:
            return (int(milliseconds), int(sequence or 0))
        except ValueError:
            return (-1,)

    async def replay(self, workspace_id: uuid.UUID, after_id: str) -> list[Event]:
        if self.order_key(after_id) == (-1,):
            return []
        # decode_responses=True: ids and fields are str (redis-py's stubs cannot know that).
        entries = cast(
            list[tuple[str, dict[str, str]]],
            await self._redis.xrange(stream_key(workspace_id), min=f"({after_id}", max="+"),
        )
        return [
            Event(
                id=entry_id,
                workspace_id=workspace_id,
                type=fields["type"],
                data=json.loads(fields["data"]),
                at=datetime.fromisoformat(fields["at"]),
            )
            for entry_id, fields in entries
        ]

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.fanout.deliver(_event_from_message(message["data"]))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                log.warning(
                    "redis event listener lost its connection; reconnecting", error=str(error)
                )
                await asyncio.sleep(RECONNECT_DELAY_S)


def _event_from_message(raw: str) -> Event:
    message = json.loads(raw)
    return Event(
        id=message["id"],
        workspace_id=uuid.UUID(message["workspace_id"]),
        type=message["type"],
        data=json.loads(message["data"]),
        at=datetime.fromisoformat(message["at"]),
    )
