"""Rules of the notes board: default columns, ordering, moves, turning a note into a post."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.errors import Conflict, NotFound, PostWizardError
from postwizard.notes import repository, schemas
from postwizard.notes.models import ColumnStage, Note, NoteColumn
from postwizard.notes.post_stage import move_to_stage
from postwizard.posts import schemas as post_schemas
from postwizard.posts import service as posts_service
from postwizard.posts.models import PostStatus
from postwizard.realtime.events import queue_event
from postwizard.workspaces.dependencies import WorkspaceAccess

DEFAULT_COLUMNS = (
    ("Idea", ColumnStage.IDEA),
    ("Drafting", ColumnStage.DRAFTING),
    ("Scheduled", ColumnStage.SCHEDULED),
    ("Done", ColumnStage.DONE),
)
MAX_COLUMNS = 20
CHECKLIST_ITEM = re.compile(r"^\s*[-*+]\s+\[([ xX])\]", re.MULTILINE)


def checklist_of(body: str) -> schemas.Checklist:
    """Counts of the Markdown task items (`- [ ]`, `- [x]`) in `body`."""
    marks = CHECKLIST_ITEM.findall(body)
    return schemas.Checklist(done=sum(1 for m in marks if m != " "), total=len(marks))


def describe(note: Note, post_status: PostStatus | None) -> schemas.Note:
    return schemas.Note(
        id=note.id,
        column_id=note.column_id,
        position=note.position,
        title=note.title,
        body=note.body,
        tags=note.tags,
        links=note.links,
        media_ids=[uuid.UUID(m) for m in note.media_ids],
        extra=note.extra,
        checklist=checklist_of(note.body),
        post_id=note.post_id,
        post_status=post_status,
        author_id=note.author_id,
        created_at=note.created_at,
        updated_at=note.updated_at,
    )


async def describe_all(session: AsyncSession, notes: Sequence[Note]) -> list[schemas.Note]:
    states = await repository.post_states(session, {n.post_id for n in notes if n.post_id})
    return [describe(n, states.get(n.post_id) if n.post_id else None) for n in notes]


def _changed(session: AsyncSession, workspace_id: uuid.UUID, what: str, **data: str) -> None:
    queue_event(session, workspace_id, f"notes.{what}", data)


async def board_columns(session: AsyncSession, workspace_id: uuid.UUID) -> Sequence[NoteColumn]:
    """The workspace's columns; the default board is made on first use."""
    columns = await repository.columns_of(session, workspace_id)
    if columns:
        return columns
    try:
        async with session.begin_nested():
            session.add_all(
                NoteColumn(workspace_id=workspace_id, name=name, stage=stage, position=i)
                for i, (name, stage) in enumerate(DEFAULT_COLUMNS)
            )
    except IntegrityError:
        pass  # another request made them at the same moment: theirs are the board
    return await repository.columns_of(session, workspace_id)


async def describe_columns(
    session: AsyncSession, workspace_id: uuid.UUID
) -> list[schemas.NoteColumn]:
    columns = await board_columns(session, workspace_id)
    counts = await repository.note_counts(session, workspace_id)
    return [
        schemas.NoteColumn(
            id=c.id, name=c.name, stage=c.stage, position=c.position, note_count=counts.get(c.id, 0)
        )
        for c in columns
    ]


async def _column(
    session: AsyncSession, workspace_id: uuid.UUID, column_id: uuid.UUID, field: str
) -> NoteColumn:
    for column in await board_columns(session, workspace_id):
        if column.id == column_id:
            return column
    raise PostWizardError(
        "No such column on this board.",
        code="validation_error",
        status_code=422,
        fields=[{"field": field, "message": "no such column in this workspace"}],
    )


def _renumber(items: Sequence[NoteColumn | Note]) -> None:
    for index, item in enumerate(items):
        item.position = index


async def create_column(
    session: AsyncSession, access: WorkspaceAccess, body: schemas.NoteColumnCreate
) -> NoteColumn:
    columns = await board_columns(session, access.workspace.id)
    if len(columns) >= MAX_COLUMNS:
        raise Conflict(f"A board has at most {MAX_COLUMNS} columns.", code="too_many_columns")
    column = NoteColumn(workspace_id=access.workspace.id, name=body.name, position=len(columns))
    session.add(column)
    await session.flush()
    _changed(session, access.workspace.id, "columns_changed")
    return column


async def update_column(
    session: AsyncSession,
    access: WorkspaceAccess,
    column_id: uuid.UUID,
    body: schemas.NoteColumnUpdate,
) -> NoteColumn:
    columns = list(await board_columns(session, access.workspace.id))
    column = next((c for c in columns if c.id == column_id), None)
    if column is None:
        raise NotFound("No such column on this board.")
    if body.name is not None:
        column.name = body.name
    if body.position is not None:
        columns.remove(column)
        columns.insert(min(body.position, len(columns)), column)
        _renumber(columns)
    await session.flush()
    _changed(session, access.workspace.id, "columns_changed")
    return column


