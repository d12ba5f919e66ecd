"""One post's numbers as the UI shows them: the latest values of each published delivery with
totals, its history, and "refresh now" (with a cooldown)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.repository import accounts_in_workspace
from postwizard.analytics import job_queue
from postwizard.analytics.models import PostMetricSnapshot
from postwizard.analytics.snapshot_writer import POST_FIELDS, is_newest
from postwizard.api.schemas import ResponseBody
from postwizard.errors import Conflict, RateLimited
from postwizard.platforms.networks import Network
from postwizard.platforms.registry import PlatformRegistry
from postwizard.posts.models import Post
from postwizard.publishing.models import Delivery, DeliveryState
from postwizard.realtime.events import queue_event

REFRESH_REQUESTED = "metrics.refresh_requested"


class MetricValues(ResponseBody):
    """Counts as the network reports them; null: the network does not give that number."""

    impressions: int | None = None
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    bookmarks: int | None = None
    clicks: int | None = None


class DeliveryMetrics(ResponseBody):
    delivery_id: uuid.UUID
    account_id: uuid.UUID
    account_name: str
    network: Network
    # False for networks that give no numbers (Telegram, Discord): show "no metrics", not zeros.
    provides_metrics: bool
    published_at: datetime | None
    remote_url: str | None
    collected_at: datetime | None
    metrics: MetricValues | None
    extra: dict[str, Any]
    next_collection_at: datetime | None
    last_error: str | None


class PostMetrics(ResponseBody):
    post_id: uuid.UUID
    deliveries: list[DeliveryMetrics]
    # Sums over the deliveries that report each number (null where none does).
    totals: MetricValues
    refresh_available_at: datetime | None


class MetricPoint(MetricValues):
    delivery_id: uuid.UUID
    collected_at: datetime


class PostMetricsHistory(ResponseBody):
    post_id: uuid.UUID
    points: list[MetricPoint]


class RefreshRequested(ResponseBody):
    post_id: uuid.UUID
    jobs: int
    refresh_available_at: datetime


async def _published_deliveries(session: AsyncSession, post_id: uuid.UUID) -> list[Delivery]:
    return list(
        await session.scalars(
            select(Delivery)
            .where(Delivery.post_id == post_id, Delivery.state == DeliveryState.PUBLISHED)
            .order_by(Delivery.id)
        )
    )


async def _latest(
    session: AsyncSession, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, PostMetricSnapshot]:
    if not delivery_ids:
        return {}
    rows = await session.scalars(
        select(PostMetricSnapshot).where(
            PostMetricSnapshot.delivery_id.in_(delivery_ids),
            is_newest(PostMetricSnapshot, "delivery_id"),
        )
    )
    return {row.delivery_id: row for row in rows}


def _values(snapshot: PostMetricSnapshot) -> MetricValues:
    return MetricValues(**{name: getattr(snapshot, name) for name in POST_FIELDS})


def _totals(values: list[MetricValues]) -> MetricValues:
    sums: dict[str, int | None] = {}
    for name in POST_FIELDS:
        given = [getattr(v, name) for v in values if getattr(v, name) is not None]
        sums[name] = sum(given) if given else None
    return MetricValues(**sums)


async def post_metrics(
    session: AsyncSession,
    post: Post,
    platforms: PlatformRegistry,
    cooldown: timedelta,
) -> PostMetrics:
    deliveries = await _published_deliveries(session, post.id)
    accounts = await accounts_in_workspace(
        session, post.workspace_id, [d.account_id for d in deliveries]
    )
    latest = await _latest(session, [d.id for d in deliveries])
    jobs = {job.delivery_id: job for job in await job_queue.jobs_of_post(session, post.id)}
    views: list[DeliveryMetrics] = []
    for delivery in deliveries:
        account = accounts.get(delivery.account_id)
        network = account.network if account else Network.SANDBOX
        snapshot = latest.get(delivery.id)
        job = jobs.get(delivery.id)
        views.append(
            DeliveryMetrics(
                delivery_id=delivery.id,
                account_id=delivery.account_id,
                account_name=account.display_name if account else "(disconnected)",
                network=network,
                provides_metrics=bool(platforms.provides_metrics(network)),
                published_at=delivery.published_at,
                remote_url=delivery.remote_url,
                collected_at=snapshot.collected_at if snapshot else None,
                metrics=_values(snapshot) if snapshot else None,
                extra=dict(snapshot.extra) if snapshot else {},
                next_collection_at=job.due_at if job is not None and job.state != "done" else None,
                last_error=job.last_error if job is not None else None,
            )
        )
    requested = [j.refresh_requested_at for j in jobs.values() if j.refresh_requested_at]
    return PostMetrics(
        post_id=post.id,
        deliveries=views,
        totals=_totals([v.metrics for v in views if v.metrics is not None]),
        refresh_available_at=max(requested) + cooldown if requested else None,
    )


async def post_metrics_history(
    session: AsyncSession,
    post: Post,
    since: datetime | None = None,
    delivery_id: uuid.UUID | None = None,
) -> PostMetricsHistory:
    """Every snapshot of the post's deliveries, oldest first (a point per change)."""
    deliveries = [d.id for d in await _published_deliveries(session, post.id)]
    if delivery_id is not None:
        deliveries = [d for d in deliveries if d == delivery_id]
    statement = (
        select(PostMetricSnapshot)
        .where(PostMetricSnapshot.delivery_id.in_(deliveries))
        .order_by(PostMetricSnapshot.collected_at, PostMetricSnapshot.delivery_id)
    )
    if since is not None:
        statement = statement.where(PostMetricSnapshot.collected_at >= since)
    points = [
        MetricPoint(
            delivery_id=row.delivery_id,
            collected_at=row.collected_at,
            **{name: getattr(row, name) for name in POST_FIELDS},
        )
        for row in await session.scalars(statement)
    ]
    return PostMetricsHistory(post_id=post.id, points=points)


async def refresh_now(
    session: AsyncSession, post: Post, now: datetime, cooldown: timedelta
) -> RefreshRequested:
    """Make the post's metric jobs due now, unless asked less than `cooldown` ago (429 with
    Retry-After: the cooldown holds across web processes, it is kept in the jobs)."""
    jobs = await job_queue.jobs_of_post(session, post.id)
    if not jobs:
        raise Conflict(
            "This post has no numbers to refresh: it is not published yet, or only on "
            "networks that give no metrics.",
            code="no_metrics",
        )
    requested = [job.refresh_requested_at for job in jobs if job.refresh_requested_at]
    if requested and now < max(requested) + cooldown:
        wait = math.ceil((max(requested) + cooldown - now).total_seconds())
        raise RateLimited(
            f"The numbers of this post were refreshed moments ago; try again in {wait} s.",
            retry_after=wait,
        )
    touched = await job_queue.request_refresh(session, post.id, now)
    queue_event(session, post.workspace_id, REFRESH_REQUESTED, {"post_id": str(post.id)})
    return RefreshRequested(post_id=post.id, jobs=len(touched), refresh_available_at=now + cooldown)
