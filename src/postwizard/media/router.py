"""The media library: upload, list, describe (alt text), delete, and serve the files."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse
from starlette.background import BackgroundTask

from postwizard.api import API_PREFIX
from postwizard.api.pagination import Page, Pagination
from postwizard.api.resources import resources
from postwizard.db.session import DbSession
from postwizard.errors import NotFound
from postwizard.media import repository, schemas, service
from postwizard.media.models import MAX_ALT_TEXT, Media, MediaKind
from postwizard.media.probe import NO_FFPROBE_WARNING
from postwizard.media.storage import MediaStorage
from postwizard.media.upload import ALT_TEXT_FIELD, FILE_FIELD, receive_upload
from postwizard.media.validation import THUMBNAIL_MIME
from postwizard.workspaces.dependencies import EditorAccess, ViewerAccess

router = APIRouter(prefix=f"{API_PREFIX}/workspaces", tags=["media"])

# Served files never change (a new upload is a new item), but they are not public.
FILE_HEADERS = {
    "Cache-Control": "private, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "A JPEG, PNG, WebP or GIF image, or an MP4 video.",
                        },
                        ALT_TEXT_FIELD: {"type": "string", "maxLength": MAX_ALT_TEXT},
                    },
                }
            }
        },
    }
}
FILE_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The bytes, with their media type.",
        "content": {"image/*": {}, "video/mp4": {}},
    }
}


@router.post(
    "/{workspace_id}/media",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=UPLOAD_BODY,
    responses={200: {"model": schemas.Media, "description": "The same file was already here."}},
)
async def upload_media(
    request: Request, response: Response, access: EditorAccess, session: DbSession
) -> schemas.Media:
    """Upload an image (JPEG, PNG, WebP, GIF) or an MP4 video (editors and up). The same
    file uploaded again answers 200 with the existing item."""
    held = resources(request)
    # End the access check's read transaction: no connection is held while the body arrives.
    await session.commit()
    async with receive_upload(request, held.settings, held.settings.data_dir / "tmp") as upload:
        media, created = await service.add_media(
            session,
            held.media_storage,
            workspace_id=access.workspace.id,
            uploaded_by_id=access.caller.user.id,
            upload=upload,
            max_image_pixels=held.settings.max_image_pixels,
        )
    if not created:
        response.status_code = status.HTTP_200_OK
    return _media_view(media)


@router.get("/{workspace_id}/media")
async def list_media(
    access: ViewerAccess,
    session: DbSession,
    page: Pagination,
    kind: Annotated[MediaKind | None, Query(description="Only images, or only videos.")] = None,
) -> Page[schemas.Media]:
    """The workspace's media library, oldest first."""
    items, next_cursor = await repository.page_of_media(session, access.workspace.id, kind, page)
    return Page(items=[_media_view(m) for m in items], next_cursor=next_cursor)


@router.get("/{workspace_id}/media/{media_id}")
async def get_media(media_id: uuid.UUID, access: ViewerAccess, session: DbSession) -> schemas.Media:
    """One media item."""
    return _media_view(await service.get_media(session, access.workspace.id, media_id))


@router.patch("/{workspace_id}/media/{media_id}")
async def update_media(
    media_id: uuid.UUID, body: schemas.MediaUpdate, access: EditorAccess, session: DbSession
) -> schemas.Media:
    """Change the alt text (editors and up)."""
    media = await service.update_alt_text(session, access.workspace.id, media_id, body.alt_text)
    return _media_view(media)


@router.delete(
    "/{workspace_id}/media/{media_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def delete_media(
    media_id: uuid.UUID, request: Request, access: EditorAccess, session: DbSession
) -> Response:
    """Delete an item no post uses (409 `media_in_use` otherwise); its files go with it."""
    orphaned = await service.delete_media(session, access.workspace.id, media_id)
    # The files are removed after the response, i.e. after the deletion is committed.
    cleanup = BackgroundTask(service.remove_files, resources(request).media_storage, orphaned)
    return Response(status_code=status.HTTP_204_NO_CONTENT, background=cleanup)


@router.get(
    "/{workspace_id}/media/{media_id}/file", response_class=Response, responses=FILE_CONTENT
)
async def media_file(
    media_id: uuid.UUID, request: Request, access: ViewerAccess, session: DbSession
) -> Response:
    """The stored file (images without their metadata)."""
    media = await service.get_media(session, access.workspace.id, media_id)
    storage = resources(request).media_storage
    return await _serve(storage, media.storage_key, media.mime_type, media.original_filename)


@router.get(
    "/{workspace_id}/media/{media_id}/thumbnail",
    response_class=Response,
    responses=FILE_CONTENT,
)
async def media_thumbnail(
    media_id: uuid.UUID, request: Request, access: ViewerAccess, session: DbSession
) -> Response:
    """A WebP preview, at most 400 px on its longer side."""
    media = await service.get_media(session, access.workspace.id, media_id)
    if media.thumbnail_key is None:
        raise NotFound(
            "This video has no thumbnail: ffmpeg was not installed when it was uploaded. "
            "Install ffmpeg and upload the same file again."
        )
    storage = resources(request).media_storage
    return await _serve(storage, media.thumbnail_key, THUMBNAIL_MIME, None)


async def _serve(storage: MediaStorage, key: str, mime_type: str, filename: str | None) -> Response:
    if (url := storage.url(key)) is not None:
        return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    if not await storage.exists(key):
        raise NotFound("The file of this media item is missing from storage; upload it again.")
    path = storage.local_path(key)
    if path is None:
        return Response(await storage.read(key), media_type=mime_type, headers=FILE_HEADERS)
    return FileResponse(
        path,
        media_type=mime_type,
        headers=FILE_HEADERS,
        filename=filename or None,
        content_disposition_type="inline",
    )


def _media_view(media: Media) -> schemas.Media:
    base = f"{API_PREFIX}/workspaces/{media.workspace_id}/media/{media.id}"
    warnings = []
    if media.kind is MediaKind.VIDEO and media.width is None:
        warnings.append(NO_FFPROBE_WARNING)
    return schemas.Media(
        id=media.id,
        kind=media.kind,
        mime_type=media.mime_type,
        size_bytes=media.size_bytes,
        width=media.width,
        height=media.height,
        duration_seconds=media.duration_seconds,
        alt_text=media.alt_text,
        original_filename=media.original_filename,
        sha256=media.sha256,
        uploaded_by_id=media.uploaded_by_id,
        created_at=media.created_at,
        url=f"{base}/file",
        thumbnail_url=f"{base}/thumbnail" if media.thumbnail_key else None,
        warnings=warnings,
    )
