"""Finding a status whose publish answer was lost.

The `Idempotency-Key` makes a repeated create within about an hour return the first status
instead of a second one, but it cannot be queried, and reconcile must not create anything. So
reconcile reads the account's own statuses (`GET /api/v1/accounts/:id/statuses`, newest first,
reblogs left out) back to `first_attempt_at` and compares each one that has the right shape
(reply target, number of attachments, content warning) with the delivery's text.

Text is compared exactly through `GET /api/v1/statuses/:id/source`, the plain text as it was
posted. The `content` of a status is HTML rendered from that text, and rendering loses facts:
`@alice@example.com` is shown as `@alice`, links are split into spans, line breaks become
`<br>` and paragraphs. So `content` is used only on servers without `/source` (Mastodon before
3.5, some compatible servers), made comparable on both sides: tags dropped, remote mentions
reduced to `@user`, runs of white space collapsed.

Absence is certain only when every status since `first_attempt_at` (less a margin for the two
clocks) was read, or the account's whole history was; otherwise reconcile says it cannot tell.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from postwizard.platforms.mastodon.api import MastodonApi, json_body
from postwizard.platforms.protocol import PermanentError, PublishRequest, UnknownOutcomeError

CLOCK_SKEW = timedelta(minutes=5)
"""How far the server's clock may be behind ours when comparing `created_at`."""
PAGE_SIZE = 40  # the most GET /api/v1/accounts/:id/statuses returns at once
_REMOTE_MENTION = re.compile(r"(?<![=/\w])@(\w+(?:[.-]+\w+)*)@\w+(?:[.-]+\w+)*", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


async def find_published_status(
    api: MastodonApi, *, account_id: str, request: PublishRequest, max_pages: int
) -> dict[str, Any] | None:
    """The account's status that carries `request` (the oldest, if ever there were two), None
    if it certainly has none, or `UnknownOutcomeError` when `max_pages` pages did not reach
    back to `request.first_attempt_at`."""
    since = request.first_attempt_at - CLOCK_SKEW if request.first_attempt_at else None
    matches: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": PAGE_SIZE, "exclude_reblogs": "true"}
    for _ in range(max_pages):
        response = await api.call(
            "GET",
            f"/api/v1/accounts/{account_id}/statuses",
            params=params,
            what="looking for the post among the account's statuses",
        )
        page = [
            status
            for status in json_body(response, list, what="reading the account's statuses")
            if isinstance(status, dict) and status.get("id")
        ]
        window_read = not page  # an empty page: the account's whole history was read
        for status in page:
            created_at = _created_at(status)
            if since is not None and created_at is not None and created_at < since:
                window_read = True
                break
            if _same_shape(status, request) and await _same_text(api, status, request):
                matches.append(status)
        if window_read:
            return _oldest(matches)
        params["max_id"] = str(page[-1]["id"])
    if matches:
        return _oldest(matches)
    raise UnknownOutcomeError(
        f"Could not tell whether the post was published: the account has more than "
        f"{max_pages * PAGE_SIZE} statuses since the first attempt, and PostWizard reads no "
        "further back."
    )


def _oldest(statuses: list[dict[str, Any]]) -> dict[str, Any] | None:
    # The last one read is the oldest (newest first); a duplicate would be the younger one.
    return statuses[-1] if statuses else None


def _created_at(status: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(status.get("created_at")))
    except ValueError:
        return None


def _same_shape(status: dict[str, Any], request: PublishRequest) -> bool:
    """Whether `status` could be the delivery's, judged without its text."""
    reply_to = status.get("in_reply_to_id")
    spoiler = str(request.options.get("spoiler_text") or "").strip()
    return (
        status.get("reblog") is None
        and (str(reply_to) if reply_to is not None else None) == request.reply_to
        and len(status.get("media_attachments") or ()) == len(request.media)
        and str(status.get("spoiler_text") or "").strip() == spoiler
    )


async def _same_text(api: MastodonApi, status: dict[str, Any], request: PublishRequest) -> bool:
    try:
        response = await api.call(
            "GET",
            f"/api/v1/statuses/{status['id']}/source",
            what="reading a status's text to compare it with the post",
        )
        text = json_body(response, dict, what="reading a status's text").get("text")
        if isinstance(text, str):
            return _plain(text) == _plain(request.text)
    except PermanentError as error:
        # No /source on this server (404 for a status that was just listed, or 405).
        if error.http_status not in (404, 405, 410):
            raise
    return comparable_text(html_to_text(str(status.get("content") or ""))) == comparable_text(
        request.text
    )


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def comparable_text(text: str) -> str:
    """`text` with what Mastodon's HTML rendering loses taken out: remote mentions as `@user`,
    white space collapsed."""
    return _WHITESPACE.sub(" ", _REMOTE_MENTION.sub(r"@\1", text)).strip()


def html_to_text(html: str) -> str:
    """The text of a status's HTML `content`: tags dropped (the "invisible" parts of shortened
    links kept, so links come back whole), `<br>` as a line break, paragraphs as blank lines."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return "".join(parser.pieces)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.pieces.append("\n")
        elif tag == "p" and self.pieces:
            self.pieces.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.pieces.append(data)
