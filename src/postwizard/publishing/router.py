"""Deliveries of a post (with every attempt), retrying, and the publishing health panel."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request

from postwizard.accounts import repository as accounts_repository
from postwizard.accounts.models import AccountStatus
from postwizard.api import API_PREFIX
from postwizard.api.resources import resources
from postwizard.db.base import utcnow
from postwizard.db.session import DbSession
from postwizard.errors import NotFound
from postwizard.posts import service as posts_service
from postwizard.publishing import repository, schemas, service
from postwizard.publishing.models import Delivery
from postwizard.workspaces.dependencies import EditorAccess, ViewerAccess

router = APIRouter(prefix=f"{API_PREFIX}/workspaces/{{workspace_id}}", tags=["publishing"])


async def _views(
    session: DbSession, workspace_id: uuid.UUID, deliveries: list[Delivery]
) -> list[schemas.DeliveryView]:
    accounts = await accounts_repository.accounts_in_workspace(
        session, workspace_id, [d.account_id for d in deliveries]
    )
    attempts = await repository.attempts_of(session, [d.id for d in deliveries])
    last = {a.delivery_id: a for a in attempts}  # ordered by number: the last one wins
    views = []
    for delivery in deliveries:
        account = accounts.get(delivery.account_id)
        views.append(
            schemas.DeliveryView(
                id=delivery.id,
                post_id=delivery.post_id,
                account_id=delivery.account_id,
                account_name=account.display_name if account else "(disconnected)",
                network=account.network if account else "sandbox",
                state=delivery.state,
                due_at=delivery.due_at,
                next_attempt_at=delivery.next_attempt_at,
                attempt_count=delivery.attempt_count,
                remote_id=delivery.remote_id,
                remote_url=delivery.remote_url,
                last_error=delivery.last_error,
                published_at=delivery.published_at,
                attempts=[
                    schemas.AttemptView.model_validate(a)
                    for a in attempts
                    if a.delivery_id == delivery.id
                ],
                can_retry=delivery.state in service.RETRYABLE
                and (account is None or account.status != AccountStatus.NEEDS_RECONNECT),
                can_mark_published=service.outcome_unconfirmed(delivery, last.get(delivery.id)),
            )
        )
    return views


@router.get("/posts/{post_id}/deliveries")
async def post_deliveries(
    post_id: uuid.UUID, access: ViewerAccess, session: DbSession
) -> list[schemas.DeliveryView]:
    """Each account's delivery of the post, with every attempt (what was sent, what came back)."""
    post = await posts_service.get_post(session, access.workspace.id, post_id)
    deliveries = list(await repository.deliveries_of_post(session, post.id))
    return await _views(session, access.workspace.id, deliveries)


@router.post("/deliveries/{delivery_id}/retry")
async def retry_delivery(
    delivery_id: uuid.UUID, access: EditorAccess, session: DbSession
) -> schemas.DeliveryView:
    """Send a failed or missed delivery again, now."""
    delivery = await repository.delivery_in_workspace(session, access.workspace.id, delivery_id)
    if delivery is None:
        raise NotFound("No such delivery in this workspace.")
    account = await accounts_repository.account_in_workspace(
        session, access.workspace.id, delivery.account_id
    )
    if account is None:
        raise NotFound("The account of this delivery was disconnected.")
    await service.retry_delivery(session, delivery, account, utcnow())
    return (await _views(session, access.workspace.id, [delivery]))[0]


@router.post("/deliveries/{delivery_id}/mark-published")
async def mark_delivery_published(
    delivery_id: uuid.UUID, body: schemas.MarkPublished, access: EditorAccess, session: DbSession
) -> schemas.DeliveryView:
    """Say that a delivery PostWizard could not confirm did go out (after looking at the network)."""
    delivery = await repository.delivery_in_workspace(session, access.workspace.id, delivery_id)
    if delivery is None:
        raise NotFound("No such delivery in this workspace.")
    attempts = await repository.attempts_of(session, [delivery.id])
    url = str(body.url) if body.url is not None else None
    await service.mark_published(
        session, delivery, attempts[-1] if attempts else None, url, utcnow()
    )
    return (await _views(session, access.workspace.id, [delivery]))[0]


@router.get("/publishing/health")
async def publishing_health(
    access: ViewerAccess, session: DbSession, request: Request
) -> schemas.PublishingHealth:
    """Workers, queue, lateness and recent failures; `alert` says when posts are due and no worker runs."""
    now = utcnow()
    workers = await repository.live_and_recent_workers(session, now - timedelta(hours=1))
    alive_since = now - repository.worker_alive_window(
        resources(request).settings.worker_heartbeat_seconds
    )
    views = [
        schemas.WorkerView(
            worker=w.worker,
            hostname=w.hostname,
            pid=w.pid,
            started_at=w.started_at,
            seen_at=w.seen_at,
            in_flight=w.in_flight,
            alive=w.seen_at >= alive_since,
        )
        for w in workers
    ]
    depth, due, oldest = await repository.queue_counts(session, access.workspace.id, now)
    failures = list(await repository.recent_failures(session, access.workspace.id))
    failure_views = await _views(session, access.workspace.id, failures)
    return schemas.PublishingHealth(
        workers=views,
        queue_depth=depth,
        due_not_started=due,
        oldest_due_seconds=(now - oldest).total_seconds() if oldest else None,
        recent_failures=[
            schemas.FailureView(
                delivery_id=v.id,
                post_id=v.post_id,
                account_name=v.account_name,
                state=v.state,
                last_error=v.last_error,
                due_at=v.due_at,
            )
            for v in failure_views
        ],
        alert=service.health_alert(sum(v.alive for v in views), due, oldest, now),
    )
