"""Push subscriptions of the signed-in person: browsers (Web Push) and app devices (FCM).

Included by the notifications router (under `/api/v1`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from postwizard.api.resources import resources
from postwizard.auth.dependencies import CurrentCaller
from postwizard.db.session import DbSession
from postwizard.errors import NotFound
from postwizard.notifications import repository, schemas, web_push
from postwizard.notifications.models import PushKind, PushSubscription

router = APIRouter(tags=["notifications"])

SUBSCRIPTIONS = "/push/subscriptions"
USER_AGENT_MAX = 300


def _user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:USER_AGENT_MAX]


async def _register(
    session: DbSession,
    user_id: uuid.UUID,
    kind: PushKind,
    target: str,
    user_agent: str,
    *,
    p256dh: str | None = None,
    auth: str | None = None,
) -> PushSubscription:
    """Store the subscription, or take over the one with the same target (the browser or
    device is now this person's, with these keys)."""
    subscription = await repository.subscription_by_target(session, target)
    if subscription is None:
        subscription = PushSubscription(user_id=user_id, kind=kind, target=target)
        session.add(subscription)
    subscription.user_id = user_id
    subscription.kind = kind
    subscription.p256dh = p256dh
    subscription.auth = auth
    subscription.user_agent = user_agent
    await session.flush()
    return subscription


@router.get("/push/web-push-key")
async def web_push_key(
    caller: CurrentCaller, session: DbSession, request: Request
) -> schemas.WebPushKey:
    """The instance's VAPID public key, to pass as `applicationServerKey` when the browser
    subscribes (generated once per instance on first use)."""
    keys = await web_push.vapid_keys(session, resources(request).secret_key)
    return schemas.WebPushKey(public_key=keys.public_key)


@router.get(SUBSCRIPTIONS)
async def list_push_subscriptions(
    caller: CurrentCaller, session: DbSession
) -> list[schemas.PushSubscription]:
    """Your browsers and devices that receive push notifications."""
    return [
        schemas.PushSubscription.model_validate(s)
        for s in await repository.subscriptions_of(session, [caller.user.id])
    ]


@router.post(SUBSCRIPTIONS, status_code=201)
async def subscribe_web_push(
    body: schemas.WebPushSubscriptionCreate,
    caller: CurrentCaller,
    session: DbSession,
    request: Request,
) -> schemas.PushSubscription:
    """Receive pushes in this browser: the `PushSubscription` it got from
    `pushManager.subscribe` (endpoint and keys). The endpoint must be an https push service
    URL; private-network addresses are refused (422 at `endpoint`) unless the administrator
    allows them."""
    endpoint, p256dh, auth = await web_push.check_subscription(
        body.endpoint, body.keys.p256dh, body.keys.auth, resources(request).settings
    )
    subscription = await _register(
        session,
        caller.user.id,
        PushKind.WEB_PUSH,
        endpoint,
        _user_agent(request),
        p256dh=p256dh,
        auth=auth,
    )
    return schemas.PushSubscription.model_validate(subscription)


@router.post("/push/fcm-tokens", status_code=201)
async def register_fcm_token(
    body: schemas.FcmTokenCreate, caller: CurrentCaller, session: DbSession, request: Request
) -> schemas.PushSubscription:
    """Receive pushes in the PostWizard app on this device: its FCM registration token.
    Register again when the app gets a new token; remove it with `DELETE
    /push/subscriptions/{id}` on sign-out."""
    subscription = await _register(
        session, caller.user.id, PushKind.FCM, body.token, _user_agent(request)
    )
    return schemas.PushSubscription.model_validate(subscription)


@router.delete(SUBSCRIPTIONS + "/{subscription_id}", status_code=204)
async def unsubscribe(
    subscription_id: uuid.UUID, caller: CurrentCaller, session: DbSession
) -> Response:
    """Stop pushing to that browser or device (pushes still queued for it are dropped)."""
    subscription = await session.get(PushSubscription, subscription_id)
    if subscription is None or subscription.user_id != caller.user.id:
        raise NotFound("No such push subscription of yours.")
    await repository.delete_subscription(session, subscription.id)
    return Response(status_code=204)
