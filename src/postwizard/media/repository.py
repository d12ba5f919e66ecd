"""Queries for the media library."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.api.pagination import PageParams, paginate
from postwizard.media.models import Media, MediaKind
from postwizard.posts.repository import posts_using_media


async def media_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, media_id: uuid.UUID
) -> Media | None:
    return await session.scalar(
        select(Media).where(Media.id == media_id, Media.workspace_id == workspace_id)
    )


async def media_by_sha256(
    session: AsyncSession, workspace_id: uuid.UUID, sha256: str
) -> Media | None:
    return await session.scalar(
        select(Media).where(Media.workspace_id == workspace_id, Media.sha256 == sha256)
    )


async def page_of_media(
    session: AsyncSession, workspace_id: uuid.UUID, kind: MediaKind | None, params: PageParams
) -> tuple[Sequence[Media], str | None]:
    statement = select(Media).where(Media.workspace_id == workspace_id)
    if kind is not None:
        statement = statement.where(Media.kind == kind)
    return await paginate(session, statement, Media.id, params)


async def count_sharing_storage(
    session: AsyncSession, storage_key: str, media_id: uuid.UUID
) -> int:
    """How many other items (in any workspace) use the same stored file."""
    count = await session.scalar(
        select(func.count()).where(Media.storage_key == storage_key, Media.id != media_id)
    )
    return count or 0


async def storage_keys_only_in(session: AsyncSession, workspace_id: uuid.UUID) -> list[str]:
    """Storage keys (files and thumbnails) of the workspace's media that no other workspace uses."""
    rows = await session.execute(
        select(Media.storage_key, Media.thumbnail_key).where(Media.workspace_id == workspace_id)
    )
    keys = {key for pair in rows.all() for key in pair if key}
    if not keys:
        return []
    shared = await session.execute(
        select(Media.storage_key, Media.thumbnail_key).where(
            Media.workspace_id != workspace_id,
            or_(Media.storage_key.in_(keys), Media.thumbnail_key.in_(keys)),
        )
    )
    return sorted(keys - {key for pair in shared.all() for key in pair if key})


async def media_usage_count(
    session: AsyncSession, workspace_id: uuid.UUID, media_id: uuid.UUID
) -> int:
    """How many posts use this item; an item in use cannot be deleted."""
    return await posts_using_media(session, workspace_id, media_id)


async def media_by_ids_or_filenames(
    session: AsyncSession, workspace_id: uuid.UUID, keys: Collection[str]
) -> Sequence[Media]:
    """Items of the workspace named by id or by original file name (as a CSV import refers to them)."""
    if not keys:
        return []
    ids = []
    for key in keys:
        try:
            ids.append(uuid.UUID(key))
        except ValueError:
            continue
    statement = select(Media).where(
        Media.workspace_id == workspace_id,
        or_(Media.id.in_(ids), Media.original_filename.in_(list(keys))),
    )
    return (await session.scalars(statement.order_by(Media.id))).all()
