"""Every query of the notes board."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.api.pagination import PageParams, paginate
from postwizard.media.models import Media
from postwizard.notes.models import ColumnStage, Note, NoteColumn
from postwizard.posts.models import Post, PostStatus


async def columns_of(session: AsyncSession, workspace_id: uuid.UUID) -> Sequence[NoteColumn]:
    statement = (
        select(NoteColumn)
        .where(NoteColumn.workspace_id == workspace_id)
        .order_by(NoteColumn.position, NoteColumn.id)
    )
    return (await session.scalars(statement)).all()


async def note_counts(session: AsyncSession, workspace_id: uuid.UUID) -> dict[uuid.UUID, int]:
    statement = (
        select(Note.column_id, func.count())
        .where(Note.workspace_id == workspace_id)
        .group_by(Note.column_id)
    )
    return {column_id: count for column_id, count in (await session.execute(statement)).all()}


async def notes_in_column(session: AsyncSession, column_id: uuid.UUID) -> Sequence[Note]:
    statement = select(Note).where(Note.column_id == column_id).order_by(Note.position, Note.id)
    return (await session.scalars(statement)).all()


async def next_position(session: AsyncSession, column_id: uuid.UUID) -> int:
    highest = await session.scalar(
        select(func.max(Note.position)).where(Note.column_id == column_id)
    )
    return 0 if highest is None else highest + 1


async def note_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, note_id: uuid.UUID
) -> Note | None:
    return await session.scalar(
        select(Note).where(Note.id == note_id, Note.workspace_id == workspace_id)
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page_of_notes(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    page: PageParams,
    *,
    search: str | None,
    column_id: uuid.UUID | None,
) -> tuple[Sequence[Note], str | None]:
    """Notes in creation order; `search` matches title, body and tags, case-insensitively."""
    statement = select(Note).where(Note.workspace_id == workspace_id)
    if column_id is not None:
        statement = statement.where(Note.column_id == column_id)
    if search:
        pattern = _like(search)
        statement = statement.where(
            or_(
                Note.title.ilike(pattern, escape="\\"),
                Note.body.ilike(pattern, escape="\\"),
                cast(Note.tags, String).ilike(pattern, escape="\\"),
            )
        )
    return await paginate(session, statement, Note.id, page)


async def post_states(
    session: AsyncSession, post_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, PostStatus]:
    if not post_ids:
        return {}
    rows = await session.execute(select(Post.id, Post.status).where(Post.id.in_(post_ids)))
    return {post_id: status for post_id, status in rows.all()}


async def media_in_workspace(
    session: AsyncSession, workspace_id: uuid.UUID, media_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    if not media_ids:
        return set()
    rows = await session.scalars(
        select(Media.id).where(Media.workspace_id == workspace_id, Media.id.in_(media_ids))
    )
    return set(rows.all())


async def stage_column(
    session: AsyncSession, workspace_id: uuid.UUID, stage: ColumnStage
) -> NoteColumn | None:
    return await session.scalar(
        select(NoteColumn).where(NoteColumn.workspace_id == workspace_id, NoteColumn.stage == stage)
    )


async def notes_of_post(session: AsyncSession, post_id: uuid.UUID) -> Sequence[Note]:
    return (await session.scalars(select(Note).where(Note.post_id == post_id))).all()


async def notes_of_posts(
    session: AsyncSession, post_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Note]]:
    """The notes that became each of `post_ids` (posts without notes are left out)."""
    grouped: dict[uuid.UUID, list[Note]] = {}
    for note in await session.scalars(select(Note).where(Note.post_id.in_(post_ids))):
        assert note.post_id is not None
        grouped.setdefault(note.post_id, []).append(note)
    return grouped
