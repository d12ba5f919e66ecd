"""Rich-text facets of a Bluesky post: links, @mentions and #hashtags, located by UTF-8 bytes.

A post's `text` carries no markup; `facets` say which byte ranges of its UTF-8 encoding are a
link, a mention (of a DID) or a tag. Offsets are bytes, not characters: "café 👋 #tag" puts
the tag at bytes 12-16, although it starts at character 7.

What counts as a link, mention or tag is decided by the atproto SDK's port of the official
TypeScript SDK's `detectFacets`, the code the Bluesky app itself runs, so a post published
here is marked up exactly as if it had been typed in the app (bare domains only under real
TLDs, trailing punctuation left out of links, "#1" not a tag, ...). A mention becomes a facet
only when its handle resolves to a DID; one that does not stays plain text, as in the app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

LINK = "app.bsky.richtext.facet#link"
MENTION = "app.bsky.richtext.facet#mention"
TAG = "app.bsky.richtext.facet#tag"

Facet = dict[str, Any]
"""One `app.bsky.richtext.facet` as it goes into the record (JSON shape)."""

HandleResolver = Callable[[str], Awaitable[str | None]]
"""Looks a handle up: its DID, or None when no account has it."""


@dataclass(frozen=True, slots=True)
class MentionCandidate:
    """An "@handle" in the text, not yet resolved to a DID."""

    handle: str
    byte_start: int
    byte_end: int


@dataclass(frozen=True, slots=True)
class DetectedRichText:
    """What the text contains: link and tag facets, and the mentions still to resolve."""

    facets: list[Facet]
    mentions: list[MentionCandidate]


def detect_rich_text(text: str) -> DetectedRichText:
    """The links, tags and @mentions of `text`, each located by UTF-8 byte offsets."""
    # Imported here: loading the SDK's generated models takes ~0.4 s, which every CLI command
    # and server start would otherwise pay for.
    from atproto_client.utils.facet_detection import (  # type: ignore[import-untyped]
        detect_facets,
        detect_mentions,
    )

    facets = [_as_facet(detected) for detected in detect_facets(text)]
    mentions = [
        MentionCandidate(match.handle.lower(), match.byte_start, match.byte_end)
        for match in detect_mentions(text)
    ]
    return DetectedRichText(facets=facets, mentions=mentions)


async def facets_for(text: str, resolve_handle: HandleResolver) -> list[Facet]:
    """All facets of `text`, in text order: links, tags, and the mentions whose handle
    `resolve_handle` turns into a DID (each handle is looked up once)."""
    detected = detect_rich_text(text)
    dids: dict[str, str | None] = {}
    facets = list(detected.facets)
    for mention in detected.mentions:
        if mention.handle not in dids:
            dids[mention.handle] = await resolve_handle(mention.handle)
        did = dids[mention.handle]
        if did is not None:
            facets.append(_facet(mention.byte_start, mention.byte_end, MENTION, did=did))
    return _without_overlaps(facets)


def first_link(facets: Sequence[Facet]) -> str | None:
    """The URL of the first link facet (what a link card shows), if any."""
    for facet in facets:
        for feature in facet["features"]:
            if feature["$type"] == LINK:
                uri: str = feature["uri"]
                return uri
    return None


def _as_facet(detected: Any) -> Facet:
    """The SDK's facet model as the plain JSON the record needs."""
    feature = detected.features[0]
    start, end = detected.index.byte_start, detected.index.byte_end
    if feature.py_type == LINK:
        return _facet(start, end, LINK, uri=feature.uri)
    return _facet(start, end, TAG, tag=feature.tag)


def _facet(byte_start: int, byte_end: int, kind: str, **values: str) -> Facet:
    return {
        "index": {"byteStart": byte_start, "byteEnd": byte_end},
        "features": [{"$type": kind, **values}],
    }


def _without_overlaps(facets: list[Facet]) -> list[Facet]:
    """Facets sorted by position; a facet overlapping an earlier one is dropped (the app
    renders overlapping facets unpredictably)."""
    kept: list[Facet] = []
    end_of_last = -1
    for facet in sorted(facets, key=lambda item: int(item["index"]["byteStart"])):
        if facet["index"]["byteStart"] < end_of_last:
            continue
        kept.append(facet)
        end_of_last = facet["index"]["byteEnd"]
    return kept
