"""A post's metrics over HTTP: latest values and totals, history, and "refresh now"."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import AwareDatetime

from postwizard.analytics import post_metrics
from postwizard.api import API_PREFIX
from postwizard.api.resources import resources
from postwizard.db.base import utcnow
from postwizard.db.session import DbSession
from postwizard.posts import service as posts_service
from postwizard.workspaces.dependencies import EditorAccess, ViewerAccess

router = APIRouter(prefix=f"{API_PREFIX}/workspaces/{{workspace_id}}", tags=["analytics"])


def _cooldown(request: Request) -> timedelta:
    return timedelta(seconds=resources(request).settings.metrics_refresh_cooldown_seconds)


@router.get("/posts/{post_id}/metrics")
async def get_post_metrics(
    post_id: uuid.UUID, request: Request, access: ViewerAccess, session: DbSession
) -> post_metrics.PostMetrics:
    """The latest numbers of each published delivery of the post, and their totals. A delivery
    on a network that gives no numbers says so (`provides_metrics` false) instead of zeros."""
    post = await posts_service.get_post(session, access.workspace.id, post_id)
    return await post_metrics.post_metrics(
        session, post, resources(request).platforms, _cooldown(request)
    )


@router.get("/posts/{post_id}/metrics/history")
async def get_post_metrics_history(
    post_id: uuid.UUID,
    access: ViewerAccess,
    session: DbSession,
    since: Annotated[AwareDatetime | None, Query(description="Only points from then on.")] = None,
    delivery_id: Annotated[uuid.UUID | None, Query(description="Only this delivery.")] = None,
) -> post_metrics.PostMetricsHistory:
    """The post's numbers over time: one point per change per delivery, oldest first (older
    history is thinned to one point per day)."""
    post = await posts_service.get_post(session, access.workspace.id, post_id)
    return await post_metrics.post_metrics_history(session, post, since, delivery_id)


@router.post(
    "/posts/{post_id}/metrics/refresh",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        409: {"description": "Nothing to refresh (not published, or no metrics)."},
        429: {"description": "Refreshed moments ago; `Retry-After` says when to ask again."},
    },
)
async def refresh_post_metrics(
    post_id: uuid.UUID, request: Request, access: EditorAccess, session: DbSession
) -> post_metrics.RefreshRequested:
    """Collect the post's numbers now instead of at the next step of its schedule; new values
    arrive as `metrics.updated` events."""
    post = await posts_service.get_post(session, access.workspace.id, post_id)
    return await post_metrics.refresh_now(session, post, utcnow(), _cooldown(request))
