"""`GET /media/public/<token>`: a stored file for whoever holds a signed link (Instagram's and
Threads' servers fetching a post's media), without signing in. See `public_urls.py`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from postwizard.api.resources import resources
from postwizard.errors import NotFound, PostWizardError
from postwizard.media.public_urls import (
    PUBLIC_MEDIA_PATH,
    ExpiredMediaLinkError,
    InvalidMediaLinkError,
    PublicMediaUrls,
)

router = APIRouter(prefix=PUBLIC_MEDIA_PATH, tags=["media"])

# Private: the link is a capability, and shared caches must not keep the file past it.
PUBLIC_FILE_HEADERS = {"Cache-Control": "private", "X-Content-Type-Options": "nosniff"}
_NOT_FOUND = "This media link is not valid."


def public_media_urls(request: Request) -> PublicMediaUrls:
    held = resources(request)
    return PublicMediaUrls(held.secret_key, held.settings.effective_public_url)


@router.api_route(
    "/{token}",
    methods=["GET", "HEAD"],
    response_class=Response,
    # For networks' servers, not for the UI: kept out of the OpenAPI document and its client.
    include_in_schema=False,
)
async def public_media_file(token: str, request: Request) -> Response:
    """A media file behind a signed, expiring link (no sign-in): what networks that fetch media
    by URL download. 404 for a link this instance did not sign, 410 once it expired."""
    try:
        signed = public_media_urls(request).open(token)
    except InvalidMediaLinkError:
        raise NotFound(_NOT_FOUND) from None
    except ExpiredMediaLinkError:
        raise PostWizardError(
            "This media link expired; PostWizard makes a new one for each publish attempt.",
            code="link_expired",
            status_code=410,
        ) from None
    storage = resources(request).media_storage
    path = storage.local_path(signed.storage_key)
    if not await storage.exists(signed.storage_key):
        raise NotFound(_NOT_FOUND)
    if path is None:
        data = await storage.read(signed.storage_key)
        return Response(data, media_type=signed.mime_type, headers=PUBLIC_FILE_HEADERS)
    return FileResponse(path, media_type=signed.mime_type, headers=PUBLIC_FILE_HEADERS)
