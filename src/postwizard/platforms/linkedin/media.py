"""Uploading a post's media to LinkedIn: the Images API and the Videos API.

Images: `POST /rest/images?action=initializeUpload` → PUT the bytes to the `uploadUrl` → the
`urn:li:image:...` is used in the post once `GET /rest/images/{urn}` says `AVAILABLE`.
Videos: `POST /rest/videos?action=initializeUpload` (with the size) answers upload
instructions, one per part of up to 4 MiB → each part is PUT and answers an `ETag` →
`POST /rest/videos?action=finalizeUpload` with the ETags in order → LinkedIn processes the
video until `GET /rest/videos/{urn}` says `AVAILABLE` (bounded wait). Files are read from disk
a chunk or a part at a time, never whole.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from postwizard.platforms.linkedin.api import LinkedInApi, json_object
from postwizard.platforms.protocol import MediaItem, PermanentError, TransientError

CHUNK_BYTES = 256 * 1024
MAX_POLL_INTERVAL_S = 5.0


class MediaUploader:
    def __init__(
        self, api: LinkedInApi, *, owner: str, scope: str, poll_interval: float, timeout: float
    ) -> None:
        self.api = api
        self.owner = owner
        self.scope = scope
        self.poll_interval = poll_interval
        self.timeout = timeout

    async def upload(self, item: MediaItem, number: int) -> str:
        """The URN of `item` (attachment `number`, 1-based), once LinkedIn can show it."""
        if item.kind == "video":
            return await self._video(item, number)
        return await self._image(item, number)

    async def _image(self, item: MediaItem, number: int) -> str:
        what = f"uploading image {number} ({item.filename})"
        response = await self.api.call(
            "POST",
            "/rest/images?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": self.owner}},
            what=what,
            scope=self.scope,
        )
        value = _value(json_object(response, what=what), what)
        upload_url, urn = value.get("uploadUrl"), value.get("image")
        if not isinstance(upload_url, str) or not isinstance(urn, str):
            raise TransientError(f"LinkedIn answered without an upload address while {what}.")
        await self.api.send(
            "PUT",
            upload_url,
            content=_chunks(item.path, 0, item.size_bytes),
            headers=self._upload_headers(upload_url, item.size_bytes, item.mime_type),
            what=what,
            scope=self.scope,
        )
        await self._wait_until_available("images", urn, what)
        return urn

    async def _video(self, item: MediaItem, number: int) -> str:
        what = f"uploading video {number} ({item.filename})"
        request = {
            "initializeUploadRequest": {
                "owner": self.owner,
                "fileSizeBytes": item.size_bytes,
                "uploadCaptions": False,
                "uploadThumbnail": False,
            }
        }
        response = await self.api.call(
            "POST",
            "/rest/videos?action=initializeUpload",
            json=request,
            what=what,
            scope=self.scope,
        )
        value = _value(json_object(response, what=what), what)
        urn = value.get("video")
        instructions = value.get("uploadInstructions")
        if not isinstance(urn, str) or not isinstance(instructions, list) or not instructions:
            raise TransientError(f"LinkedIn answered without upload instructions while {what}.")
        etags: list[str] = []
        for part in instructions:
            url, first, last = part.get("uploadUrl"), part.get("firstByte"), part.get("lastByte")
            if not isinstance(url, str) or not isinstance(first, int) or not isinstance(last, int):
                raise TransientError(f"LinkedIn sent an unusable upload instruction while {what}.")
            size = last - first + 1
            answer = await self.api.send(
                "PUT",
                url,
                content=_chunks(item.path, first, size),
                headers=self._upload_headers(url, size, "application/octet-stream"),
                what=what,
                scope=self.scope,
            )
            etag = answer.headers.get("etag")
            if not etag:
                raise TransientError(f"LinkedIn did not confirm a part (no ETag) while {what}.")
            etags.append(etag)
        finalize = {
            "finalizeUploadRequest": {
                "video": urn,
                "uploadToken": str(value.get("uploadToken") or ""),
                "uploadedPartIds": etags,
            }
        }
        await self.api.call(
            "POST", "/rest/videos?action=finalizeUpload", json=finalize, what=what, scope=self.scope
        )
        await self._wait_until_available("videos", urn, what)
        return urn

    def _upload_headers(self, url: str, size: int, mime_type: str) -> dict[str, str]:
        headers = {"Content-Length": str(size), "Content-Type": mime_type}
        # The token goes only to LinkedIn's own upload hosts (or the API's host in tests).
        host = urlsplit(url).hostname or ""
        if host == urlsplit(self.api.api_url).hostname or host.endswith(".linkedin.com"):
            headers["Authorization"] = f"Bearer {self.api.token}"
        return headers

    async def _wait_until_available(self, collection: str, urn: str, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        interval = self.poll_interval
        while True:
            response = await self.api.call(
                "GET",
                f"/rest/{collection}/{quote(urn, safe='')}",
                what=f"waiting for LinkedIn to process the file while {what}",
                scope=self.scope,
            )
            media = json_object(response, what=what)
            status = str(media.get("status") or "")
            if status == "AVAILABLE":
                return
            if status in ("PROCESSING_FAILED", "FAILED"):
                reason = media.get("processingFailureReason") or "no reason given"
                raise PermanentError(
                    f"LinkedIn could not process the file ({reason}) while {what}."
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientError(
                    f"LinkedIn was still processing the file after {self.timeout:g} s while "
                    f"{what}; PostWizard tries again later."
                )
            await asyncio.sleep(min(interval, remaining))
            interval = min(interval * 2, MAX_POLL_INTERVAL_S)


def _value(body: dict[str, Any], what: str) -> dict[str, Any]:
    value = body.get("value")
    if not isinstance(value, dict):
        raise TransientError(f"LinkedIn answered without a value while {what}.")
    return value


async def _chunks(path: Path, offset: int, size: int) -> AsyncIterator[bytes]:
    """`size` bytes of `path` from `offset`, a chunk at a time (the event loop never blocks on
    the disk)."""
    file = await asyncio.to_thread(path.open, "rb")
    try:
        await asyncio.to_thread(file.seek, offset)
        left = size
        while left > 0:
            chunk = await asyncio.to_thread(file.read, min(CHUNK_BYTES, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        file.close()
