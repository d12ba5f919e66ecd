"""What the running app holds (settings, database, bus, throttles), reachable from a request."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from postwizard.api.rate_limits import RateLimiter
from postwizard.config import Settings
from postwizard.media.storage import MediaStorage
from postwizard.platforms.registry import PlatformRegistry
from postwizard.realtime.bus import EventBus


@dataclass(frozen=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    bus: EventBus
    rate_limiter: RateLimiter  # sign-ins, API tokens, AI generations
    media_storage: MediaStorage
    platforms: PlatformRegistry
    secret_key: str


def resources_of(app: FastAPI) -> Resources:
    held: Resources = app.state.resources
    return held


def resources(request: Request) -> Resources:
    return resources_of(request.app)
