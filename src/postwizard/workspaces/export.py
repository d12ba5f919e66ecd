"""A workspace's export: everything it holds as JSON files plus its media files, in one zip.

The archive is produced as a stream of chunks (`export_chunks`): rows are read in batches from
one database snapshot and written straight into the zip, media files are copied in pieces, so
neither the archive nor a whole table is ever held in memory. The HTTP endpoint streams the
chunks to the browser, `postwizard export` to a file. The layout is documented in docs/export.md:

- `manifest.json` (written last): format and version, when, which workspace, rows per file,
  media files and bytes;
- `workspace.json` (the workspace and its members), `accounts.json`, `posts.json`, `media.json`,
  `activity.json`, `analytics/*.json`, `growth/*.json`, `notes/*.json`, `captions/*.json`,
  `webhooks.json`: each a JSON array of objects, one per row, with related rows nested
  (a post's targets, media, comments and deliveries with their attempts);
- `media/<media id>.<ext>`: the stored files, as `media.json`'s `file` names them.

Binary columns are never exported: they hold the sealed secrets (network credentials, model API
keys, webhook signing secrets), which are useless outside this instance anyway.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postwizard import __version__
from postwizard.accounts.models import PostingSlot, SocialAccount
from postwizard.analytics.models import AccountStatsSnapshot, PostMetricSnapshot
from postwizard.auth.models import User
from postwizard.captions.models import CaptionGeneration, CaptionSettings
from postwizard.errors import NotFound
from postwizard.growth.models import GrowthChallenge, GrowthGoal, StreakFreeze
from postwizard.media.models import Media
from postwizard.media.storage import MediaStorage
from postwizard.notes.models import Note, NoteColumn
from postwizard.notifications.models import WebhookEndpoint
from postwizard.posts.models import ActivityEvent, Post, PostComment, PostMedia, PostTarget
from postwizard.publishing.models import Attempt, Delivery
from postwizard.workspaces.models import Membership, Workspace

FORMAT = "postwizard-workspace-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEDIA_DIR = "media/"
BATCH_ROWS = 500
FILE_CHUNK = 1024 * 1024
FLUSH_BYTES = 256 * 1024

Progress = Callable[[int], None]
"""Called with the number of rows (or media files) just written."""


@dataclass(frozen=True)
class Nested:
    """Rows of `table` whose `parent_column` points at the enclosing row, listed under `name`."""

    name: str
    table: Table
    parent_column: str
    order_by: str
    children: tuple[Nested, ...] = ()


@dataclass(frozen=True)
class Section:
    """One JSON file: the workspace's rows of `table` (where `workspace_column` is its id)."""

    path: str
    table: Table
    order_by: Sequence[str]
    children: tuple[Nested, ...] = ()


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


SECTIONS: tuple[Section, ...] = (
    Section(
        "accounts.json",
        _table(SocialAccount),
        ["id"],
        (Nested("slots", _table(PostingSlot), "account_id", "id"),),
    ),
    Section(
        "posts.json",
        _table(Post),
        ["id"],
        (
            Nested("media", _table(PostMedia), "post_id", "position"),
            Nested("targets", _table(PostTarget), "post_id", "id"),
            Nested("comments", _table(PostComment), "post_id", "id"),
            Nested(
                "deliveries",
                _table(Delivery),
                "post_id",
                "id",
                (Nested("attempts", _table(Attempt), "delivery_id", "number"),),
            ),
        ),
    ),
    Section("media.json", _table(Media), ["id"]),
    Section("activity.json", _table(ActivityEvent), ["id"]),
    Section("analytics/post_metrics.json", _table(PostMetricSnapshot), ["collected_at", "id"]),
    Section("analytics/account_stats.json", _table(AccountStatsSnapshot), ["collected_at", "id"]),
    Section("growth/goals.json", _table(GrowthGoal), ["id"]),
    Section("growth/challenges.json", _table(GrowthChallenge), ["id"]),
    Section("growth/streak_freezes.json", _table(StreakFreeze), ["day"]),
    Section("notes/columns.json", _table(NoteColumn), ["position", "id"]),
    Section("notes/notes.json", _table(Note), ["column_id", "position", "id"]),
    Section("captions/settings.json", _table(CaptionSettings), ["workspace_id"]),
    Section("captions/generations.json", _table(CaptionGeneration), ["id"]),
    Section("webhooks.json", _table(WebhookEndpoint), ["id"]),
)


def exported_columns(table: Table) -> list[str]:
    """Every column but the binary ones (sealed secrets)."""
    return [c.name for c in table.columns if not isinstance(c.type, LargeBinary)]


