"""Notifications: the in-app feed and its unread count, per-person preferences, and the
workspace's outbound webhooks with their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from postwizard.api import API_PREFIX
from postwizard.api.resources import resources
from postwizard.auth.dependencies import CurrentCaller
from postwizard.db.base import utcnow
from postwizard.db.session import DbSession
from postwizard.errors import NotFound
from postwizard.notifications import repository, schemas, service
from postwizard.notifications.catalog import NOTIFICATION_TYPES, default_enabled
from postwizard.notifications.email import email_configured
from postwizard.notifications.fcm import fcm_configured
from postwizard.notifications.models import Channel, WebhookEndpoint
from postwizard.notifications.push_router import router as push_router
from postwizard.workspaces.dependencies import AdminAccess, ViewerAccess

router = APIRouter(prefix=API_PREFIX, tags=["notifications"])
router.include_router(push_router)


@router.get("/workspaces/{workspace_id}/notifications")
async def list_notifications(
    access: ViewerAccess,
    session: DbSession,
    unread_only: bool = False,
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> schemas.Feed:
    """Your notifications in this workspace, newest first, with the unread count. Page with
    `before` = the last item's `created_at`. New ones arrive live as `notification.created`."""
    user_id = access.caller.user.id
    items = await repository.feed(
        session, user_id, access.workspace.id, unread_only=unread_only, before=before, limit=limit
    )
    return schemas.Feed(
        items=[schemas.Notification.model_validate(n) for n in items],
        unread=await repository.unread_count(session, user_id, access.workspace.id),
    )


@router.get("/workspaces/{workspace_id}/notifications/unread-count")
async def unread_count(access: ViewerAccess, session: DbSession) -> schemas.UnreadCount:
    """How many of your notifications in this workspace are unread (the bell's badge)."""
    return schemas.UnreadCount(
        unread=await repository.unread_count(session, access.caller.user.id, access.workspace.id)
    )


@router.post("/workspaces/{workspace_id}/notifications/read")
async def mark_read(
    body: schemas.MarkRead, access: ViewerAccess, session: DbSession
) -> schemas.UnreadCount:
    """Mark the given notifications (or all) read; returns the unread count left."""
    user_id = access.caller.user.id
    await repository.mark_read(session, user_id, access.workspace.id, body.ids, utcnow())
    return schemas.UnreadCount(
        unread=await repository.unread_count(session, user_id, access.workspace.id)
    )


async def _preferences(
    session: DbSession, request: Request, user_id: uuid.UUID
) -> schemas.Preferences:
    chosen = await repository.preferences_of(session, [user_id])

    def enabled(event_type: str, channel: Channel) -> bool:
        return chosen.get((user_id, event_type, channel), default_enabled(event_type, channel))

    return schemas.Preferences(
        items=[
            schemas.Preference(
                event_type=kind.type,
                label=kind.label,
                in_app=enabled(kind.type, Channel.IN_APP),
                email=enabled(kind.type, Channel.EMAIL),
                web_push=enabled(kind.type, Channel.WEB_PUSH),
                fcm=enabled(kind.type, Channel.FCM),
            )
            for kind in NOTIFICATION_TYPES
        ],
        email_available=email_configured(resources(request).settings),
        fcm_available=fcm_configured(resources(request).settings),
    )


@router.get("/notification-preferences")
async def get_preferences(
    caller: CurrentCaller, session: DbSession, request: Request
) -> schemas.Preferences:
    """Which events you are told about, in the app, by email and by push (for every workspace)."""
    return await _preferences(session, request, caller.user.id)


@router.put("/notification-preferences")
async def update_preferences(
    body: schemas.PreferencesUpdate, caller: CurrentCaller, session: DbSession, request: Request
) -> schemas.Preferences:
    """Change some choices; the ones not named stay as they are."""
    for item in body.items:
        for channel, value in (
            (Channel.IN_APP, item.in_app),
            (Channel.EMAIL, item.email),
            (Channel.WEB_PUSH, item.web_push),
            (Channel.FCM, item.fcm),
        ):
            if value is not None:
                await repository.set_preference(
                    session, caller.user.id, item.event_type, channel, value
                )
    return await _preferences(session, request, caller.user.id)


@router.get("/notification-types")
async def notification_types(caller: CurrentCaller) -> list[schemas.NotificationType]:
    """Every event a notification or a webhook can be about."""
    return [schemas.NotificationType(type=k.type, label=k.label) for k in NOTIFICATION_TYPES]


# Webhooks (admins)

WEBHOOKS = "/workspaces/{workspace_id}/webhooks"


