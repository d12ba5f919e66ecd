"""Queries for caption settings, generations and what feedback says about them."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.captions.models import CaptionGeneration, CaptionSettings
from postwizard.posts.models import Post, PostStatus

# Feedback counts from this many recent generations: recent taste matters more than old.
FEEDBACK_WINDOW = 200


async def settings_of(session: AsyncSession, workspace_id: uuid.UUID) -> CaptionSettings | None:
    return await session.get(CaptionSettings, workspace_id)


async def generation_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, generation_id: uuid.UUID
) -> CaptionGeneration | None:
    return await session.scalar(
        select(CaptionGeneration).where(
            CaptionGeneration.id == generation_id,
            CaptionGeneration.workspace_id == workspace_id,
        )
    )


async def recent_generations(
    session: AsyncSession, workspace_id: uuid.UUID, limit: int, before: uuid.UUID | None
) -> Sequence[CaptionGeneration]:
    """Newest first; `before` is the last id of the previous page."""
    statement = select(CaptionGeneration).where(CaptionGeneration.workspace_id == workspace_id)
    if before is not None:
        statement = statement.where(CaptionGeneration.id < before)
    statement = statement.order_by(CaptionGeneration.id.desc()).limit(limit)
    return (await session.scalars(statement)).all()


async def kept_styles(session: AsyncSession, workspace_id: uuid.UUID) -> Counter[str]:
    """How often each offline style was the variant people kept, in recent generations."""
    rows = await session.execute(
        select(CaptionGeneration.variants, CaptionGeneration.kept_index)
        .where(
            CaptionGeneration.workspace_id == workspace_id,
            CaptionGeneration.kept_index.is_not(None),
        )
        .order_by(CaptionGeneration.id.desc())
        .limit(FEEDBACK_WINDOW)
    )
    kept: Counter[str] = Counter()
    for variants, index in rows:
        if index is not None and 0 <= index < len(variants):
            style = variants[index].get("style")
            if isinstance(style, str) and style:
                kept[style] += 1
    return kept


async def token_usage_since(
    session: AsyncSession, workspace_id: uuid.UUID, since: datetime
) -> tuple[int, int]:
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(CaptionGeneration.prompt_tokens), 0),
                func.coalesce(func.sum(CaptionGeneration.completion_tokens), 0),
            ).where(
                CaptionGeneration.workspace_id == workspace_id,
                CaptionGeneration.created_at >= since,
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def published_post_texts(
    session: AsyncSession, workspace_id: uuid.UUID, limit: int
) -> list[str]:
    """The workspace's published posts, newest first (until analytics rank them by results)."""
    texts = await session.scalars(
        select(Post.text)
        .where(
            Post.workspace_id == workspace_id,
            Post.status.in_([PostStatus.PUBLISHED, PostStatus.PARTIALLY_PUBLISHED]),
            Post.text != "",
        )
        .order_by(Post.updated_at.desc())
        .limit(limit)
    )
    return list(texts)
