"""Notes follow their post: to "scheduled" when it is scheduled, to "done" once published.

Called in the same transaction that changes the post's state (`posts.service.schedule`,
`publishing.service.apply_derived_status`), so a note can never miss its post's change: a bus
listener would lose it in a crash between commit and publish, or while no process listens."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.notes import repository
from postwizard.notes.models import ColumnStage, Note
from postwizard.posts.models import Post, PostStatus

STAGE_OF_POST_STATUS = {
    PostStatus.SCHEDULED: ColumnStage.SCHEDULED,
    PostStatus.PUBLISHED: ColumnStage.DONE,
    PostStatus.PARTIALLY_PUBLISHED: ColumnStage.DONE,
}


async def move_to_stage(session: AsyncSession, note: Note, stage: ColumnStage) -> bool:
    """Put the note last in the workspace's `stage` column; False when it has none (removed)."""
    column = await repository.stage_column(session, note.workspace_id, stage)
    if column is None or column.id == note.column_id:
        return False
    note.column_id = column.id
    note.position = await repository.next_position(session, column.id)
    await session.flush()
    return True


async def follow_post(
    session: AsyncSession, post: Post, notes: Sequence[Note] | None = None
) -> None:
    """Move the notes that became `post` to the column its new state belongs in. `notes`: the
    post's notes when the caller read them already (one query for a batch of posts)."""
    stage = STAGE_OF_POST_STATUS.get(post.status)
    if stage is None:
        return
    if notes is None:
        notes = await repository.notes_of_post(session, post.id)
    for note in notes:
        await move_to_stage(session, note, stage)
