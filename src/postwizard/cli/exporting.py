"""`postwizard export`: one workspace's export archive written to a file, by the operator."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postwizard.config import Settings
from postwizard.errors import NotFound, PostWizardError
from postwizard.media.storage import LocalStorage
from postwizard.workspaces.export import ExportSummary, count_export_items, export_chunks
from postwizard.workspaces.models import Workspace


async def find_workspace(session: AsyncSession, id_or_name: str) -> Workspace:
    """The workspace with this id, or else the one with this name (refused when several share it)."""
    try:
        by_id = await session.get(Workspace, uuid.UUID(id_or_name))
    except ValueError:
        by_id = None
    if by_id is not None:
        return by_id
    named = (await session.scalars(select(Workspace).where(Workspace.name == id_or_name))).all()
    if len(named) > 1:
        ids = ", ".join(str(w.id) for w in named)
        raise PostWizardError(
            f"{len(named)} workspaces are called “{id_or_name}”; give the id of one: {ids}."
        )
    if not named:
        known = (await session.scalars(select(Workspace.name).order_by(Workspace.name))).all()
        listed = ", ".join(f"“{name}”" for name in known[:20]) or "none yet"
        raise NotFound(f"No workspace has the id or name “{id_or_name}”. Workspaces: {listed}.")
    return named[0]


async def export_to_file(
    settings: Settings,
    id_or_name: str,
    output: Path | None,
    *,
    on_total: Callable[[int], None],
    progress: Callable[[int], None],
) -> tuple[Path, Workspace, ExportSummary]:
    """Write the workspace's archive to `output` (default: its usual name, here). The file is
    written beside the target and renamed when complete, readable by its owner only."""
    from postwizard.db.engine import create_engine, create_session_factory
    from postwizard.workspaces.export import archive_name

    engine = create_engine(settings.effective_database_url)
    try:
        factory: async_sessionmaker[AsyncSession] = create_session_factory(engine)
        try:
            async with factory() as session:
                workspace = await find_workspace(session, id_or_name)
                on_total(await count_export_items(session, workspace.id))
        except DBAPIError as error:
            raise PostWizardError(
                f"Cannot read the database ({error.orig}); check POSTWIZARD_DATABASE_URL and "
                "POSTWIZARD_DATA_DIR, and that `postwizard migrate` has run."
            ) from None
        target = (output or Path(archive_name(workspace.name))).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial_name = tempfile.mkstemp(prefix=".export-", suffix=".part", dir=target.parent)
        partial = Path(partial_name)
        summary = ExportSummary()
        try:
            with os.fdopen(fd, "wb") as handle:
                storage = LocalStorage(settings.data_dir / "media")
                async for chunk in export_chunks(
                    factory, storage, workspace.id, progress=progress, summary=summary
                ):
                    handle.write(chunk)
            os.replace(partial, target)
        except BaseException:
            await asyncio.to_thread(partial.unlink, missing_ok=True)
            raise
        return target, workspace, summary
    finally:
        await engine.dispose()