def _json_default(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot export a {type(value).__name__}")


def _dumps(value: object) -> bytes:
    return json.dumps(value, default=_json_default, ensure_ascii=False).encode()


def _row(table: Table, row: Any) -> dict[str, Any]:
    mapping = row._mapping
    return {name: mapping[table.c[name]] for name in exported_columns(table)}


def media_member(media: dict[str, Any]) -> str:
    """Where a media item's file goes in the archive: `media/<id>.<extension of the stored file>`."""
    extension = str(media["storage_key"]).rsplit(".", 1)[-1]
    return f"{MEDIA_DIR}{media['id']}.{extension}"


class _ChunkSink:
    """A write-only, unseekable file for zipfile: it keeps what was written until taken."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.written = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


@dataclass
class ExportSummary:
    """What went into the archive (the manifest's counts), filled in while it is written."""

    files: dict[str, int] = field(default_factory=dict)
    media_files: int = 0
    media_bytes: int = 0
    missing_media: list[str] = field(default_factory=list)


def _member(name: str, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


async def _use_one_snapshot(session: AsyncSession) -> None:
    """PostgreSQL: every read of the export sees the same moment (SQLite's read transaction
    already does)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def _batches(
    session: AsyncSession, workspace_id: uuid.UUID, section: Section
) -> AsyncIterator[list[dict[str, Any]]]:
    table = section.table
    statement = select(table).order_by(*(table.c[name] for name in section.order_by))
    statement = statement.where(_workspace_filter(section, workspace_id))
    result = await session.stream(statement.execution_options(yield_per=BATCH_ROWS))
    async for partition in result.partitions(BATCH_ROWS):
        rows = [_row(table, row) for row in partition]
        await _attach_children(session, rows, section.children)
        yield rows


def _workspace_filter(section: Section, workspace_id: uuid.UUID) -> ColumnElement[bool]:
    return section.table.c.workspace_id == workspace_id


async def _attach_children(
    session: AsyncSession, rows: list[dict[str, Any]], children: Sequence[Nested]
) -> None:
    if not rows:
        return
    for child in children:
        by_parent: dict[object, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
        column = child.table.c[child.parent_column]
        found = await session.execute(
            select(child.table)
            .where(column.in_(list(by_parent)))
            .order_by(column, child.table.c[child.order_by])
        )
        nested = [_row(child.table, row) for row in found]
        await _attach_children(session, nested, child.children)
        for item in nested:
            by_parent[item[child.parent_column]].append(item)
        for row in rows:
            row[child.name] = by_parent[row["id"]]


async def count_export_items(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    """How many top-level rows and media files an export of the workspace holds (for a
    progress bar; nested rows are not counted)."""
    total = 0
    for section in SECTIONS:
        total += (
            await session.scalar(
                select(func.count())
                .select_from(section.table)
                .where(_workspace_filter(section, workspace_id))
            )
        ) or 0
    return total + (
        await session.scalar(
            select(func.count()).select_from(Media).where(Media.workspace_id == workspace_id)
        )
        or 0
    )


async def _workspace_document(session: AsyncSession, workspace: Workspace) -> dict[str, Any]:
    members = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace.id)
        .order_by(Membership.joined_at, User.id)
    )
    return {
        "id": workspace.id,
        "name": workspace.name,
        "created_at": workspace.created_at,
        "members": [
            {
                "user_id": user.id,
                "name": user.name,
                "email": user.email,
                "role": membership.role.value,
                "joined_at": membership.joined_at,
            }
            for membership, user in members.all()
        ],
    }


async def _file_pieces(storage: MediaStorage, key: str) -> AsyncIterator[bytes]:
    path = storage.local_path(key)
    if path is None:
        yield await storage.read(key)
        return
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while piece := await asyncio.to_thread(handle.read, FILE_CHUNK):
            yield piece
    finally:
        handle.close()


async def export_chunks(
    session_factory: async_sessionmaker[AsyncSession],
    storage: MediaStorage,
    workspace_id: uuid.UUID,
    *,
    progress: Progress | None = None,
    summary: ExportSummary | None = None,
) -> AsyncIterator[bytes]:
    """The zip archive of the workspace, as it is written (NotFound before the first chunk
    when the workspace does not exist)."""
    summary = summary if summary is not None else ExportSummary()
    advance = progress or (lambda _rows: None)
    sink = _ChunkSink()
    async with session_factory() as session:
        await _use_one_snapshot(session)
        workspace = await session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFound("No such workspace.")
        with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
            archive.writestr(
                _member("workspace.json", compress=True),
                _dumps(await _workspace_document(session, workspace)),
            )
            media_rows: list[dict[str, Any]] = []
            for section in SECTIONS:
                count = 0
                with archive.open(_member(section.path, True), "w", force_zip64=True) as entry:
                    entry.write(b"[")
                    async for rows in _batches(session, workspace_id, section):
                        for row in rows:
                            if section.table is Media.__table__:
                                row["file"] = media_member(row)
                                media_rows.append(row)
                            entry.write(b",\n" if count else b"\n")
                            entry.write(_dumps(row))
                            count += 1
                        advance(len(rows))
                        if len(sink.buffer) >= FLUSH_BYTES:
                            yield sink.take()
                    entry.write(b"\n]\n")
                summary.files[section.path] = count
                yield sink.take()
            for media in media_rows:
                key = str(media["storage_key"])
                if not await storage.exists(key):
                    summary.missing_media.append(str(media["id"]))
                    advance(1)
                    continue
                info = _member(str(media["file"]), compress=False)
                info.file_size = int(media["size_bytes"])
                with archive.open(info, "w", force_zip64=True) as entry:
                    async for piece in _file_pieces(storage, key):
                        entry.write(piece)
                        summary.media_bytes += len(piece)
                        if len(sink.buffer) >= FLUSH_BYTES:
                            yield sink.take()
                summary.media_files += 1
                advance(1)
                yield sink.take()
            archive.writestr(
                _member(MANIFEST, compress=True), _dumps(_manifest(workspace, summary))
            )
    yield sink.take()


def _manifest(workspace: Workspace, summary: ExportSummary) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "postwizard_version": __version__,
        "created_at": datetime.now(UTC),
        "workspace": {"id": workspace.id, "name": workspace.name},
        "counts": summary.files,
        "media": {
            "files": summary.media_files,
            "bytes": summary.media_bytes,
            "missing": summary.missing_media,
        },
    }


def archive_name(workspace_name: str, at: datetime | None = None) -> str:
    """`postwizard-<workspace name as a slug>-<UTC date>.zip`."""
    slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in workspace_name.lower())
    slug = "-".join(part for part in slug.split("-") if part)[:60] or "workspace"
    return f"postwizard-{slug}-{(at or datetime.now(UTC)):%Y%m%d-%H%M%S}.zip"
