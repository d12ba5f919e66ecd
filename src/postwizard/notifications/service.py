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
    PushSubscription,
    WebhookEndpoint,
)
from postwizard.posts import repository as posts_repository
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


class _Reads:
    """What recording needs to read, each read once for all the occurrences recorded together
    (a burst of publishing costs a handful of queries, not five per post)."""

    def __init__(self, session: AsyncSession, occurrences: Sequence[Occurrence]) -> None:
        self.session = session
        self._post_ids = {
            uuid.UUID(str(o.data["post_id"])) for o in occurrences if "post_id" in o.data
        }
        self._posts: dict[uuid.UUID, Post] | None = None
        self._members: dict[tuple[uuid.UUID, Role | None], Sequence[tuple[uuid.UUID, str]]] = {}
        self._endpoints: dict[uuid.UUID, Sequence[WebhookEndpoint]] = {}
        self._choices: dict[tuple[uuid.UUID, str, Channel], bool] = {}
        self._choices_of: set[uuid.UUID] = set()
        self._subscriptions: dict[tuple[uuid.UUID, PushKind], list[PushSubscription]] = {}
        self._subscriptions_of: set[tuple[uuid.UUID, PushKind]] = set()

    async def post(self, post_id: uuid.UUID) -> Post | None:
        if self._posts is None:
            posts = await posts_repository.posts_by_ids(self.session, self._post_ids)
            self._posts = {post.id: post for post in posts}
        return self._posts.get(post_id)

    async def members(
        self, workspace_id: uuid.UUID, minimum: Role | None = None
    ) -> Sequence[tuple[uuid.UUID, str]]:
        key = (workspace_id, minimum)
        if key not in self._members:
            self._members[key] = await repository.members(self.session, workspace_id, minimum)
        return self._members[key]

    async def endpoints(self, workspace_id: uuid.UUID) -> Sequence[WebhookEndpoint]:
        if workspace_id not in self._endpoints:
            self._endpoints[workspace_id] = await repository.endpoints_of(
                self.session, workspace_id
            )
        return self._endpoints[workspace_id]

    async def wants(
        self, people: Sequence[uuid.UUID], event_type: str
    ) -> Callable[[uuid.UUID, Channel], bool]:
        """Whether each person wants `event_type` on a channel (their choice, else the default)."""
        missing = [user_id for user_id in people if user_id not in self._choices_of]
        if missing:
            self._choices.update(await repository.preferences_of(self.session, missing))
            self._choices_of.update(missing)

        def wants(user_id: uuid.UUID, channel: Channel) -> bool:
            return self._choices.get(
                (user_id, event_type, channel), default_enabled(event_type, channel)
            )

        return wants

    async def subscriptions(
        self, people: Sequence[uuid.UUID], kind: PushKind
    ) -> list[PushSubscription]:
        missing = [user_id for user_id in people if (user_id, kind) not in self._subscriptions_of]
        if missing:
            for subscription in await repository.subscriptions_of(self.session, missing, kind):
                self._subscriptions.setdefault((subscription.user_id, kind), []).append(
                    subscription
                )
            self._subscriptions_of.update((user_id, kind) for user_id in missing)
        return [s for user_id in people for s in self._subscriptions.get((user_id, kind), [])]


async def _describe(
    reads: _Reads, occurrence: Occurrence
) -> tuple[str, str, str | None, uuid.UUID | None]:
    """(title, body, link in the app, the post's author) for an occurrence."""
    data = occurrence.data
    post: Post | None = None
    if "post_id" in data:
        post = await reads.post(uuid.UUID(str(data["post_id"])))
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
            account = await reads.session.get(SocialAccount, uuid.UUID(str(data.get("id"))))
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
    reads: _Reads, occurrence: Occurrence, audience: Audience, author: uuid.UUID | None
) -> Sequence[tuple[uuid.UUID, str]]:
    if audience is Audience.ADMINS:
        return await reads.members(occurrence.workspace_id, Role.ADMIN)
    everyone = await reads.members(occurrence.workspace_id)
    if audience is Audience.AUTHOR:
        return [member for member in everyone if member[0] == author]
    return everyone


async def record(session: AsyncSession, settings: Settings, occurrence: Occurrence) -> int:
    """`record_many` for one occurrence."""
    return await record_many(session, settings, [occurrence])


async def record_many(
    session: AsyncSession, settings: Settings, occurrences: Sequence[Occurrence]
) -> int:
    """Write the occurrences' feed entries, emails, pushes and webhook calls in the caller's
    transaction (it commits, then publishes the queued `notification.created` events); how many
    outbox messages (emails, pushes, webhook calls) it queued for the sender.

    Everything is read first and written last (one INSERT per table), so on SQLite the write
    lock is held only for those inserts and the commit, not while reading."""
    reads = _Reads(session, occurrences)
    feed: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    for occurrence in occurrences:
        feed_rows, outbox_rows = await _rows_of(reads, settings, occurrence)
        feed += feed_rows
        outbox += outbox_rows
    await repository.insert_ignoring_duplicates(session, Notification, feed)
    await repository.insert_ignoring_duplicates(session, OutboxMessage, outbox)
    for entry in feed:
        queue_event(
            session,
            entry["workspace_id"],
            NOTIFICATION_CREATED,
            {"user_id": str(entry["user_id"]), "type": entry["type"]},
        )
    return len(outbox)


async def _rows_of(
    reads: _Reads, settings: Settings, occurrence: Occurrence
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(feed entries, outbox messages) of one occurrence."""
    kind = BY_TYPE[occurrence.type]
    title, body, link, author = await _describe(reads, occurrence)
    people = await _recipients(reads, occurrence, kind.audience, author)
    wants = await reads.wants([p for p, _ in people], occurrence.type)
    now = utcnow()
    # A push carries at most about 4 KB once encrypted; a long failure reason is cut short.
    push_payload = {
        "title": title,
        "body": _snippet(body, PUSH_BODY_LIMIT),
        "link": link,
        "type": occurrence.type,
    }
    feed = [
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
        for user_id, _ in people
        if wants(user_id, Channel.IN_APP)
    ]
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
        await _push_rows(reads, settings, occurrence, [p for p, _ in people], wants, push_payload)
    )
    event_id = str(uuid7())
    for endpoint in await reads.endpoints(occurrence.workspace_id):
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
    return feed, outbox


async def _push_rows(
    reads: _Reads,
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
        for subscription in await reads.subscriptions(wanting, kind):
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
