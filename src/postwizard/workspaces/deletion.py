"""Deleting a workspace for real: every row it owns and the media files only it used.

The database's foreign keys cascade from `workspace` to everything a workspace owns; the two
RESTRICT references inside a workspace (a post's media, a note's column) are removed first, so
the cascade never trips over them in whatever order the database walks it. Media files are
content-addressed and may be shared with another workspace that uploaded the same bytes: only
the ones no other workspace uses are returned for removal, which happens after the commit.

On SQLite, deleted rows' bytes stay in the file's free pages until a VACUUM; a deletion runs
with `secure_delete` on, so SQLite overwrites them with zeros as it deletes (see
docs/security.md for PostgreSQL).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from postwizard.auth.models import User
from postwizard.errors import PostWizardError
from postwizard.media import repository as media_repository
from postwizard.media import service as media_service
from postwizard.media.models import Media
from postwizard.media.storage import MediaStorage
from postwizard.notes.models import Note
from postwizard.posts.models import Post, PostMedia
from postwizard.realtime.events import queue_event
from postwizard.workspaces.models import Workspace

log = structlog.get_logger(__name__)


@asynccontextmanager
async def overwriting_deleted_rows(session: AsyncSession) -> AsyncIterator[None]:
    """On SQLite, zero the bytes of rows deleted inside the block (`PRAGMA secure_delete`, a
    setting of the session's connection, put back afterwards)."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    previous = (await session.execute(text("PRAGMA secure_delete"))).scalar()
    await session.execute(text("PRAGMA secure_delete=ON"))
    try:
        yield
    finally:
        restore = "FAST" if previous == 2 else "ON" if previous else "OFF"
        await session.execute(text(f"PRAGMA secure_delete={restore}"))


async def delete_workspace_rows(session: AsyncSession, workspace_id: uuid.UUID) -> list[str]:
    """Delete the workspace and everything in it (in the caller's transaction); returns the
    media storage keys to remove once that is committed (`remove_deleted_files`)."""
    await session.flush()
    orphaned = await media_repository.storage_keys_only_in(session, workspace_id)
    async with overwriting_deleted_rows(session):
        posts = select(Post.id).where(Post.workspace_id == workspace_id)
        media = select(Media.id).where(Media.workspace_id == workspace_id)
        await session.execute(
            delete(PostMedia).where(
                or_(PostMedia.post_id.in_(posts), PostMedia.media_id.in_(media))
            )
        )
        await session.execute(delete(Note).where(Note.workspace_id == workspace_id))
        # Not a foreign key (a stale value is tolerated), but it names the workspace.
        await session.execute(
            update(User)
            .where(User.current_workspace_id == workspace_id)
            .values(current_workspace_id=None)
        )
        await session.execute(delete(Workspace).where(Workspace.id == workspace_id))
    queue_event(session, workspace_id, "workspace.deleted", {"id": str(workspace_id)})
    return orphaned


async def delete_workspace(
    session: AsyncSession, workspace: Workspace, confirm_name: str
) -> list[str]:
    """Delete `workspace` once its name was typed to confirm; returns the storage keys to remove
    after the commit."""
    if confirm_name.strip() != workspace.name.strip():
        raise PostWizardError(
            f"Type the workspace's name, “{workspace.name}”, exactly to confirm; nothing was deleted.",
            code="confirmation_mismatch",
            fields=[{"field": "confirm_name", "message": f"does not match “{workspace.name}”"}],
        )
    orphaned = await delete_workspace_rows(session, workspace.id)
    # The access check's workspace and membership objects describe deleted rows.
    session.expunge_all()
    return orphaned


async def remove_deleted_files(storage: MediaStorage, engine: AsyncEngine, keys: list[str]) -> None:
    """After a deletion is committed: remove its media files, and on SQLite fold the write-ahead
    log into the database (it still holds copies of the deleted pages until then)."""
    await media_service.remove_files(storage, keys)
    if engine.dialect.name != "sqlite":
        return
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except Exception:  # best effort: the next automatic checkpoint does the same
        log.warning("could not checkpoint the write-ahead log after a deletion", exc_info=True)
