"""The notes board: columns, notes, moves, search, and turning a note into a draft post."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from postwizard.api import API_PREFIX
from postwizard.api.pagination import Page, Pagination
from postwizard.db.session import DbSession
from postwizard.notes import repository, schemas, service
from postwizard.workspaces.dependencies import EditorAccess, ViewerAccess

router = APIRouter(prefix=f"{API_PREFIX}/workspaces/{{workspace_id}}/notes", tags=["notes"])


async def _column_view(
    session: DbSession, workspace_id: uuid.UUID, column_id: uuid.UUID
) -> schemas.NoteColumn:
    views = await service.describe_columns(session, workspace_id)
    return next(v for v in views if v.id == column_id)


@router.get("/columns")
async def list_columns(access: ViewerAccess, session: DbSession) -> list[schemas.NoteColumn]:
    """The board's columns in order (idea → drafting → scheduled → done until customised)."""
    return await service.describe_columns(session, access.workspace.id)


@router.post("/columns", status_code=status.HTTP_201_CREATED)
async def create_column(
    body: schemas.NoteColumnCreate, access: EditorAccess, session: DbSession
) -> schemas.NoteColumn:
    """Add a column at the end of the board."""
    column = await service.create_column(session, access, body)
    return await _column_view(session, access.workspace.id, column.id)


@router.patch("/columns/{column_id}")
async def update_column(
    column_id: uuid.UUID, body: schemas.NoteColumnUpdate, access: EditorAccess, session: DbSession
) -> schemas.NoteColumn:
    """Rename a column and/or move it to another index."""
    column = await service.update_column(session, access, column_id, body)
    return await _column_view(session, access.workspace.id, column.id)


@router.delete("/columns/{column_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_column(column_id: uuid.UUID, access: EditorAccess, session: DbSession) -> Response:
    """Remove an empty column (409 `column_not_empty` otherwise)."""
    await service.delete_column(session, access, column_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("")
async def list_notes(
    access: ViewerAccess,
    session: DbSession,
    page: Pagination,
    q: Annotated[
        str | None, Query(max_length=200, description="Search in title, body and tags.")
    ] = None,
    column_id: Annotated[uuid.UUID | None, Query(description="Only this column.")] = None,
) -> Page[schemas.Note]:
    """Notes of the workspace in creation order; the board sorts them by `position`."""
    notes, next_cursor = await repository.page_of_notes(
        session, access.workspace.id, page, search=(q or "").strip() or None, column_id=column_id
    )
    return Page(items=await service.describe_all(session, notes), next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_note(
    body: schemas.NoteCreate, access: EditorAccess, session: DbSession
) -> schemas.Note:
    """Create a note, last in its column (default: the idea column)."""
    note = await service.create_note(session, access, body)
    return service.describe(note, None)


@router.get("/{note_id}")
async def get_note(note_id: uuid.UUID, access: ViewerAccess, session: DbSession) -> schemas.Note:
    note = await service.get_note(session, access.workspace.id, note_id)
    (view,) = await service.describe_all(session, [note])
    return view


@router.patch("/{note_id}")
async def update_note(
    note_id: uuid.UUID, body: schemas.NoteUpdate, access: EditorAccess, session: DbSession
) -> schemas.Note:
    """Change the fields sent."""
    note = await service.get_note(session, access.workspace.id, note_id)
    await service.update_note(session, access, note, body)
    (view,) = await service.describe_all(session, [note])
    return view


@router.delete("/{note_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_note(note_id: uuid.UUID, access: EditorAccess, session: DbSession) -> Response:
    """Delete the note (a post made from it stays)."""
    note = await service.get_note(session, access.workspace.id, note_id)
    await service.delete_note(session, access, note)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{note_id}/move")
async def move_note(
    note_id: uuid.UUID, body: schemas.NoteMove, access: EditorAccess, session: DbSession
) -> schemas.Note:
    """Drag and drop: put the note at `position` in `column_id` (within or between columns)."""
    note = await service.get_note(session, access.workspace.id, note_id)
    await service.move_note(session, access, note, body)
    (view,) = await service.describe_all(session, [note])
    return view


@router.post("/{note_id}/post", status_code=status.HTTP_201_CREATED)
async def turn_into_post(
    note_id: uuid.UUID, body: schemas.TurnIntoPost, access: EditorAccess, session: DbSession
) -> schemas.NoteWithPost:
    """Turn the note into a draft post (its text, media, tags as labels); the note then follows
    the post: to the scheduled column when it is scheduled, to done when it is published."""
    note = await service.get_note(session, access.workspace.id, note_id)
    post_id = await service.turn_into_post(session, access, note, body)
    (view,) = await service.describe_all(session, [note])
    return schemas.NoteWithPost(note=view, post_id=post_id)
