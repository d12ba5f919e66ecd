"""Uploading a post's media with X's v2 chunked upload.

`POST /2/media/upload/initialize` (JSON: `media_type`, `total_bytes`, `media_category`) answers
the media id; `POST /2/media/upload/{id}/append` takes the file in chunks (multipart: `media`,
`segment_index` 0-999); `POST /2/media/upload/{id}/finalize` ends the upload and, for video and
animated GIFs, starts processing: its `processing_info` (`state` pending / in_progress /
succeeded / failed, `check_after_secs`) is then polled with
`GET /2/media/upload?command=STATUS&media_id=` until it succeeds, for a bounded time. A post
cannot attach media that is still processing. Alt text is set afterwards with
`POST /2/media/metadata` (images and GIFs; X documents it for no other kind).

An abandoned upload is harmless: X discards media not attached to a post when its
`expires_after_secs` runs out.
"""

from __future__ import annotations

import asyncio
import time
from typing import IO, Any

from postwizard.platforms.protocol import MediaItem, PermanentError, TransientError
from postwizard.platforms.x.api import XApi

MEDIA_SCOPE = "media.write"
DEFAULT_CHUNK_BYTES = 4 * 1_048_576
"""Below X's 5 MB per APPEND; a chunk is the most of a file held in memory at once."""
MAX_SEGMENTS = 1000  # segment_index is 0-999
MAX_ALT_TEXT = 1000
PENDING_STATES = frozenset({"pending", "in_progress"})


def media_category(item: MediaItem) -> str:
    """X's use-case category, which decides its size and processing rules."""
    if item.kind == "video":
        return "tweet_video"
    if item.kind == "gif" or item.mime_type == "image/gif":
        return "tweet_gif"
    return "tweet_image"


def check_alt_text(media: list[MediaItem] | tuple[MediaItem, ...]) -> None:
    """Refuse alt text X would refuse, before anything is uploaded."""
    for number, item in enumerate(media, start=1):
        if len(item.alt_text) > MAX_ALT_TEXT:
            raise PermanentError(
                f"X allows alt text of up to {MAX_ALT_TEXT} characters; the one of "
                f"{item.kind} {number} ({item.filename}) has {len(item.alt_text)}."
            )


async def upload_media(
    api: XApi,
    item: MediaItem,
    *,
    number: int,
    chunk_bytes: int,
    processing_timeout: float,
    max_poll_interval: float,
) -> str:
    """The media id of `item` (attachment `number`, 1-based), uploaded, processed and with its
    alt text, ready to attach."""
    what = f"uploading {item.kind} {number} ({item.filename})"
    chunk_bytes = max(chunk_bytes, -(-item.size_bytes // MAX_SEGMENTS))
    data = await api.data(
        "POST",
        "/2/media/upload/initialize",
        json={
            "media_type": item.mime_type,
            "total_bytes": item.size_bytes,
            "media_category": media_category(item),
        },
        what=what,
        scope=MEDIA_SCOPE,
    )
    media_id = _media_id(data, what)
    file = await asyncio.to_thread(item.path.open, "rb")
    try:
        await _append_chunks(api, media_id, file, item, chunk_bytes=chunk_bytes, what=what)
    finally:
        file.close()
    finalized = await api.data(
        "POST", f"/2/media/upload/{media_id}/finalize", what=what, scope=MEDIA_SCOPE
    )
    processing = finalized.get("processing_info") if isinstance(finalized, dict) else None
    if isinstance(processing, dict):
        await _wait_until_processed(
            api,
            media_id,
            processing,
            what=what,
            give_up_after=processing_timeout,
            max_interval=max_poll_interval,
        )
    if item.alt_text and media_category(item) != "tweet_video":
        await api.call(
            "POST",
            "/2/media/metadata",
            json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}},
            what=f"setting the alt text of {item.kind} {number}",
            scope=MEDIA_SCOPE,
        )
    return media_id


async def _append_chunks(
    api: XApi, media_id: str, file: IO[bytes], item: MediaItem, *, chunk_bytes: int, what: str
) -> None:
    segment = 0
    while chunk := await asyncio.to_thread(file.read, chunk_bytes):
        await api.call(
            "POST",
            f"/2/media/upload/{media_id}/append",
            data={"segment_index": str(segment)},
            files={"media": (item.filename, chunk, "application/octet-stream")},
            what=what,
            scope=MEDIA_SCOPE,
        )
        segment += 1


async def _wait_until_processed(
    api: XApi,
    media_id: str,
    processing: dict[str, Any],
    *,
    what: str,
    give_up_after: float,
    max_interval: float,
) -> None:
    """Poll STATUS while X processes the media, as often as its `check_after_secs` says (capped
    by `max_interval`), until it succeeds; its own reason when it fails; `TransientError` after
    `give_up_after` seconds."""
    deadline = time.monotonic() + give_up_after
    while True:
        state = str(processing.get("state") or "")
        if state == "succeeded" or not state:
            return
        if state == "failed":
            error = processing.get("error")
            message = error.get("message") if isinstance(error, dict) else None
            raise PermanentError(
                f"X could not process the media while {what}: {message or 'it gave no reason'}."
            )
        if state not in PENDING_STATES:
            raise TransientError(f"X reported an unknown media state {state!r} while {what}.")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TransientError(
                f"X was still processing the media after {give_up_after:g} s while {what}; "
                "PostWizard tries again later."
            )
        wait = _seconds(processing.get("check_after_secs"), default=1.0)
        await asyncio.sleep(min(wait, max_interval, remaining))
        data = await api.data(
            "GET",
            "/2/media/upload",
            params={"command": "STATUS", "media_id": media_id},
            what=what,
            scope=MEDIA_SCOPE,
        )
        info = data.get("processing_info") if isinstance(data, dict) else None
        processing = info if isinstance(info, dict) else {"state": "succeeded"}


def _media_id(data: Any, what: str) -> str:
    media_id = data.get("id") if isinstance(data, dict) else None
    if not media_id:
        raise TransientError(f"X answered without a media id while {what}.")
    return str(media_id)


def _seconds(value: object, *, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return default