async def delete_column(
    session: AsyncSession, access: WorkspaceAccess, column_id: uuid.UUID
) -> None:
    columns = list(await board_columns(session, access.workspace.id))
    column = next((c for c in columns if c.id == column_id), None)
    if column is None:
        raise NotFound("No such column on this board.")
    if await repository.notes_in_column(session, column.id):
        raise Conflict(
            f"The column “{column.name}” still holds notes; move or delete them first.",
            code="column_not_empty",
        )
    if len(columns) == 1:
        raise Conflict("A board keeps at least one column.", code="last_column")
    columns.remove(column)
    await session.delete(column)
    _renumber(columns)
    await session.flush()
    _changed(session, access.workspace.id, "columns_changed")


async def get_note(session: AsyncSession, workspace_id: uuid.UUID, note_id: uuid.UUID) -> Note:
    note = await repository.note_in_workspace(session, workspace_id, note_id)
    if note is None:
        raise NotFound("No such note in this workspace.")
    return note


async def _check_media(
    session: AsyncSession, workspace_id: uuid.UUID, media_ids: list[uuid.UUID]
) -> list[str]:
    found = await repository.media_in_workspace(session, workspace_id, media_ids)
    for index, media_id in enumerate(media_ids):
        if media_id not in found:
            raise PostWizardError(
                "That media item is not in this workspace's library.",
                code="validation_error",
                status_code=422,
                fields=[{"field": f"media_ids.{index}", "message": "no such media item"}],
            )
    return [str(m) for m in dict.fromkeys(media_ids)]


async def create_note(
    session: AsyncSession, access: WorkspaceAccess, body: schemas.NoteCreate
) -> Note:
    workspace_id = access.workspace.id
    if body.column_id is not None:
        column = await _column(session, workspace_id, body.column_id, "column_id")
    else:
        columns = await board_columns(session, workspace_id)
        column = next((c for c in columns if c.stage == ColumnStage.IDEA), columns[0])
    note = Note(
        workspace_id=workspace_id,
        column_id=column.id,
        position=await repository.next_position(session, column.id),
        author_id=access.caller.user.id,
        title=body.title,
        body=body.body,
        tags=body.tags,
        links=[str(link) for link in body.links],
        media_ids=await _check_media(session, workspace_id, body.media_ids),
        extra=body.extra,
    )
    session.add(note)
    await session.flush()
    _changed(session, workspace_id, "note_changed", note_id=str(note.id))
    return note


async def update_note(
    session: AsyncSession, access: WorkspaceAccess, note: Note, body: schemas.NoteUpdate
) -> Note:
    if body.title is not None:
        note.title = body.title
    if body.body is not None:
        note.body = body.body
    if body.tags is not None:
        note.tags = body.tags
    if body.links is not None:
        note.links = [str(link) for link in body.links]
    if body.media_ids is not None:
        note.media_ids = await _check_media(session, access.workspace.id, body.media_ids)
    if body.extra is not None:
        note.extra = body.extra
    await session.flush()
    _changed(session, access.workspace.id, "note_changed", note_id=str(note.id))
    return note


async def move_note(
    session: AsyncSession, access: WorkspaceAccess, note: Note, body: schemas.NoteMove
) -> Note:
    """Place the note at index `position` of the column (drag and drop), closing the gap it left."""
    target = await _column(session, access.workspace.id, body.column_id, "column_id")
    if target.id != note.column_id:
        source = [
            n for n in await repository.notes_in_column(session, note.column_id) if n is not note
        ]
        _renumber(source)
        note.column_id = target.id
    siblings = [n for n in await repository.notes_in_column(session, target.id) if n is not note]
    siblings.insert(min(body.position, len(siblings)), note)
    _renumber(siblings)
    await session.flush()
    _changed(session, access.workspace.id, "note_changed", note_id=str(note.id))
    return note


async def delete_note(session: AsyncSession, access: WorkspaceAccess, note: Note) -> None:
    column_id = note.column_id
    await session.delete(note)
    await session.flush()
    _renumber(await repository.notes_in_column(session, column_id))
    await session.flush()
    _changed(session, access.workspace.id, "note_changed", note_id=str(note.id))


def post_text_of(note: Note) -> str:
    """What the draft says: the note's Markdown, or its title when the body is empty."""
    return note.body.strip() or note.title


async def turn_into_post(
    session: AsyncSession, access: WorkspaceAccess, note: Note, body: schemas.TurnIntoPost
) -> uuid.UUID:
    """Create a draft post from the note (text, media, tags as labels, first link) through the
    posts service, link note ↔ post, and move the note to drafting."""
    if note.post_id is not None:
        raise Conflict(
            "This note is already a post; open that post, or unlink it by deleting the post.",
            code="already_a_post",
        )
    request = post_schemas.PostCreate.model_validate(
        {
            "text": post_text_of(note),
            "link": note.links[0] if note.links else None,
            "media_ids": note.media_ids,
            "labels": note.tags,
            "targets": [{"account_id": a} for a in body.account_ids],
        }
    )
    post = await posts_service.create_post(session, access, request)
    note.post_id = post.id
    await move_to_stage(session, note, ColumnStage.DRAFTING)
    await session.flush()
    _changed(session, access.workspace.id, "note_changed", note_id=str(note.id))
    return post.id
