"""Growth queries: published deliveries with the facts rules filter on, follower counts,
and the goals, challenges and freeze days themselves."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.models import SocialAccount
from postwizard.analytics.models import AccountStatsSnapshot
from postwizard.analytics.queries import latest_snapshot
from postwizard.growth.models import GrowthChallenge, GrowthGoal, StreakFreeze
from postwizard.media.models import Media, MediaKind
from postwizard.platforms.networks import Network
from postwizard.posts.models import Post, PostMedia
from postwizard.publishing.models import Delivery, DeliveryState
from postwizard.workspaces.models import Workspace


@dataclass(frozen=True)
class Published:
    """A published delivery and what challenge rules filter and measure it by."""

    delivery_id: uuid.UUID
    post_id: uuid.UUID
    account_id: uuid.UUID
    network: Network
    published_at: datetime
    labels: list[str]
    has_media: bool
    has_image: bool
    impressions: int | None
    engagements: int | None


async def published(
    session: AsyncSession, workspace_id: uuid.UUID, start: datetime, end: datetime
) -> list[Published]:
    """The workspace's deliveries published in [start, end), oldest first. Only the
    `published` state counts: cancelled, failed and missed deliveries never do."""
    latest = latest_snapshot(session)
    has_media = exists().where(PostMedia.post_id == Delivery.post_id)
    has_image = (
        exists()
        .where(PostMedia.post_id == Delivery.post_id, Media.id == PostMedia.media_id)
        .where(Media.kind == MediaKind.IMAGE)
    )
    statement = (
        select(
            Delivery.id,
            Delivery.post_id,
            Delivery.account_id,
            SocialAccount.network,
            Delivery.published_at,
            Post.labels,
            has_media.label("has_media"),
            has_image.label("has_image"),
            latest.c.impressions,
            latest.engagements.label("engagements"),
            latest.c.id.label("snapshot_id"),
        )
        .select_from(Delivery)
        .outerjoin(latest.source, latest.on)
        .join(SocialAccount, SocialAccount.id == Delivery.account_id)
        .join(Post, Post.id == Delivery.post_id)
        .where(
            Delivery.workspace_id == workspace_id,
            Delivery.state == DeliveryState.PUBLISHED,
            Delivery.published_at >= start,
            Delivery.published_at < end,
        )
        .order_by(Delivery.published_at)
    )
    return [
        Published(
            delivery_id=row.id,
            post_id=row.post_id,
            account_id=row.account_id,
            network=row.network,
            published_at=row.published_at,
            labels=list(row.labels or []),
            has_media=bool(row.has_media),
            has_image=bool(row.has_image),
            impressions=row.impressions,
            engagements=None if row.snapshot_id is None else int(row.engagements),
        )
        for row in await session.execute(statement)
    ]


async def published_times(session: AsyncSession, workspace_id: uuid.UUID) -> list[datetime]:
    """When each of the workspace's published deliveries went out (for streaks)."""
    statement = select(Delivery.published_at).where(
        Delivery.workspace_id == workspace_id,
        Delivery.state == DeliveryState.PUBLISHED,
        Delivery.published_at.is_not(None),
    )
    return [moment for moment in await session.scalars(statement) if moment is not None]


@dataclass(frozen=True)
class FollowerCount:
    account_id: uuid.UUID
    collected_at: datetime
    followers: int


async def follower_counts(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], since: datetime
) -> list[FollowerCount]:
    """Each account's follower counts from the last one before `since` on, oldest first."""
    result: list[FollowerCount] = []
    stats = AccountStatsSnapshot
    for account_id in account_ids:
        measured = (stats.account_id == account_id, stats.followers.is_not(None))
        before = await session.scalar(
            select(stats)
            .where(*measured, stats.collected_at < since)
            .order_by(stats.collected_at.desc())
            .limit(1)
        )
        rows = list(
            await session.scalars(
                select(stats)
                .where(*measured, stats.collected_at >= since)
                .order_by(stats.collected_at)
            )
        )
        for row in ([before] if before is not None else []) + rows:
            assert row.followers is not None
            result.append(FollowerCount(row.account_id, row.collected_at, row.followers))
    return sorted(result, key=lambda count: count.collected_at)


