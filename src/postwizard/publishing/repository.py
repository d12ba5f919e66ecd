"""Queries for deliveries: the claim that lets any number of workers share the work safely."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.db.bulk import one_of
from postwizard.db.partial_indexes import in_index
from postwizard.posts.models import Post, PostStatus
from postwizard.publishing.models import (
    CLAIMABLE,
    Attempt,
    Delivery,
    DeliveryState,
    WorkerHeartbeat,
)

# Final states that say something about the post (a cancelled delivery says nothing).
SETTLED = (DeliveryState.PUBLISHED, DeliveryState.FAILED, DeliveryState.MISSED)


def _lease_ran_out(now: datetime) -> ColumnElement[bool]:
    """Claims whose worker's lease ran out (its call may have gone through: those are
    reconciled, never blindly retried)."""
    return (Delivery.state == DeliveryState.CLAIMED) & (Delivery.lease_expires_at < now)


def _claimable() -> ColumnElement[bool]:
    """Claimable, as the partial index `ix_delivery_due` (claimable deliveries in due order)
    needs it written to be used."""
    return in_index(Delivery.state, CLAIMABLE)


def _due_claimable(now: datetime) -> ColumnElement[bool]:
    return _claimable() & (Delivery.next_attempt_at <= now)


async def claim_due(
    session: AsyncSession, worker: str, now: datetime, lease_until: datetime, limit: int
) -> Sequence[Delivery]:
    """Lease up to `limit` due deliveries to `worker`: claims whose lease ran out first, then
    due claimable deliveries, oldest due first. Two claims, each a range scan of an index that
    stops after `limit` rows (one OR of both made the server read and sort every due delivery
    for every claim: 3 ms each with 10,000 due).

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent workers never take the same row and
    never wait for each other. SQLite: each UPDATE … RETURNING statement is atomic (SQLite
    serialises writers), which is all one embedded dispatcher needs."""
    claimed: list[Delivery] = []
    for condition in (_lease_ran_out(now), _due_claimable(now)):
        if len(claimed) >= limit:
            break
        candidates = (
            select(Delivery.id)
            .where(condition)
            .order_by(Delivery.next_attempt_at)
            .limit(limit - len(claimed))
            .with_for_update(skip_locked=True)
        )
        rows = await session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(candidates.scalar_subquery()))
            .values(
                state=DeliveryState.CLAIMED,
                lease_owner=worker,
                lease_expires_at=lease_until,
                updated_at=now,
            )
            .returning(Delivery)
            .execution_options(synchronize_session=False)
        )
        claimed += rows.all()
    return claimed


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the dispatcher next has something to do (to sleep until then): the earliest due
    claimable delivery or lease expiry, each the first entry of an index."""
    due = (
        select(Delivery.next_attempt_at)
        .where(_claimable())
        .order_by(Delivery.next_attempt_at)
        .limit(1)
        .scalar_subquery()
    )
    lease = (
        select(func.min(Delivery.lease_expires_at))
        .where(Delivery.state == DeliveryState.CLAIMED)
        .scalar_subquery()
    )
    moments = (await session.execute(select(due, lease))).one()
    return min((moment for moment in moments if moment is not None), default=None)


async def deliveries_of_post(session: AsyncSession, post_id: uuid.UUID) -> Sequence[Delivery]:
    return (
        await session.scalars(
            select(Delivery).where(Delivery.post_id == post_id).order_by(Delivery.id)
        )
    ).all()


async def deliveries_of_posts(
    session: AsyncSession, post_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Delivery]]:
    grouped: dict[uuid.UUID, list[Delivery]] = {}
    rows = await session.scalars(
        select(Delivery).where(one_of(session, Delivery.post_id, post_ids)).order_by(Delivery.id)
    )
    for delivery in rows:
        grouped.setdefault(delivery.post_id, []).append(delivery)
    return grouped


