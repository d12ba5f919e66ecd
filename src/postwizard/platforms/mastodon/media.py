"""Uploading a post's media: `POST /api/v2/media`, then waiting for processing.

Images are usually processed at once (200 with a `url`); video, GIFs and large images come back
202 with `url: null`, and `GET /api/v1/media/:id` answers 206 until the full-size file is ready.
A status cannot attach media that is still processing ("Cannot attach files that have not
finished processing"), so publishing waits, for a bounded time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from postwizard.platforms.mastodon.api import MastodonApi, json_body
from postwizard.platforms.protocol import MediaItem, TransientError

MAX_POLL_INTERVAL_S = 5.0


async def upload_media(
    api: MastodonApi,
    item: MediaItem,
    *,
    number: int,
    poll_interval: float,
    processing_timeout: float,
) -> str:
    """The id of `item` uploaded as attachment `number` (1-based), once the server has processed
    it. Raises `TransientError` when processing takes longer than `processing_timeout` seconds
    (an orphaned upload is harmless: Mastodon deletes unattached media after a day)."""
    what = f"uploading {item.kind} {number} ({item.filename})"
    data = {"description": item.alt_text} if item.alt_text else None
    # httpx streams an open file in 64 KiB chunks (with a Content-Length from its size): a video
    # is never read into memory whole.
    file = await asyncio.to_thread(item.path.open, "rb")
    try:
        response = await api.call(
            "POST",
            "/api/v2/media",
            files={"file": (item.filename, file, item.mime_type)},
            data=data,
            what=what,
        )
    finally:
        file.close()
    media = _media(json_body(response, dict, what=what), what)
    if response.status_code == 200 and media.get("url"):
        return str(media["id"])
    return await _wait_until_processed(
        api, str(media["id"]), what=what, interval=poll_interval, give_up_after=processing_timeout
    )


async def _wait_until_processed(
    api: MastodonApi, media_id: str, *, what: str, interval: float, give_up_after: float
) -> str:
    deadline = time.monotonic() + give_up_after
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TransientError(
                f"{api.host} was still processing the file after {give_up_after:g} s while {what}; "
                "PostWizard tries again later."
            )
        await asyncio.sleep(min(interval, remaining))
        response = await api.call("GET", f"/api/v1/media/{media_id}", what=f"waiting for {what}")
        # 206 Partial Content: still processing (its body may be empty).
        if response.status_code == 200 and _media(json_body(response, dict, what=what), what).get(
            "url"
        ):
            return media_id
        interval = min(interval * 2, MAX_POLL_INTERVAL_S)


def _media(body: dict[str, Any], what: str) -> dict[str, Any]:
    if not body.get("id"):
        raise TransientError(f"The server answered without a media attachment while {what}.")
    return body