async def account_ids_of_workspace(
    session: AsyncSession, workspace_id: uuid.UUID
) -> list[uuid.UUID]:
    statement = select(SocialAccount.id).where(SocialAccount.workspace_id == workspace_id)
    return list(await session.scalars(statement))


async def account_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, account_id: uuid.UUID
) -> bool:
    account = await session.get(SocialAccount, account_id)
    return account is not None and account.workspace_id == workspace_id


async def goals(session: AsyncSession, workspace_id: uuid.UUID) -> list[GrowthGoal]:
    statement = (
        select(GrowthGoal)
        .where(GrowthGoal.workspace_id == workspace_id)
        .order_by(GrowthGoal.deadline_at, GrowthGoal.id)
    )
    return list(await session.scalars(statement))


async def challenges(session: AsyncSession, workspace_id: uuid.UUID) -> list[GrowthChallenge]:
    statement = (
        select(GrowthChallenge)
        .where(GrowthChallenge.workspace_id == workspace_id)
        .order_by(GrowthChallenge.ends_at.desc(), GrowthChallenge.id)
    )
    return list(await session.scalars(statement))


async def freeze_days(session: AsyncSession, workspace_id: uuid.UUID) -> set[date]:
    statement = select(StreakFreeze.day).where(StreakFreeze.workspace_id == workspace_id)
    return set(await session.scalars(statement))


async def add_freeze_day(session: AsyncSession, workspace_id: uuid.UUID, day: date) -> None:
    if await session.get(StreakFreeze, (workspace_id, day)) is None:
        session.add(StreakFreeze(workspace_id=workspace_id, day=day))
        await session.flush()


async def remove_freeze_day(session: AsyncSession, workspace_id: uuid.UUID, day: date) -> None:
    await session.execute(
        delete(StreakFreeze).where(
            StreakFreeze.workspace_id == workspace_id, StreakFreeze.day == day
        )
    )


# ---------------------------------------------------------------- for the growth watcher


async def workspace_ids(session: AsyncSession) -> list[uuid.UUID]:
    return list(await session.scalars(select(Workspace.id).order_by(Workspace.id)))


async def workspaces_with_goals_or_challenges(
    session: AsyncSession, ending_after: datetime
) -> set[uuid.UUID]:
    """Workspaces with a goal or challenge that has not ended before `ending_after`."""
    goals = select(GrowthGoal.workspace_id).where(GrowthGoal.deadline_at > ending_after)
    challenges = select(GrowthChallenge.workspace_id).where(GrowthChallenge.ends_at > ending_after)
    return set(await session.scalars(goals.union(challenges)))


async def published_since(session: AsyncSession, workspace_id: uuid.UUID, since: datetime) -> bool:
    """Whether anything of the workspace was published at or after `since` (an index seek)."""
    statement = select(
        exists().where(
            Delivery.workspace_id == workspace_id,
            Delivery.published_at >= since,
            Delivery.state == DeliveryState.PUBLISHED,
        )
    )
    return bool(await session.scalar(statement))


async def newest_growth_timezone(session: AsyncSession, workspace_id: uuid.UUID) -> str | None:
    """The zone of the workspace's newest goal or challenge (the growth page sets the browser's),
    else of its latest scheduled post; None when there is neither."""
    newest: tuple[datetime, str] | None = None
    for model in (GrowthGoal, GrowthChallenge):
        row = (
            await session.execute(
                select(model.created_at, model.timezone)
                .where(model.workspace_id == workspace_id)
                .order_by(model.created_at.desc())
                .limit(1)
            )
        ).first()
        if row is not None and (newest is None or row[0] > newest[0]):
            newest = (row[0], row[1])
    if newest is not None:
        return newest[1]
    zone: str | None = await session.scalar(
        select(Post.schedule_timezone)
        .where(
            Post.workspace_id == workspace_id,
            Post.scheduled_at.is_not(None),
            Post.schedule_timezone.is_not(None),
        )
        .order_by(Post.scheduled_at.desc())
        .limit(1)
    )
    return zone
