"""Rules of notifications: which event becomes what, for whom, on which channel; endpoints."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.credentials import derived_fernet
from postwizard.accounts.models import SocialAccount
from postwizard.config import Settings
from postwizard.db.base import utcnow
from postwizard.errors import PostWizardError
from postwizard.ids import uuid7
from postwizard.net.ssrf import TargetPolicy, check_url
from postwizard.notifications import repository
from postwizard.notifications.catalog import BY_TYPE, Audience, default_enabled
from postwizard.notifications.email import email_configured
from postwizard.notifications.fcm import fcm_configured
from postwizard.notifications.models import (
    Channel,
    Notification,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    PushKind,
    WebhookEndpoint,
)
from postwizard.posts.models import Post
from postwizard.realtime.events import Event, queue_event
from postwizard.workspaces.models import Role

_SECRET_PURPOSE = b"postwizard/webhook-secret/v1"
NOTIFICATION_CREATED = "notification.created"
PUSH_BODY_LIMIT = 1000


@dataclass(frozen=True)
class Occurrence:
    """Something worth telling people, with the key that makes it happen once."""

    workspace_id: uuid.UUID
    type: str
    data: dict[str, Any]
    key: str


def occurrence_of(event: Event) -> Occurrence | None:
    """The notification an event on the bus stands for, None for events nobody is told about."""
    key = f"{event.type}:{event.id}:{event.at.isoformat()}"
    if event.type == "delivery.updated":
        if event.data.get("state") != "failed":
            return None
        return Occurrence(event.workspace_id, "delivery.failed", event.data, key)
    if event.type in BY_TYPE:
        return Occurrence(event.workspace_id, event.type, event.data, key)
    return None


def _snippet(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def _describe(
    session: AsyncSession, occurrence: Occurrence
) -> tuple[str, str, str | None, uuid.UUID | None]:
    """(title, body, link in the app, the post's author) for an occurrence."""
    data = occurrence.data
    post: Post | None = None
    if "post_id" in data:
        post = await session.get(Post, uuid.UUID(str(data["post_id"])))
    quoted = f"“{_snippet(post.text)}”" if post is not None and post.text else "A post"
    link = f"/posts/{post.id}" if post is not None else None
    author = post.author_id if post is not None else None
    kind = BY_TYPE[occurrence.type]
    match occurrence.type:
        case "post.published":
            return kind.label, f"{quoted} was published.", link, author
        case "post.partially_published":
            return (
                kind.label,
                f"{quoted} went out on some networks; see which failed.",
                link,
                author,
            )
        case "post.failed":
            return kind.label, f"{quoted} could not be published on any network.", link, author
        case "delivery.failed":
            reason = data.get("error") or "no reason given"
            return kind.label, f"{quoted}: {reason}", link, author
        case "account.needs_reconnect":
            account = await session.get(SocialAccount, uuid.UUID(str(data.get("id"))))
            name = account.display_name if account is not None else "An account"
            return (
                kind.label,
                f"{name} lost its access; reconnect it to keep publishing.",
                "/accounts",
                None,
            )
        case "post.submitted":
            return kind.label, f"{quoted} is waiting for your approval.", link, author
        case "post.approved":
            return kind.label, f"{quoted} was approved.", link, author
        case "post.rejected":
            comment = data.get("comment")
            return (
                kind.label,
                f"{quoted} was rejected" + (f": {comment}" if comment else "."),
                link,
                author,
            )
        case _:
            return kind.label, str(data.get("message", "")), data.get("link"), None


async def _recipients(
    session: AsyncSession, occurrence: Occurrence, audience: Audience, author: uuid.UUID | None
) -> Sequence[tuple[uuid.UUID, str]]:
    if audience is Audience.ADMINS:
        return await repository.members(session, occurrence.workspace_id, Role.ADMIN)
    everyone = await repository.members(session, occurrence.workspace_id)
    if audience is Audience.AUTHOR:
        return [member for member in everyone if member[0] == author]
    return everyone


async def record(session: AsyncSession, settings: Settings, occurrence: Occurrence) -> None:
    """Write the occurrence's feed entries, emails and webhook calls in one transaction (the
    caller commits, then publishes the queued `notification.created` events)."""
    kind = BY_TYPE[occurrence.type]
    title, body, link, author = await _describe(session, occurrence)
    people = await _recipients(session, occurrence, kind.audience, author)
    choices = await repository.preferences_of(session, [p for p, _ in people], occurrence.type)

    def wants(user_id: uuid.UUID, channel: Channel) -> bool:
        return choices.get(
            (user_id, occurrence.type, channel), default_enabled(occurrence.type, channel)
        )

    now = utcnow()
    # A push carries at most about 4 KB once encrypted; a long failure reason is cut short.
    push_payload = {
        "title": title,
        "body": _snippet(body, PUSH_BODY_LIMIT),
        "link": link,
        "type": occurrence.type,
    }
    in_app = [user_id for user_id, _ in people if wants(user_id, Channel.IN_APP)]
    await repository.insert_ignoring_duplicates(
        session,
        Notification,
        [
            {
                "id": uuid7(),
                "created_at": now,
                "workspace_id": occurrence.workspace_id,
                "user_id": user_id,
                "type": occurrence.type,
                "title": title,
                "body": body,
                "link": link,
                "data": occurrence.data,
                "read_at": None,
                "dedup_key": f"{user_id}:{occurrence.key}",
            }
            for user_id in in_app
        ],
    )
    outbox: list[dict[str, Any]] = []
    if email_configured(settings):
        for user_id, address in people:
            if wants(user_id, Channel.EMAIL):
                outbox.append(
                    _outbox_row(
                        occurrence,
                        OutboxKind.EMAIL,
                        {"subject": title, "text": body, "link": _absolute(settings, link)},
                        f"email:{user_id}:{occurrence.key}",
                        now,
                        recipient=address,
                    )
                )
    outbox.extend(
        await _push_rows(session, settings, occurrence, [p for p, _ in people], wants, push_payload)
    )
    event_id = str(uuid7())
    for endpoint in await repository.endpoints_of(session, occurrence.workspace_id):
        if endpoint.enabled and occurrence.type in endpoint.events:
            outbox.append(
                _outbox_row(
                    occurrence,
                    OutboxKind.WEBHOOK,
                    webhook_payload(event_id, occurrence, title, body, now),
                    f"webhook:{endpoint.id}:{occurrence.key}",
                    now,
                    endpoint_id=endpoint.id,
                )
            )
    await repository.insert_ignoring_duplicates(session, OutboxMessage, outbox)
    for user_id in in_app:
        queue_event(
            session,
            occurrence.workspace_id,
            NOTIFICATION_CREATED,
            {"user_id": str(user_id), "type": occurrence.type},
        )


async def _push_rows(
    session: AsyncSession,
    settings: Settings,
    occurrence: Occurrence,
    people: Sequence[uuid.UUID],
    wants: Callable[[uuid.UUID, Channel], bool],
    payload: dict[str, Any],
) -> list[dict[str, Any]]:
    """One outbox row per push subscription of each person who wants the event pushed there
    (one row each, so a retry never repeats a push another browser already got)."""
    kinds = [PushKind.WEB_PUSH] + ([PushKind.FCM] if fcm_configured(settings) else [])
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for kind in kinds:
        channel = Channel(kind.value)
        wanting = [user_id for user_id in people if wants(user_id, channel)]
        if not wanting:
            continue
        for subscription in await repository.subscriptions_of(session, wanting, kind):
            message = payload
            if kind is PushKind.FCM:  # an app has no origin to resolve relative links against
                message = {**payload, "link": _absolute(settings, payload["link"])}
            rows.append(
                _outbox_row(
                    occurrence,
                    OutboxKind(kind.value),
                    message,
                    f"{kind.value}:{subscription.id}:{occurrence.key}",
                    now,
                    subscription_id=subscription.id,
                )
            )
    return rows


def _absolute(settings: Settings, link: str | None) -> str | None:
    return settings.effective_public_url.rstrip("/") + link if link else None


def webhook_payload(
    event_id: str, occurrence: Occurrence, title: str, body: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": occurrence.type,
        "created_at": now.isoformat(),
        "workspace_id": str(occurrence.workspace_id),
        "title": title,
        "body": body,
        "data": occurrence.data,
    }


def _outbox_row(
    occurrence: Occurrence,
    kind: OutboxKind,
    payload: dict[str, Any],
    dedup_key: str,
    now: datetime,
    *,
    recipient: str | None = None,
    endpoint_id: uuid.UUID | None = None,
    subscription_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "created_at": now,
        "workspace_id": occurrence.workspace_id,
        "kind": kind,
        "endpoint_id": endpoint_id,
        "subscription_id": subscription_id,
        "recipient": recipient,
        "event_type": occurrence.type,
        "payload": payload,
        "dedup_key": dedup_key,
        "state": OutboxState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
    }


# Webhook endpoints


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def encrypt_secret(secret_key: str, secret: str) -> bytes:
    return derived_fernet(secret_key, _SECRET_PURPOSE).encrypt(secret.encode())


def decrypt_secret(secret_key: str, blob: bytes) -> str:
    return derived_fernet(secret_key, _SECRET_PURPOSE).decrypt(blob).decode()


async def check_endpoint_url(url: str, settings: Settings) -> None:
    """Refuse (422 at `url`) a URL that leads into a private network the settings do not allow."""

    def refuse(message: str) -> Exception:
        return PostWizardError(
            message,
            code="unsafe_url",
            status_code=422,
            fields=[{"field": "url", "message": message}],
        )

    await check_url(url, TargetPolicy.from_settings(settings), refuse)


async def queue_test_event(session: AsyncSession, endpoint: WebhookEndpoint) -> OutboxMessage:
    """A `webhook.test` call to this endpoint only, delivered like any other."""
    now = utcnow()
    occurrence = Occurrence(
        endpoint.workspace_id, "webhook.test", {"endpoint_id": str(endpoint.id)}, str(uuid7())
    )
    message = OutboxMessage(
        **_outbox_row(
            occurrence,
            OutboxKind.WEBHOOK,
            webhook_payload(
                str(uuid7()), occurrence, "Test event", "PostWizard can reach this endpoint.", now
            ),
            f"webhook-test:{occurrence.key}",
            now,
            endpoint_id=endpoint.id,
        )
    )
    session.add(message)
    await session.flush()
    return message
