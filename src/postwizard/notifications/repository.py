"""Queries of notifications: feed, preferences, endpoints, and the outbox lease claim (the same
mechanism as the dispatcher's and the metric collector's)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.auth.models import User
from postwizard.db.base import utcnow
from postwizard.notifications.models import (
    Channel,
    InstanceKey,
    Notification,
    NotificationPreference,
    OutboxAttempt,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    PushKind,
    PushSubscription,
    WebhookEndpoint,
)
from postwizard.workspaces.models import Membership, Role


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def insert_ignoring_duplicates(
    session: AsyncSession,
    model: type[Notification] | type[OutboxMessage],
    rows: list[dict[str, Any]],
) -> None:
    """Insert rows; one whose `dedup_key` exists already (another process was first) is skipped.
    An executemany of one cached statement: a multi-row VALUES would be compiled anew for
    every batch size, which cost more CPU than the insert itself."""
    if rows:
        await session.execute(_insert(session)(model).on_conflict_do_nothing(), rows)


async def members(
    session: AsyncSession, workspace_id: uuid.UUID, minimum: Role | None = None
) -> Sequence[tuple[uuid.UUID, str]]:
    """(user id, email) of the workspace's members, optionally with at least `minimum`."""
    statement = (
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id)
    )
    if minimum is not None:
        roles = [role for role in Role if role.at_least(minimum)]
        statement = statement.where(Membership.role.in_(roles))
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def preferences_of(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], event_type: str | None = None
) -> dict[tuple[uuid.UUID, str, Channel], bool]:
    statement = select(NotificationPreference).where(
        NotificationPreference.user_id.in_(list(user_ids))
    )
    if event_type is not None:
        statement = statement.where(NotificationPreference.event_type == event_type)
    return {
        (p.user_id, p.event_type, p.channel): p.enabled for p in await session.scalars(statement)
    }


async def set_preference(
    session: AsyncSession, user_id: uuid.UUID, event_type: str, channel: Channel, enabled: bool
) -> None:
    statement = _insert(session)(NotificationPreference).values(
        user_id=user_id, event_type=event_type, channel=channel, enabled=enabled
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "event_type", "channel"], set_={"enabled": enabled}
        )
    )


async def feed(
    session: AsyncSession,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    *,
    unread_only: bool,
    before: datetime | None,
    limit: int,
) -> Sequence[Notification]:
    statement = select(Notification).where(
        Notification.user_id == user_id, Notification.workspace_id == workspace_id
    )
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    if before is not None:
        statement = statement.where(Notification.created_at < before)
    statement = statement.order_by(Notification.created_at.desc(), Notification.id.desc())
    return (await session.scalars(statement.limit(limit))).all()


async def unread_count(session: AsyncSession, user_id: uuid.UUID, workspace_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.workspace_id == workspace_id,
            Notification.read_at.is_(None),
        )
    )
    return count or 0


async def mark_read(
    session: AsyncSession,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    ids: Sequence[uuid.UUID] | None,
    now: datetime,
) -> int:
    """Mark the given (or, with None, all) unread notifications read; how many changed."""
    statement = update(Notification).where(
        Notification.user_id == user_id,
        Notification.workspace_id == workspace_id,
        Notification.read_at.is_(None),
    )
    if ids is not None:
        statement = statement.where(Notification.id.in_(list(ids)))
    result = await session.execute(
        statement.values(read_at=now).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def endpoints_of(session: AsyncSession, workspace_id: uuid.UUID) -> Sequence[WebhookEndpoint]:
    return (
        await session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.workspace_id == workspace_id)
            .order_by(WebhookEndpoint.created_at)
        )
    ).all()


async def endpoint_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint | None:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    return endpoint if endpoint is not None and endpoint.workspace_id == workspace_id else None


async def deliveries_of_endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID, limit: int
) -> Sequence[OutboxMessage]:
    return (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.endpoint_id == endpoint_id)
            .order_by(OutboxMessage.created_at.desc())
            .limit(limit)
        )
    ).all()


async def attempts_of(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> Sequence[OutboxAttempt]:
    return (
        await session.scalars(
            select(OutboxAttempt)
            .where(OutboxAttempt.message_id.in_(list(message_ids)))
            .order_by(OutboxAttempt.attempted_at)
        )
    ).all()


def _claimable(now: datetime) -> Any:
    """Due pending messages and claims whose worker's lease ran out (it died); webhook calls
    only while their endpoint is enabled (a disabled endpoint's calls wait for re-enabling)."""
    endpoint_enabled = (
        select(WebhookEndpoint.id)
        .where(WebhookEndpoint.id == OutboxMessage.endpoint_id, WebhookEndpoint.enabled.is_(True))
        .exists()
    )
    return and_(
        or_(
            (OutboxMessage.state == OutboxState.PENDING) & (OutboxMessage.next_attempt_at <= now),
            (OutboxMessage.state == OutboxState.CLAIMED) & (OutboxMessage.lease_expires_at < now),
        ),
        or_(OutboxMessage.kind != OutboxKind.WEBHOOK, endpoint_enabled),
    )


async def claim_due(
    session: AsyncSession, worker: str, now: datetime, lease_until: datetime, limit: int
) -> Sequence[OutboxMessage]:
    """Lease up to `limit` due messages to `worker` (`FOR UPDATE SKIP LOCKED` on PostgreSQL;
    one atomic UPDATE … RETURNING on SQLite)."""
    candidates = (
        select(OutboxMessage.id)
        .where(_claimable(now))
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates.scalar_subquery()))
        .values(state=OutboxState.CLAIMED, lease_owner=worker, lease_expires_at=lease_until)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    return claimed.all()


async def held_message(
    session: AsyncSession, message_id: uuid.UUID, worker: str
) -> OutboxMessage | None:
    """The message if `worker` still holds it (locked on PostgreSQL until the commit)."""
    return await session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.state == OutboxState.CLAIMED,
            OutboxMessage.lease_owner == worker,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


# Push subscriptions and the instance's keys


async def insert_instance_key(
    session: AsyncSession, name: str, public_key: str, private_key_encrypted: bytes
) -> None:
    """Store a generated key pair unless another process stored one first."""
    await session.execute(
        _insert(session)(InstanceKey)
        .values(
            name=name,
            public_key=public_key,
            private_key_encrypted=private_key_encrypted,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )


async def subscriptions_of(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], kind: PushKind | None = None
) -> Sequence[PushSubscription]:
    statement = select(PushSubscription).where(PushSubscription.user_id.in_(list(user_ids)))
    if kind is not None:
        statement = statement.where(PushSubscription.kind == kind)
    return (await session.scalars(statement.order_by(PushSubscription.created_at))).all()


async def subscription_by_target(session: AsyncSession, target: str) -> PushSubscription | None:
    return await session.scalar(select(PushSubscription).where(PushSubscription.target == target))


async def delete_subscription(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    await session.execute(delete(PushSubscription).where(PushSubscription.id == subscription_id))


async def note_push_success(
    session: AsyncSession, subscription_id: uuid.UUID, at: datetime
) -> None:
    await session.execute(
        update(PushSubscription)
        .where(PushSubscription.id == subscription_id)
        .values(last_success_at=at)
    )