async def posts_to_settle(session: AsyncSession) -> Sequence[uuid.UUID]:
    """Posts still marked scheduled or publishing whose deliveries have all finished: their
    state was not derived yet (the worker that finished the last one stopped first)."""
    unfinished = (
        select(Delivery.id)
        .where(
            Delivery.post_id == Post.id,
            Delivery.state.in_((*CLAIMABLE, DeliveryState.CLAIMED)),
        )
        .exists()
    )
    finished = (
        select(Delivery.id).where(Delivery.post_id == Post.id, Delivery.state.in_(SETTLED)).exists()
    )
    statement = select(Post.id).where(
        Post.status.in_((PostStatus.SCHEDULED, PostStatus.PUBLISHING)), finished, ~unfinished
    )
    return (await session.scalars(statement)).all()


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> Sequence[Attempt]:
    return (
        await session.scalars(
            select(Attempt)
            .where(one_of(session, Attempt.delivery_id, delivery_ids))
            .order_by(Attempt.delivery_id, Attempt.number)
        )
    ).all()


# A worker silent for this many heartbeats is shown as not alive (30 s at the default 5 s).
WORKER_ALIVE_BEATS = 6


def worker_alive_window(heartbeat_seconds: float) -> timedelta:
    """How recent a worker's last heartbeat must be for it to count as alive."""
    return timedelta(seconds=heartbeat_seconds * WORKER_ALIVE_BEATS)


async def live_and_recent_workers(
    session: AsyncSession, since: datetime
) -> Sequence[WorkerHeartbeat]:
    return (
        await session.scalars(
            select(WorkerHeartbeat)
            .where(WorkerHeartbeat.seen_at >= since)
            .order_by(WorkerHeartbeat.seen_at.desc())
        )
    ).all()


async def queue_counts(
    session: AsyncSession, workspace_id: uuid.UUID | None, now: datetime
) -> tuple[int, int, datetime | None]:
    """(waiting or in progress, due but not started, the oldest due time among those)."""
    waiting = Delivery.state.in_((*CLAIMABLE, DeliveryState.CLAIMED))
    due = _due_claimable(now)
    scope = [Delivery.workspace_id == workspace_id] if workspace_id else []
    depth = await session.scalar(select(func.count()).select_from(Delivery).where(waiting, *scope))
    late = await session.execute(select(func.count(), func.min(Delivery.due_at)).where(due, *scope))
    count, oldest = late.one()
    return depth or 0, count or 0, oldest


async def recent_failures(
    session: AsyncSession, workspace_id: uuid.UUID, limit: int = 10
) -> Sequence[Delivery]:
    statement = (
        select(Delivery)
        .where(
            Delivery.workspace_id == workspace_id,
            Delivery.state.in_((DeliveryState.FAILED, DeliveryState.MISSED)),
        )
        .order_by(Delivery.updated_at.desc())
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def delivery_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, delivery_id: uuid.UUID
) -> Delivery | None:
    return await session.scalar(
        select(Delivery).where(Delivery.id == delivery_id, Delivery.workspace_id == workspace_id)
    )


async def published_since(
    session: AsyncSession, account_id: uuid.UUID, since: datetime
) -> list[datetime]:
    """When the account's deliveries were published since `since` (for daily caps)."""
    rows = await session.scalars(
        select(Delivery.published_at).where(
            Delivery.account_id == account_id,
            Delivery.state == DeliveryState.PUBLISHED,
            Delivery.published_at >= since,
        )
    )
    return [moment for moment in rows if moment is not None]


async def still_holds(session: AsyncSession, delivery_id: uuid.UUID, worker: str) -> bool:
    """Whether `worker` still holds the delivery, so that its call's outcome may be recorded: its
    lease may have run out, but no other worker has taken the delivery over. The row stays locked
    (PostgreSQL) until the caller commits, so no one can take it over in between."""
    return delivery_id in await still_held(session, [delivery_id], worker)


async def still_held(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID], worker: str
) -> set[uuid.UUID]:
    """`still_holds` for many deliveries in one statement: the ones `worker` still holds."""
    result = await session.execute(
        update(Delivery)
        .where(
            one_of(session, Delivery.id, delivery_ids),
            Delivery.state == DeliveryState.CLAIMED,
            Delivery.lease_owner == worker,
        )
        .values(lease_owner=worker)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars().all())


async def renew_lease(
    session: AsyncSession, delivery_id: uuid.UUID, worker: str, now: datetime, until: datetime
) -> bool:
    """Extend `worker`'s lease if it still holds it and it has not run out (checked by the
    database in one statement, so a worker that took over cannot be overruled)."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.state == DeliveryState.CLAIMED,
            Delivery.lease_owner == worker,
            Delivery.lease_expires_at > now,
        )
        .values(lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
