"""The SSE stream against a real server: `ready`, live workspace events, replay, isolation."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_client import ApiClient, set_up_owner
from tests.server_process import ServerProcess, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("sse") / "data") as process:
        yield process


async def read_events(lines: AsyncIterator[str], count: int) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if "event" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            current[key] = value.strip()
    return events


async def test_stream_says_ready_then_carries_events_and_replays_after_reconnect(
    server: ServerProcess,
) -> None:
    async with ApiClient(base_url=server.url, timeout=10) as api:
        owner = await set_up_owner(api)
        events_url = f"/api/v1/workspaces/{owner.workspace_id}/events"
        async with api.stream("GET", events_url) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            ready = (await read_events(lines, 1))[0]
            assert ready["event"] == "ready"
            await api.patch(
                f"/api/v1/workspaces/{owner.workspace_id}", json={"name": "First rename"}
            )
            await api.patch(
                f"/api/v1/workspaces/{owner.workspace_id}", json={"name": "Second rename"}
            )
            first, second = await read_events(lines, 2)
        assert first["event"] == "workspace.updated"
        assert json.loads(first["data"])["name"] == "First rename"
        assert json.loads(second["data"])["name"] == "Second rename"

        await api.patch(f"/api/v1/workspaces/{owner.workspace_id}", json={"name": "While away"})
        async with api.stream(
            "GET", events_url, headers={"Last-Event-ID": second["id"]}
        ) as resumed:
            ready_again, missed = await read_events(resumed.aiter_lines(), 2)
        assert ready_again["event"] == "ready"
        assert json.loads(missed["data"])["name"] == "While away"


async def test_stream_needs_sign_in_and_membership(server: ServerProcess, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as anonymous:
        response = await anonymous.get(
            "/api/v1/workspaces/01a20044-e2e7-7d97-9fb1-63ff69782e31/events"
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"


async def test_open_stream_ends_cleanly_when_the_server_stops(tmp_path: Path) -> None:
    """SIGTERM with a browser listening: the stream is closed properly (a complete chunked body,
    so the browser simply reconnects) and the server logs no error about an unfinished response."""
    with running_server(tmp_path / "data") as stopping:
        async with ApiClient(base_url=stopping.url, timeout=10) as api:
            owner = await set_up_owner(api)
            events_url = f"/api/v1/workspaces/{owner.workspace_id}/events"
            async with api.stream("GET", events_url) as stream:
                lines = stream.aiter_lines()
                assert (await read_events(lines, 1))[0]["event"] == "ready"
                stopping.process.send_signal(signal.SIGTERM)
                rest = [line async for line in lines]  # raises if the body is cut off
        assert not [line for line in rest if line.startswith("event:")]
        stopping.process.wait(timeout=20)
    log = stopping.log()
    assert "Application shutdown complete" in log
    assert "ASGI callable returned without completing response" not in log
    assert '"log.level": "error"' not in log
