"""Rich-text facets of Bluesky posts: which text becomes a link, mention or tag, and where it is
in UTF-8 bytes (emoji, CJK, combining marks and ZWJ sequences take several bytes each)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from postwizard.platforms.bluesky.facets import (
    LINK,
    MENTION,
    TAG,
    Facet,
    detect_rich_text,
    facets_for,
    first_link,
)

DIDS = {"bob.test": "did:plc:bob", "alice.bsky.social": "did:plc:alice"}


class Resolver:
    """A handle directory; counts lookups to show each handle is asked once."""

    def __init__(self, dids: dict[str, str]) -> None:
        self.dids = dids
        self.asked: Counter[str] = Counter()

    async def __call__(self, handle: str) -> str | None:
        self.asked[handle] += 1
        return self.dids.get(handle)


def spans(text: str, facets: list[Facet]) -> list[tuple[str, dict[str, Any], int, int]]:
    """Each facet as (the text it covers, its feature, byteStart, byteEnd)."""
    encoded = text.encode("utf-8")
    result = []
    for facet in facets:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        result.append((encoded[start:end].decode("utf-8"), facet["features"][0], start, end))
    return result


async def test_offsets_count_bytes_after_emoji() -> None:
    text = "👋 #hello"
    assert spans(text, await facets_for(text, Resolver({}))) == [
        ("#hello", {"$type": TAG, "tag": "hello"}, 5, 11)
    ]


async def test_offsets_count_bytes_after_cjk_and_in_cjk_tags() -> None:
    text = "日本語 #タグ"
    assert spans(text, await facets_for(text, Resolver({}))) == [
        ("#タグ", {"$type": TAG, "tag": "タグ"}, 10, 17)
    ]


async def test_combining_marks_count_their_own_bytes_and_stay_in_the_tag() -> None:
    text = "Cafe\u0301 #cafe\u0301 ok"  # "é" as e + U+0301: 3 bytes, one grapheme
    [(covered, feature, start, end)] = spans(text, await facets_for(text, Resolver({})))
    assert covered == "#cafe\u0301"
    assert feature == {"$type": TAG, "tag": "cafe\u0301"}
    assert (start, end) == (7, 14)


async def test_zwj_sequences_and_flags_before_a_mention() -> None:
    text = "👨‍👩‍👧 🇫🇷 @bob.test"  # family: 18 bytes; flag: 8 bytes
    assert spans(text, await facets_for(text, Resolver(DIDS))) == [
        ("@bob.test", {"$type": MENTION, "did": "did:plc:bob"}, 28, 37)
    ]


async def test_links_leave_out_trailing_punctuation_and_get_a_scheme() -> None:
    text = "See https://example.com/a?b=1. Or example.org/docs, (https://x.com/y)!"
    found = spans(text, await facets_for(text, Resolver({})))
    assert [(covered, feature["uri"]) for covered, feature, _, _ in found] == [
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("example.org/docs", "https://example.org/docs"),
        ("https://x.com/y", "https://x.com/y"),
    ]
    assert all(feature["$type"] == LINK for _, feature, _, _ in found)


async def test_a_bare_name_without_a_real_tld_is_not_a_link() -> None:
    text = "open main.notatld or notes.txt"
    assert await facets_for(text, Resolver({})) == []


async def test_number_only_hashtags_are_not_tags() -> None:
    text = "#1 #2024 #a1 #🙂"
    found = [covered for covered, *_ in spans(text, await facets_for(text, Resolver({})))]
    assert found == ["#a1", "#🙂"]


async def test_unresolvable_mentions_stay_plain_text_and_handles_are_asked_once() -> None:
    resolver = Resolver(DIDS)
    text = "@bob.test meet @nobody.test and @Bob.test again, cc @alice.bsky.social"
    found = spans(text, await facets_for(text, resolver))
    assert [(covered, feature.get("did")) for covered, feature, _, _ in found] == [
        ("@bob.test", "did:plc:bob"),
        ("@Bob.test", "did:plc:bob"),
        ("@alice.bsky.social", "did:plc:alice"),
    ]
    assert resolver.asked == {"bob.test": 1, "nobody.test": 1, "alice.bsky.social": 1}


async def test_an_email_address_is_not_a_mention() -> None:
    resolver = Resolver(DIDS)
    assert await facets_for("write to me@bob.test", resolver) == []
    assert resolver.asked == {}


async def test_facets_are_in_text_order() -> None:
    text = "#first @bob.test https://example.com #last"
    found = spans(text, await facets_for(text, Resolver(DIDS)))
    assert [covered for covered, *_ in found] == [
        "#first",
        "@bob.test",
        "https://example.com",
        "#last",
    ]


def test_first_link_is_what_a_link_card_shows() -> None:
    detected = detect_rich_text("#tag then https://one.example.com and https://two.example.com")
    assert first_link(detected.facets) == "https://one.example.com"
    assert first_link(detect_rich_text("no links #here").facets) is None


_PIECES = st.sampled_from(
    [
        "a",
        "Z",
        " ",
        "\n",
        "é",
        "e\u0301",
        "日本",
        "👋",
        "👋🏽",
        "👨‍👩‍👧",
        "🇯🇵",
        "#tag",
        "#日本",
        "@bob.test",
        "@nobody.test",
        "https://example.com/p",
        "example.org",
        ".",
        ",",
        "(",
        ")",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, max_size=40))
async def test_every_facet_covers_whole_characters_of_what_it_marks(pieces: list[str]) -> None:
    text = "".join(pieces)
    facets = await facets_for(text, Resolver(DIDS))
    encoded_length = len(text.encode("utf-8"))
    previous_end = 0
    for covered, feature, start, end in spans(text, facets):  # decoding fails on split characters
        assert previous_end <= start < end <= encoded_length
        previous_end = end
        if feature["$type"] == TAG:
            assert covered == "#" + feature["tag"]
        elif feature["$type"] == MENTION:
            assert covered == "@bob.test"
            assert feature["did"] == "did:plc:bob"
        else:
            assert feature["uri"].endswith(covered.removeprefix("https://"))
