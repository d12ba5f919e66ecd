"""Rules for the media library: one item per distinct upload in a workspace, files stored by
content and removed with the last item using them, no deleting what posts use."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.errors import Conflict, NotFound
from postwizard.media import repository
from postwizard.media.models import Media, MediaKind
from postwizard.media.probe import first_frame_png, probe_video
from postwizard.media.storage import MediaStorage, media_key, thumbnail_key
from postwizard.media.upload import ReceivedUpload
from postwizard.media.validation import THUMBNAIL_EXTENSION, process_image, thumbnail_from_bytes
from postwizard.realtime.events import queue_event

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StoredFiles:
    storage_key: str
    thumbnail_key: str | None
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None


async def add_media(
    session: AsyncSession,
    storage: MediaStorage,
    *,
    workspace_id: uuid.UUID,
    uploaded_by_id: uuid.UUID,
    upload: ReceivedUpload,
    max_image_pixels: int,
) -> tuple[Media, bool]:
    """The item for `upload`, and whether it is new (False: the same bytes were already here)."""
    existing = await repository.media_by_sha256(session, workspace_id, upload.sha256)
    if existing is not None:
        await _complete_existing(session, storage, existing, upload)
        return existing, False
    if upload.sniffed.kind is MediaKind.IMAGE:
        stored = await _store_image(storage, upload, max_image_pixels)
    else:
        stored = await _store_video(storage, upload)
    media = Media(
        workspace_id=workspace_id,
        uploaded_by_id=uploaded_by_id,
        sha256=upload.sha256,
        kind=upload.sniffed.kind,
        mime_type=upload.sniffed.mime_type,
        size_bytes=stored.size_bytes,
        width=stored.width,
        height=stored.height,
        duration_seconds=stored.duration_seconds,
        alt_text=upload.alt_text,
        original_filename=upload.filename,
        storage_key=stored.storage_key,
        thumbnail_key=stored.thumbnail_key,
    )
    try:
        async with session.begin_nested():
            session.add(media)
    except IntegrityError:
        # The same bytes were uploaded at the same moment and that request saved first.
        concurrent = await repository.media_by_sha256(session, workspace_id, upload.sha256)
        if concurrent is None:
            raise
        return concurrent, False
    queue_event(session, workspace_id, "media.created", _event_data(media))
    return media, True


async def _store_image(
    storage: MediaStorage, upload: ReceivedUpload, max_image_pixels: int
) -> StoredFiles:
    data = await asyncio.to_thread(upload.path.read_bytes)
    image = await asyncio.to_thread(process_image, data, upload.sniffed, max_image_pixels)
    key = media_key(upload.sha256, upload.sniffed.extension)
    thumb_key = thumbnail_key(upload.sha256, THUMBNAIL_EXTENSION)
    await storage.put(key, image.data)
    await storage.put(thumb_key, image.thumbnail)
    return StoredFiles(key, thumb_key, len(image.data), image.width, image.height)


async def _store_video(storage: MediaStorage, upload: ReceivedUpload) -> StoredFiles:
    info = await probe_video(upload.path)  # refuses an unreadable video when ffprobe exists
    thumbnail = await _video_thumbnail(upload)
    key = media_key(upload.sha256, upload.sniffed.extension)
    if not await storage.exists(key):  # videos are stored as uploaded: same bytes, same file
        await storage.put(key, upload.path)
    thumb_key = None
    if thumbnail is not None:
        thumb_key = thumbnail_key(upload.sha256, THUMBNAIL_EXTENSION)
        await storage.put(thumb_key, thumbnail)
    if info is None:
        return StoredFiles(key, thumb_key, upload.size)
    return StoredFiles(key, thumb_key, upload.size, info.width, info.height, info.duration_seconds)


async def _video_thumbnail(upload: ReceivedUpload) -> bytes | None:
    frame = await first_frame_png(upload.path)
    if frame is None:
        return None
    try:
        return await asyncio.to_thread(thumbnail_from_bytes, frame)
    except (OSError, ValueError):
        log.warning("video frame could not be made into a thumbnail", sha256=upload.sha256)
        return None


async def _complete_existing(
    session: AsyncSession, storage: MediaStorage, media: Media, upload: ReceivedUpload
) -> None:
    """Uploading the same file again fills in what the first upload could not: alt text given
    only now, and video metadata once ffmpeg has been installed."""
    changed = False
    if upload.alt_text and not media.alt_text:
        media.alt_text = upload.alt_text
        changed = True
    if media.kind is MediaKind.VIDEO and media.width is None:
        info = await probe_video(upload.path)
        if info is not None:
            media.width, media.height = info.width, info.height
            media.duration_seconds = info.duration_seconds
            changed = True
        if media.thumbnail_key is None and (thumbnail := await _video_thumbnail(upload)):
            media.thumbnail_key = thumbnail_key(media.sha256, THUMBNAIL_EXTENSION)
            await storage.put(media.thumbnail_key, thumbnail)
            changed = True
    if changed:
        await session.flush()
        queue_event(session, media.workspace_id, "media.updated", _event_data(media))


async def get_media(session: AsyncSession, workspace_id: uuid.UUID, media_id: uuid.UUID) -> Media:
    media = await repository.media_in_workspace(session, workspace_id, media_id)
    if media is None:
        raise NotFound("No such media item in this workspace.")
    return media


async def update_alt_text(
    session: AsyncSession, workspace_id: uuid.UUID, media_id: uuid.UUID, alt_text: str
) -> Media:
    media = await get_media(session, workspace_id, media_id)
    media.alt_text = alt_text
    await session.flush()
    queue_event(session, workspace_id, "media.updated", _event_data(media))
    return media


async def delete_media(
    session: AsyncSession, workspace_id: uuid.UUID, media_id: uuid.UUID
) -> list[str]:
    """Delete the item; returns the storage keys no other item uses, to remove once the
    deletion is committed (`remove_files`)."""
    media = await get_media(session, workspace_id, media_id)
    uses = await repository.media_usage_count(session, media.workspace_id, media.id)
    if uses:
        raise Conflict(
            f"This media is used by {uses} post{'s' if uses != 1 else ''}; remove it from "
            f"{'them' if uses != 1 else 'it'} first.",
            code="media_in_use",
        )
    orphaned: list[str] = []
    if await repository.count_sharing_storage(session, media.storage_key, media.id) == 0:
        orphaned = [key for key in (media.storage_key, media.thumbnail_key) if key]
    await session.delete(media)
    await session.flush()
    queue_event(session, workspace_id, "media.deleted", {"id": str(media_id)})
    return orphaned


async def remove_files(storage: MediaStorage, keys: list[str]) -> None:
    for key in keys:
        try:
            await storage.delete(key)
        except OSError:
            log.exception("could not remove a media file", key=key)


def _event_data(media: Media) -> dict[str, str]:
    return {"id": str(media.id), "kind": media.kind.value}
