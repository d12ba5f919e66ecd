"""Two web processes on one PostgreSQL and one Redis: each hears every event, and still every
person gets one notification and every endpoint one call."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from postwizard.api.resources import resources_of
from postwizard.app import create_app
from postwizard.config import Settings
from tests.api_client import ApiClient, set_up_owner
from tests.notification_support import eventually
from tests.support.services import RedisServer


async def test_each_event_is_recorded_once_across_processes(
    make_settings: Callable[..., Settings], postgres_url: str, redis_server: RedisServer
) -> None:
    settings = make_settings(database_url=postgres_url, redis_url=redis_server.url)
    first, second = create_app(settings), create_app(settings)
    async with (
        first.router.lifespan_context(first),
        second.router.lifespan_context(second),
        ApiClient.for_app(first) as api,
    ):
        owner = await set_up_owner(api)
        hooks = f"/api/v1/workspaces/{owner.workspace_id}/webhooks"
        endpoint = await api.post(
            hooks, json={"url": "http://127.0.0.1:9/pw", "events": ["post.failed"]}
        )
        assert endpoint.status_code == 201, endpoint.text
        await resources_of(second).bus.publish(
            uuid.UUID(owner.workspace_id), "post.failed", {"post_id": str(uuid.uuid4())}
        )
        feed = f"/api/v1/workspaces/{owner.workspace_id}/notifications"

        async def recorded() -> list | None:
            return (await api.get(feed)).json()["items"] or None

        await eventually(recorded)
        await asyncio.sleep(0.3)  # both processes have had the event by now
        assert len((await api.get(feed)).json()["items"]) == 1
        log = (await api.get(f"{hooks}/{endpoint.json()['id']}/deliveries")).json()
        assert [d["event_type"] for d in log] == ["post.failed"]
