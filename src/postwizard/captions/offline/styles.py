"""How posts are written on each network, as people who post there do it: how long, how many
hashtags and where, whether a link is clickable in the text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import regex

from postwizard.captions.providers import Length
from postwizard.platforms.networks import Network
from postwizard.platforms.text_length import grapheme_count, hashtag_count

_ORDER = {Length.SHORT: 0, Length.MEDIUM: 1, Length.LONG: 2}


@dataclass(frozen=True, slots=True)
class NetworkStyle:
    longest: Length  # the longest form that reads well there
    max_hashtags: int
    paragraphs: bool  # blank lines between parts (LinkedIn, Instagram) or one flowing text (X)
    pascal_case_tags: bool  # #SourdoughWorkshop (screen readers read it) or #sourdoughworkshop
    links_clickable: bool = True  # Instagram captions do not link
    lengthen: bool = False  # long-form networks get the next longer form than asked for

    def length(self, wanted: Length) -> Length:
        if self.lengthen and wanted is Length.MEDIUM:
            wanted = Length.LONG
        return wanted if _ORDER[wanted] <= _ORDER[self.longest] else self.longest


# Threads allows one topic tag per post; Discord has no hashtags; Mastodon's own guidance is
# CamelCase tags for screen readers; Instagram captions do not turn links into links.
STYLES: dict[Network, NetworkStyle] = {
    Network.X: NetworkStyle(Length.MEDIUM, 2, paragraphs=False, pascal_case_tags=True),
    Network.BLUESKY: NetworkStyle(Length.MEDIUM, 3, paragraphs=False, pascal_case_tags=True),
    Network.THREADS: NetworkStyle(Length.MEDIUM, 1, paragraphs=True, pascal_case_tags=True),
    Network.MASTODON: NetworkStyle(Length.LONG, 5, paragraphs=True, pascal_case_tags=True),
    Network.LINKEDIN: NetworkStyle(
        Length.LONG, 5, paragraphs=True, pascal_case_tags=True, lengthen=True
    ),
    Network.FACEBOOK: NetworkStyle(
        Length.LONG, 3, paragraphs=True, pascal_case_tags=True, lengthen=True
    ),
    Network.INSTAGRAM: NetworkStyle(
        Length.LONG,
        30,
        paragraphs=True,
        pascal_case_tags=False,
        links_clickable=False,
        lengthen=True,
    ),
    Network.TELEGRAM: NetworkStyle(Length.LONG, 5, paragraphs=True, pascal_case_tags=True),
    Network.DISCORD: NetworkStyle(Length.LONG, 0, paragraphs=True, pascal_case_tags=True),
    Network.SANDBOX: NetworkStyle(Length.MEDIUM, 5, paragraphs=False, pascal_case_tags=True),
}
# The base text (no particular network) reads like a post on a mid-length network.
GENERIC = NetworkStyle(Length.LONG, 5, paragraphs=True, pascal_case_tags=True)

MAX_TAG_GRAPHEMES = 30  # well under Bluesky's 64; longer tags are unreadable anyway
_TAG_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")


def style_of(network: Network | None) -> NetworkStyle:
    return STYLES[network] if network is not None else GENERIC


def hashtag(phrase: str, *, pascal_case: bool = True) -> str | None:
    """`phrase` as a hashtag ("sourdough workshop" -> "#SourdoughWorkshop"), or None when it
    cannot make a valid one (only digits, too long)."""
    words = _TAG_WORD.findall(phrase)
    if not words:
        return None
    if pascal_case:
        body = "".join(w[:1].upper() + w[1:] if not w[1:].isupper() else w for w in words)
    else:
        body = "".join(words).lower()
    tag = "#" + body
    if not is_valid_hashtag(tag):
        return None
    return tag


def is_valid_hashtag(tag: str) -> bool:
    """Whether every network reads `tag` as one whole hashtag: '#', letters, digits (not only
    digits), nothing else, and short enough for Bluesky's tag facets."""
    if not tag.startswith("#") or hashtag_count(tag) != 1:
        return False
    body = tag[1:]
    return bool(_TAG_WORD.fullmatch(body)) and 1 <= grapheme_count(body) <= MAX_TAG_GRAPHEMES


def hashtags_for(
    phrases: Sequence[str], count: int, network: Network | None, *, avoid: Sequence[str] = ()
) -> list[str]:
    """Up to `count` hashtags (capped by the network's habits) from keyphrases, best first."""
    style = style_of(network)
    wanted = min(count, style.max_hashtags)
    avoided = {word.lower() for word in avoid}
    tags: list[str] = []
    for phrase in phrases:
        if len(tags) >= wanted:
            break
        if any(word in avoided for word in phrase.lower().split()):
            continue
        tag = hashtag(phrase, pascal_case=style.pascal_case_tags)
        if tag is not None and tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    return tags
