"""Queries for posts, their targets, media, comments and the activity log."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.models import SocialAccount
from postwizard.api.pagination import PageParams, paginate
from postwizard.db.bulk import one_of
from postwizard.media.models import Media
from postwizard.platforms.limits import MediaFacts
from postwizard.platforms.networks import Network
from postwizard.posts.models import (
    ActivityEvent,
    Post,
    PostComment,
    PostMedia,
    PostStatus,
    PostTarget,
)

CALENDAR_MAX_POSTS = 2000


@dataclass(frozen=True)
class PostFilters:
    statuses: Sequence[PostStatus] = ()
    account_ids: Sequence[uuid.UUID] = ()
    networks: Sequence[Network] = ()
    labels: Sequence[str] = ()
    search: str | None = None
    campaign: str | None = None


@dataclass
class PostParts:
    """A post with what it is made of, loaded in a fixed number of queries."""

    post: Post
    targets: list[tuple[PostTarget, SocialAccount]] = field(default_factory=list)
    media_ids: list[uuid.UUID] = field(default_factory=list)


async def posts_by_ids(session: AsyncSession, post_ids: Collection[uuid.UUID]) -> Sequence[Post]:
    """The posts with these ids (one query for a whole batch)."""
    if not post_ids:
        return []
    return (await session.scalars(select(Post).where(one_of(session, Post.id, post_ids)))).all()


async def post_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, post_id: uuid.UUID
) -> Post | None:
    return await session.scalar(
        select(Post).where(Post.id == post_id, Post.workspace_id == workspace_id)
    )


def _filtered(workspace_id: uuid.UUID, filters: PostFilters) -> Select[Post]:
    statement = select(Post).where(Post.workspace_id == workspace_id)
    if filters.statuses:
        statement = statement.where(Post.status.in_(filters.statuses))
    if filters.campaign:
        statement = statement.where(Post.campaign == filters.campaign)
    if filters.search:
        # Portable substring search; a full-text index (FTS5 / tsvector) can replace it later.
        pattern = (
            "%" + filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        statement = statement.where(Post.text.ilike(pattern, escape="\\"))
    if filters.account_ids or filters.networks:
        targeted = select(PostTarget.post_id).join(
            SocialAccount, SocialAccount.id == PostTarget.account_id
        )
        if filters.account_ids:
            targeted = targeted.where(PostTarget.account_id.in_(filters.account_ids))
        if filters.networks:
            targeted = targeted.where(SocialAccount.network.in_(filters.networks))
        statement = statement.where(Post.id.in_(targeted))
    return statement


def _with_labels(posts: Sequence[Post], labels: Sequence[str]) -> list[Post]:
    # Labels live in a JSON list; filtering them in Python keeps one query for both databases.
    wanted = set(labels)
    return [post for post in posts if wanted.issubset(post.labels)] if wanted else list(posts)


async def page_of_posts(
    session: AsyncSession, workspace_id: uuid.UUID, filters: PostFilters, params: PageParams
) -> tuple[list[Post], str | None]:
    posts, next_cursor = await paginate(session, _filtered(workspace_id, filters), Post.id, params)
    return _with_labels(posts, filters.labels), next_cursor


async def posts_between(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    start: datetime,
    end: datetime,
    filters: PostFilters,
) -> tuple[list[Post], bool]:
    """Posts scheduled in [start, end), in time order; True when more than the cap matched."""
    statement = (
        _filtered(workspace_id, filters)
        .where(Post.scheduled_at >= start, Post.scheduled_at < end)
        .order_by(Post.scheduled_at, Post.id)
        .limit(CALENDAR_MAX_POSTS + 1)
    )
    posts = list(await session.scalars(statement))
    truncated = len(posts) > CALENDAR_MAX_POSTS
    return _with_labels(posts[:CALENDAR_MAX_POSTS], filters.labels), truncated


async def parts_of(session: AsyncSession, posts: Sequence[Post]) -> list[PostParts]:
    ids = [post.id for post in posts]
    parts = {post.id: PostParts(post) for post in posts}
    if not ids:
        return []
    targets = await session.execute(
        select(PostTarget, SocialAccount)
        .join(SocialAccount, SocialAccount.id == PostTarget.account_id)
        .where(PostTarget.post_id.in_(ids))
        .order_by(PostTarget.id)
    )
    for target, account in targets.all():
        parts[target.post_id].targets.append((target, account))
    media = await session.scalars(
        select(PostMedia)
        .where(PostMedia.post_id.in_(ids))
        .order_by(PostMedia.post_id, PostMedia.position)
    )
    for item in media:
        parts[item.post_id].media_ids.append(item.media_id)
    return [parts[post_id] for post_id in ids]


async def replace_targets(
    session: AsyncSession, post_id: uuid.UUID, targets: Sequence[PostTarget]
) -> None:
    await session.execute(delete(PostTarget).where(PostTarget.post_id == post_id))
    session.add_all(targets)


async def replace_media(
    session: AsyncSession, post_id: uuid.UUID, media_ids: Sequence[uuid.UUID]
) -> None:
    await session.execute(delete(PostMedia).where(PostMedia.post_id == post_id))
    session.add_all(
        PostMedia(post_id=post_id, media_id=m, position=i) for i, m in enumerate(media_ids)
    )


async def scheduled_times_of_accounts(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], after: datetime
) -> dict[uuid.UUID, set[datetime]]:
    """When each account already has a scheduled post (to find a free queue slot)."""
    rows = await session.execute(
        select(PostTarget.account_id, Post.scheduled_at)
        .join(Post, Post.id == PostTarget.post_id)
        .where(
            PostTarget.account_id.in_(account_ids),
            Post.status == PostStatus.SCHEDULED,
            Post.scheduled_at > after,
        )
    )
    taken: dict[uuid.UUID, set[datetime]] = {account_id: set() for account_id in account_ids}
    for account_id, scheduled_at in rows.all():
        if scheduled_at is not None:
            taken[account_id].add(scheduled_at)
    return taken


async def comments_of(session: AsyncSession, post_id: uuid.UUID) -> Sequence[PostComment]:
    return (
        await session.scalars(
            select(PostComment).where(PostComment.post_id == post_id).order_by(PostComment.id)
        )
    ).all()


async def page_of_activity(
    session: AsyncSession, workspace_id: uuid.UUID, post_id: uuid.UUID | None, params: PageParams
) -> tuple[Sequence[ActivityEvent], str | None]:
    statement = select(ActivityEvent).where(ActivityEvent.workspace_id == workspace_id)
    if post_id is not None:
        statement = statement.where(ActivityEvent.post_id == post_id)
    return await paginate(session, statement, ActivityEvent.id, params)


async def media_facts(
    session: AsyncSession, workspace_id: uuid.UUID, media_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, MediaFacts]:
    """What the limit checks need to know of each media item of the workspace."""
    if not media_ids:
        return {}
    items = await session.scalars(
        select(Media).where(Media.workspace_id == workspace_id, Media.id.in_(media_ids))
    )
    return {
        item.id: MediaFacts(
            mime_type=item.mime_type,
            size_bytes=item.size_bytes,
            width=item.width,
            height=item.height,
            duration_seconds=item.duration_seconds,
        )
        for item in items
    }


async def posts_using_media(
    session: AsyncSession, workspace_id: uuid.UUID, media_id: uuid.UUID
) -> int:
    """How many uses a media item has, as a post's media or a target's own media."""
    direct = await session.scalar(
        select(func.count()).select_from(PostMedia).where(PostMedia.media_id == media_id)
    )
    # Target overrides are rare JSON lists; scanning the workspace's few is simpler than a table.
    overrides = await session.scalars(
        select(PostTarget.media_ids)
        .join(Post, Post.id == PostTarget.post_id)
        .where(Post.workspace_id == workspace_id, PostTarget.media_ids.is_not(None))
    )
    in_targets = sum(1 for ids in overrides if ids and str(media_id) in ids)
    return (direct or 0) + in_targets


EXPORT_MAX_POSTS = 100_000


async def all_posts(
    session: AsyncSession, workspace_id: uuid.UUID, filters: PostFilters
) -> list[Post]:
    statement = _filtered(workspace_id, filters).order_by(Post.id).limit(EXPORT_MAX_POSTS)
    return _with_labels(list(await session.scalars(statement)), filters.labels)
