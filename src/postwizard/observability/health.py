"""Liveness, readiness and the Prometheus endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from postwizard.api.resources import resources
from postwizard.db.base import utcnow
from postwizard.observability.metrics import (
    PUBLISHING_DUE_NOT_STARTED,
    PUBLISHING_LIVE_WORKERS,
    PUBLISHING_OLDEST_DUE_SECONDS,
    PUBLISHING_QUEUE_DEPTH,
    REGISTRY,
)
from postwizard.publishing import repository as publishing_repository

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is down."}})
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database (and Redis, when configured) answer."""
    checks: dict[str, Any] = {}
    held = resources(request)
    engine = held.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # any failure means "not ready"; the reason goes in the answer
        checks["database"] = f"error: {type(error).__name__}"
    if held.settings.redis_url:
        try:
            await held.bus.ping()
            checks["redis"] = "ok"
        except Exception as error:  # same: report, don't raise
            checks["redis"] = f"error: {type(error).__name__}"
    ready = all(value == "ok" for value in checks.values())
    if checks["database"] == "ok":
        # Reported, not required: web processes of a scale-out run without a worker.
        async with held.session_factory() as session:
            since = utcnow() - publishing_repository.worker_alive_window(
                held.settings.worker_heartbeat_seconds
            )
            checks["workers_alive"] = len(
                await publishing_repository.live_and_recent_workers(session, since)
            )
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics in the text exposition format."""
    now = utcnow()
    held = resources(request)
    window = publishing_repository.worker_alive_window(held.settings.worker_heartbeat_seconds)
    async with held.session_factory() as session:
        depth, due, oldest = await publishing_repository.queue_counts(session, None, now)
        alive = await publishing_repository.live_and_recent_workers(session, now - window)
    PUBLISHING_QUEUE_DEPTH.set(depth)
    PUBLISHING_DUE_NOT_STARTED.set(due)
    PUBLISHING_OLDEST_DUE_SECONDS.set((now - oldest).total_seconds() if oldest else 0)
    PUBLISHING_LIVE_WORKERS.set(len(alive))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