async def _endpoint(
    session: DbSession, access: AdminAccess, webhook_id: uuid.UUID
) -> WebhookEndpoint:
    endpoint = await repository.endpoint_in_workspace(session, access.workspace.id, webhook_id)
    if endpoint is None:
        raise NotFound("No such webhook in this workspace.")
    return endpoint


@router.get(WEBHOOKS)
async def list_webhooks(access: AdminAccess, session: DbSession) -> list[schemas.Webhook]:
    """The workspace's webhook endpoints."""
    return [
        schemas.Webhook.model_validate(e)
        for e in await repository.endpoints_of(session, access.workspace.id)
    ]


@router.post(WEBHOOKS, status_code=201)
async def create_webhook(
    body: schemas.WebhookCreate, access: AdminAccess, session: DbSession, request: Request
) -> schemas.WebhookCreated:
    """Add an endpoint. Calls carry `PostWizard-Signature: t=<unix>,v1=<hex>`, the HMAC-SHA256
    of `"<t>.<body>"` with the returned secret (see docs/webhooks.md). Private-network URLs
    are refused (422 at `url`) unless the administrator allows them."""
    held = resources(request)
    url = str(body.url)
    await service.check_endpoint_url(url, held.settings)
    secret = service.new_secret()
    endpoint = WebhookEndpoint(
        workspace_id=access.workspace.id,
        url=url,
        description=body.description,
        events=body.events,
        secret_encrypted=service.encrypt_secret(held.secret_key, secret),
        enabled=True,
        consecutive_failures=0,
    )
    session.add(endpoint)
    await session.flush()
    return schemas.WebhookCreated.model_validate(
        {**schemas.Webhook.model_validate(endpoint).model_dump(), "secret": secret}
    )


@router.patch(WEBHOOKS + "/{webhook_id}")
async def update_webhook(
    webhook_id: uuid.UUID,
    body: schemas.WebhookUpdate,
    access: AdminAccess,
    session: DbSession,
    request: Request,
) -> schemas.Webhook:
    """Change an endpoint; `enabled: true` re-enables one that was disabled after failures."""
    endpoint = await _endpoint(session, access, webhook_id)
    if body.url is not None:
        await service.check_endpoint_url(str(body.url), resources(request).settings)
        endpoint.url = str(body.url)
    if body.description is not None:
        endpoint.description = body.description
    if body.events is not None:
        endpoint.events = body.events
    if body.enabled is not None:
        endpoint.enabled = body.enabled
        if body.enabled:
            endpoint.disabled_reason = None
            endpoint.consecutive_failures = 0
    await session.flush()
    return schemas.Webhook.model_validate(endpoint)


@router.delete(WEBHOOKS + "/{webhook_id}", status_code=204)
async def delete_webhook(
    webhook_id: uuid.UUID, access: AdminAccess, session: DbSession
) -> Response:
    """Remove an endpoint and its delivery log."""
    await session.delete(await _endpoint(session, access, webhook_id))
    return Response(status_code=204)


@router.post(WEBHOOKS + "/{webhook_id}/test", status_code=202)
async def send_test_event(
    webhook_id: uuid.UUID, access: AdminAccess, session: DbSession
) -> schemas.WebhookDelivery:
    """Queue a signed `webhook.test` call to this endpoint; follow it in the delivery log."""
    endpoint = await _endpoint(session, access, webhook_id)
    message = await service.queue_test_event(session, endpoint)
    return schemas.WebhookDelivery.model_validate({**_delivery_fields(message), "log": []})


def _delivery_fields(message: object) -> dict[str, object]:
    return {
        name: getattr(message, name)
        for name in schemas.WebhookDelivery.model_fields
        if name != "log"
    }


@router.get(WEBHOOKS + "/{webhook_id}/deliveries")
async def webhook_deliveries(
    webhook_id: uuid.UUID,
    access: AdminAccess,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[schemas.WebhookDelivery]:
    """The endpoint's recent calls, newest first, each with its attempts and response codes."""
    endpoint = await _endpoint(session, access, webhook_id)
    messages = await repository.deliveries_of_endpoint(session, endpoint.id, limit)
    attempts = await repository.attempts_of(session, [m.id for m in messages])
    by_message: dict[uuid.UUID, list[schemas.WebhookAttempt]] = {}
    for attempt in attempts:
        by_message.setdefault(attempt.message_id, []).append(
            schemas.WebhookAttempt.model_validate(attempt)
        )
    return [
        schemas.WebhookDelivery.model_validate(
            {**_delivery_fields(m), "log": by_message.get(m.id, [])}
        )
        for m in messages
    ]
