"""Server-Sent Events: a workspace's live events for the browser."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Request
from sse_starlette import EventSourceResponse

from postwizard.api import API_PREFIX
from postwizard.api.resources import resources
from postwizard.workspaces.dependencies import ViewerAccess

router = APIRouter(prefix=API_PREFIX, tags=["realtime"])

KEEPALIVE_S = 15
SHUTDOWN_GRACE_S = 2.0  # well inside the server's graceful-shutdown timeout


@router.get(
    "/workspaces/{workspace_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An endless event stream."}
    },
)
async def workspace_events(
    request: Request,
    access: ViewerAccess,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    """Live events of the workspace. Sends `ready` on connect; after a reconnect the browser's
    `Last-Event-ID` replays what it missed (recent events only)."""
    bus = resources(request).bus
    workspace_id = access.workspace.id
    # Set when the server shuts down: the stream then ends cleanly (the browser reconnects
    # with Last-Event-ID, to this server when it is back or to another process).
    shutting_down = anyio.Event()

    async def stream() -> AsyncIterator[dict[str, Any]]:
        yield {"event": "ready", "data": json.dumps({"workspace_id": str(workspace_id)})}
        async for event in bus.subscribe(workspace_id, last_event_id, until=shutting_down):
            yield {"event": event.type, "id": event.id, "data": json.dumps(event.data, default=str)}

    return EventSourceResponse(
        stream(),
        ping=KEEPALIVE_S,
        headers={"Cache-Control": "no-store"},
        shutdown_event=shutting_down,
        shutdown_grace_period=SHUTDOWN_GRACE_S,
    )
