"""Finding a post whose publish answer was lost, among the account's own posts.

X has no idempotency key, so reconcile reads the account's timeline
(`GET /2/users/:id/tweets`, newest first, reposts left out) from the delivery's first attempt
(less a margin for the two clocks) and compares each post of the right shape (reply target,
number of attachments) with the delivery's text.

The text cannot be compared literally, because X rewrites it:
- every link becomes a `https://t.co/…` link (a bare `example.com/page` too), whatever its
  length;
- a post with media gets one more t.co link at its end, pointing at the media;
- `&`, `<` and `>` come back as HTML entities;
- the text is NFC-normalised and trimmed.
So both sides are brought to one form: links replaced by one placeholder (on our side found by
the same twitter-text rules X uses to decide what becomes a link, `text_length.url_spans`; on
X's side the t.co links, with the media link dropped), entities unescaped, NFC, line endings
unified, trimmed. The rest must then be equal, character for character. Where X says what each
t.co link expands to (`entities.urls[].expanded_url`), those targets must match ours too, in
order, compared without what X normalises (scheme added to a bare domain, host case, a trailing
slash), so two posts differing only in a link target are not confused.

Absence is certain only when every post since the first attempt was read.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from postwizard.platforms.protocol import PublishRequest, UnknownOutcomeError
from postwizard.platforms.text_length import url_spans
from postwizard.platforms.x.api import XApi, envelope

CLOCK_SKEW = timedelta(minutes=5)
"""How far X's clock may be behind ours when comparing `created_at`."""
PAGE_SIZE = 100  # the most GET /2/users/:id/tweets returns at once
READ_SCOPE = "tweet.read"
TWEET_FIELDS = "created_at,entities,attachments,referenced_tweets"
_LINK = "\x00"
_TCO = re.compile(r"https?://t\.co/\w+", re.IGNORECASE)


class TimelineSearch:
    """The account's posts since a moment, matched against one delivery."""

    def __init__(self, api: XApi, *, user_id: str, max_pages: int) -> None:
        self.api = api
        self.user_id = user_id
        self.max_pages = max_pages

    async def find(
        self, request: PublishRequest, *, since: datetime | None
    ) -> tuple[dict[str, Any] | None, bool]:
        """The oldest post carrying `request` created after `since` (all of the timeline X
        keeps when None), and whether every post in that window was read."""
        params: dict[str, Any] = {
            "max_results": PAGE_SIZE,
            "exclude": "retweets",
            "tweet.fields": TWEET_FIELDS,
        }
        if since is not None:
            params["start_time"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        matches: list[dict[str, Any]] = []
        for _ in range(self.max_pages):
            response = await self.api.call(
                "GET",
                f"/2/users/{self.user_id}/tweets",
                params=params,
                what="looking for the post among the account's posts",
                scope=READ_SCOPE,
            )
            body = envelope(response, what="reading the account's posts")
            page = [post for post in body.get("data") or () if isinstance(post, dict)]
            matches += [post for post in page if is_same_post(post, request)]
            meta = body.get("meta")
            next_token = meta.get("next_token") if isinstance(meta, dict) else None
            if not next_token:
                return _oldest(matches), True
            params["pagination_token"] = next_token
        return _oldest(matches), False


def search_start(request: PublishRequest) -> datetime | None:
    """Where reconcile starts reading: the first attempt, less the clock margin."""
    if request.first_attempt_at is None:
        return None
    return request.first_attempt_at - CLOCK_SKEW


def cannot_tell(max_pages: int) -> UnknownOutcomeError:
    return UnknownOutcomeError(
        f"Could not tell whether the post was published: the account has more than "
        f"{max_pages * PAGE_SIZE} posts since the first attempt, and PostWizard reads no "
        "further back."
    )


def _oldest(posts: list[dict[str, Any]]) -> dict[str, Any] | None:
    # Newest first: the last match is the oldest; a duplicate would be the younger one.
    return posts[-1] if posts else None


def created_at(post: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(post.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_same_post(post: dict[str, Any], request: PublishRequest) -> bool:
    """Whether `post` (a tweet object with `entities`, `attachments`, `referenced_tweets`) is
    the delivery's: same reply target, same number of attachments, same text."""
    replied_to = [
        str(ref.get("id"))
        for ref in post.get("referenced_tweets") or ()
        if isinstance(ref, dict) and ref.get("type") == "replied_to"
    ]
    if (replied_to[0] if replied_to else None) != request.reply_to:
        return False
    attachments = post.get("attachments")
    media_keys = attachments.get("media_keys") if isinstance(attachments, dict) else None
    if len(media_keys or ()) != len(request.media):
        return False
    their_text, their_links = x_text_form(post, has_media=bool(request.media))
    our_text, our_links = our_text_form(request.text)
    if their_text != our_text:
        return False
    return all(
        theirs is None or comparable_url(theirs) == comparable_url(ours)
        for theirs, ours in zip(their_links, our_links, strict=True)
    )


def our_text_form(text: str) -> tuple[str, list[str]]:
    """The delivery's text with each link (twitter-text rules) as a placeholder, and the links."""
    normalized = _plain(unicodedata.normalize("NFC", text))
    pieces: list[str] = []
    links: list[str] = []
    position = 0
    for start, end in url_spans(normalized):
        pieces.append(normalized[position:start])
        pieces.append(_LINK)
        links.append(normalized[start:end])
        position = end
    pieces.append(normalized[position:])
    return "".join(pieces).strip(), links


def x_text_form(post: dict[str, Any], *, has_media: bool) -> tuple[str, list[str | None]]:
    """X's text of `post` with each t.co link as a placeholder (the media link dropped), and
    what each link expands to (None where X does not say)."""
    text = str(post.get("text") or "")
    entities = post.get("entities")
    url_entities = entities.get("urls") if isinstance(entities, dict) else None
    expansions: dict[str, str | None] = {}
    media_links: set[str] = set()
    for entity in url_entities or ():
        if not isinstance(entity, dict) or not entity.get("url"):
            continue
        if entity.get("media_key"):
            media_links.add(str(entity["url"]))
        else:
            expanded = entity.get("expanded_url")
            expansions[str(entity["url"])] = str(expanded) if expanded else None
    found = list(_TCO.finditer(text))
    if has_media and not media_links and found and text.rstrip().endswith(found[-1].group()):
        # No entities to tell which link is the media's: X appends it at the end.
        media_links.add(found[-1].group())
    links: list[str | None] = []

    def replace(match: re.Match[str]) -> str:
        if match.group() in media_links:
            return ""
        links.append(expansions.get(match.group()))
        return _LINK

    replaced = _TCO.sub(replace, text)
    normalized = _plain(unicodedata.normalize("NFC", html.unescape(replaced)))
    return normalized.strip(), links


def comparable_url(url: str) -> str:
    """`url` without what X changes when it expands a link: the scheme it adds to a bare
    domain, the case of the host, a trailing slash."""
    rest = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip(), flags=re.IGNORECASE)
    host, slash, path = rest.partition("/")
    return (host.lower() + slash + path).rstrip("/")


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def posts_url(username: str, post_id: str, web_url: str) -> str:
    """The web address of a post (`https://x.com/<username>/status/<id>`)."""
    return f"{web_url}/{username or 'i/web'}/status/{post_id}"
