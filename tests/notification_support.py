"""Helpers for notification tests: wait for the intake, drive a sender, a webhook receiver."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from postwizard.api.resources import resources_of
from postwizard.notifications.worker import OutboxSender, SenderConfig

T = TypeVar("T")


WAIT_S = 5.0


async def eventually(check: Callable[[], Awaitable[T | None]]) -> T:
    """`check()`'s first truthy result; the intake writes notifications a moment after an event."""
    deadline = time.monotonic() + WAIT_S
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def sender_for(app: FastAPI, config: SenderConfig | None = None) -> OutboxSender:
    held = resources_of(app)
    return OutboxSender(held.session_factory, held.bus, held.settings, held.secret_key, config)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Answers with the scripted status codes in turn (the last one repeats)."""

    statuses: list[int]
    received: list[Received] = field(default_factory=list)

    async def hook(self, request: Request) -> Response:
        self.received.append(Received(dict(request.headers), await request.body()))
        index = min(len(self.received), len(self.statuses)) - 1
        return Response(f"answer {self.statuses[index]}", status_code=self.statuses[index])

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])
