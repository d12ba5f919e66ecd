"""How each network counts text: X's weighting, graphemes, Mastodon's and Threads' rules, links.

X's expectations marked "conformance" are cases of twitter-text's own conformance suite
(conformance/validate.yml, WeightedTweetsWithDiscountedEmojiCounterTest), so the numbers are
X's, not ours.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postwizard.platforms import CountingRule, Network, counting_rule, length
from postwizard.platforms.text_length import (
    code_point_count,
    distinct_link_count,
    grapheme_count,
    hashtag_count,
    mastodon_length,
    mention_count,
    threads_length,
    url_spans,
    utf8_byte_count,
    utf16_code_unit_count,
    x_weighted_length,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦, 7 code points
FLAG_FR = "\U0001f1eb\U0001f1f7"  # 🇫🇷
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # 👍🏽
KEYCAP_ONE = "1\ufe0f\u20e3"  # 1️⃣
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"  # 🏳️‍🌈
TECHNOLOGIST = (
    "\U0001f9d1\U0001f3fd\u200d\U0001f4bb"  # 🧑🏽‍💻 (Unicode 12, newer than twitter-text's list)
)


def spans_text(text: str, *, require_protocol: bool = False) -> list[str]:
    return [text[start:end] for start, end in url_spans(text, require_protocol=require_protocol)]


# --- X: code point weights --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is a test.", 15),  # conformance
        ("Привет, мир", 11),  # Cyrillic is below U+10FF: weight 1
        ("שלום", 4),  # Hebrew, weight 1
        ("日本語", 6),  # CJK weight 2
        ("저찀쯿쿿", 8),  # Hangul syllables weight 2
        ("\u2014\u2018\u2019\u201c\u201d", 5),  # dashes and quotes, U+2010-U+201F: weight 1
        ("\u2032\u2033", 2),  # primes, U+2032-U+2037: weight 1
        ("\u2026", 2),  # ellipsis U+2026 is outside the light ranges
        ("\u20ac", 2),  # euro sign
        ("\U00010000\U0010ffff", 4),  # astral non-emoji code points: weight 2 each
        ("A\u0301B", 2),  # NFC makes A + combining acute one character
        ("A\ufb2c", 4),  # conformance: U+FB2C decomposes into three characters under NFC
    ],
)
def test_x_weights_code_points_by_range(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


def test_x_counts_140_cjk_characters_as_the_whole_280() -> None:
    assert x_weighted_length("故" * 140) == 280
    assert x_weighted_length("故" * 140 + "a") == 281


def test_x_conformance_long_texts() -> None:
    chunk = "xxxxxxxxxx-"
    assert x_weighted_length("285 chars-" + chunk * 25) == 285
    assert x_weighted_length("285 chars- http://www.twitter.com/jack " + chunk * 24) == 299
    assert x_weighted_length(chunk * 24 + " http://www.twitter.com/jack ") == 289
    assert x_weighted_length("https://www.twitter.com/aloha " * 10) == 240


def test_x_general_punctuation_conformance() -> None:
    text = (
        "This is a tweet with general punctuation characters: "
        "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b "
        # Dashes, quotes and primes, U+2010-U+201F and U+2032-U+2037, all weight 1 (the
        # conformance text has two spaces after U+2016).
        + " ".join(chr(code) for code in range(0x2010, 0x2017))
        + "  "
        + " ".join(chr(code) for code in [*range(0x2017, 0x2020), *range(0x2032, 0x2038)])
    )
    assert x_weighted_length(text) == 110


# --- X: emoji ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\U0001f637", 2),  # 😷
        (THUMBS_UP_MEDIUM, 2),  # skin tone modifier: one emoji
        (FAMILY, 2),  # ZWJ sequence of 7 code points: one emoji
        (FLAG_FR, 2),  # two regional indicators: one flag
        (KEYCAP_ONE, 2),
        (ENGLAND, 2),  # tag sequence
        (RAINBOW_FLAG, 2),
        (TECHNOLOGIST, 2),
        ("\u2764\ufe0f", 2),  # ❤️ with emoji presentation selector
        ("\u263a", 2),  # ☺ text-default emoji
        ("\u263a\ufe0e", 4),  # ☺︎ text presentation: not an emoji, ☺ and U+FE0E weigh 2 each
        ("\u00a9", 1),  # © alone is text
        ("\u00a9\ufe0f", 3),  # as twitter-text: © weighs 1, the lone U+FE0F weighs 2
        ("1", 1),
        ("\U0001f637\U0001f47e\U0001f621\U0001f525\U0001f4a9", 10),  # conformance
        ("H\U0001f431\u263a" + FAMILY, 7),  # conformance
        ("\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4", 4),  # conformance: 🙋🏽👨‍🎤
        ("Unicode 9.0 emoji: \U0001f920; \U0001f483; \U0001f483\U0001f3fe", 29),  # conformance
        ("Unicode 10.0 emoji: \U0001f92a; \U0001f9d5; \U0001f9d5\U0001f3fe; " + ENGLAND, 34),
        ("\U0001f468\u200d", 3),  # a dangling ZWJ joins nothing: 👨 (2) + ZWJ (1)
    ],
)
def test_x_counts_each_emoji_as_two(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


def test_x_counts_140_family_emoji_as_280() -> None:
    # conformance "140 family emoji": 980 code points, 1,540 UTF-16 units, weighted 280.
    assert x_weighted_length(FAMILY * 140) == 280


# --- X: links ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://test.com", 23),  # conformance
        ("https://test.com", 23),  # conformance
        ("test.com", 23),  # conformance: a bare domain is a link too
        ("Test https://test.com test https://test.com test.com test", 86),  # conformance
        ("Hi http://test.co", 26),  # conformance
        ("https://example.com/" + "a" * 200, 23),  # any length counts 23
        ("https://a.io", 23),  # and so does a link shorter than 23
        ("see https://example.com/page.", 4 + 23 + 1),  # the final "." belongs to the sentence
        ("(https://en.wikipedia.org/wiki/Go_(game))", 1 + 23 + 1),  # balanced parens stay
        ("https://example.com/search?q=1&lang=en", 23),
        ("https://example.com:8443/x", 23),
        ("www.example.com/path", 23),
        ("example.co.uk", 23),  # three labels under a ccTLD
        ("t.co", 23),  # conformance
        ("example.co", 23),  # .co and .tv are links even with two labels
        ("example.de", 10),  # a two-label ccTLD host without a path is text...
        ("example.de/impressum", 23),  # ...but a link once a path follows
        ("main.py", 7),  # so file names stay text
        ("index.html", 10),  # not a TLD
        ("user@example.com", 16),  # e-mail addresses are not links
        ("#example.com", 12),
        ("http://localhost:8000/", 22),  # no TLD: not a link
        ("http://192.168.0.1/", 19),  # IP addresses are not links (as in twitter-text)
        ("http://\u2603.net/", 23),  # conformance: IDN host ☃.net
        (
            "randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com",
            68,
        ),  # 64-char label
    ],
)
def test_x_counts_every_link_as_23(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


def test_x_rejects_idn_labels_longer_than_63_after_punycode() -> None:
    # conformance: 52 kana are 63 characters in Punycode (a link), 53 are 64 (not a link).
    poem = "あいうえおかきくけこ" * 12
    label = "あいうえおかきくけこ" * 5
    assert x_weighted_length(poem + " http://" + label + "あい.com") == 264
    assert x_weighted_length(poem + " http://" + label + "あいう.com") == 358


def test_link_spans_end_where_the_link_ends() -> None:
    text = "Read https://example.com/a?b=c. Then example.org, or (see www.example.net/x)."
    assert spans_text(text) == [
        "https://example.com/a?b=c",
        "example.org",
        "www.example.net/x",
    ]
    assert spans_text(text, require_protocol=True) == ["https://example.com/a?b=c"]


# --- Bluesky: graphemes and bytes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "graphemes", "code_points", "utf8_bytes"),
    [
        ("hello", 5, 5, 5),
        ("e\u0301", 1, 2, 3),  # e + combining acute accent
        ("n\u0303a\u0308", 2, 4, 6),  # ñ ä with combining marks
        (FAMILY, 1, 7, 25),
        (FLAG_FR + FLAG_FR, 2, 4, 16),
        (THUMBS_UP_MEDIUM, 1, 2, 8),
        (KEYCAP_ONE, 1, 3, 7),
        ("\u1100\u1161\u11a8", 1, 3, 9),  # Hangul jamo forming one syllable
        ("日本語", 3, 3, 9),
    ],
)
def test_bluesky_counts_graphemes(
    text: str, graphemes: int, code_points: int, utf8_bytes: int
) -> None:
    assert length(Network.BLUESKY, text) == graphemes
    assert grapheme_count(text) == graphemes
    assert code_point_count(text) == code_points
    assert utf8_byte_count(text) == utf8_bytes


def test_bluesky_byte_limit_can_bind_before_the_grapheme_limit() -> None:
    # 121 families are far below 300 graphemes but above 3,000 bytes.
    assert grapheme_count(FAMILY * 121) == 121
    assert utf8_byte_count(FAMILY * 120) == 3000
    assert utf8_byte_count(FAMILY * 121) == 3025


# --- Mastodon ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Read https://example.com/" + "x" * 100, 5 + 23),  # any http(s) link counts 23
        ("https://a.io", 23),  # short links too: the placeholder is always 23
        ("example.com/page", 16),  # bare domains are not shortened on Mastodon
        ("@alice@mastodon.social hi", len("@alice hi")),  # remote mention counts as @alice
        ("@alice hi", 9),  # a local mention counts as written
        ("cc @bob.smith@example.org.", len("cc @bob.smith.")),
        ("mail alice@example.com", 22),  # an e-mail address is not a mention
        ("https://example.com/@alice@example.social", 23),  # a link wins over what it contains
        (FAMILY, 1),  # the server counts grapheme clusters
        ("e\u0301", 1),
        ("   ", 0),  # blank text counts nothing
    ],
)
def test_mastodon_counts_links_and_remote_mentions_short(text: str, expected: int) -> None:
    assert mastodon_length(text) == expected
    assert length(Network.MASTODON, text) == expected


def test_mastodon_uses_the_instance_characters_per_url() -> None:
    text = "Read https://example.com/" + "x" * 100
    assert mastodon_length(text, characters_per_url=30) == 5 + 30
    assert length(Network.MASTODON, text, characters_per_url=10) == 5 + 10


# --- Threads, LinkedIn, code points -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc", 3),
        ("日本", 2),
        ("\U0001f600", 4),  # an emoji counts its 4 UTF-8 bytes
        (FAMILY, 25),
        (FLAG_FR, 8),
        (KEYCAP_ONE, 7),
        ("hi \U0001f600!", 8),
        ("https://example.com/" + "a" * 10, 30),  # links count in full
    ],
)
def test_threads_counts_emoji_as_their_utf8_bytes(text: str, expected: int) -> None:
    assert threads_length(text) == expected
    assert length(Network.THREADS, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("abc", 3), ("日本", 2), ("\U0001f600", 2), ("\U0001d401\U0001d428", 4), (FAMILY, 11)],
)
def test_linkedin_counts_utf16_code_units(text: str, expected: int) -> None:
    assert utf16_code_unit_count(text) == expected
    assert length(Network.LINKEDIN, text) == expected


@pytest.mark.parametrize(
    "network",
    [Network.SANDBOX, Network.FACEBOOK, Network.INSTAGRAM, Network.TELEGRAM, Network.DISCORD],
)
def test_other_networks_count_code_points(network: Network) -> None:
    assert counting_rule(network) is CountingRule.CODE_POINTS
    # 4 + 7 code points of the family + 1 + 29 of the link, which is not shortened.
    assert length(network, "abc " + FAMILY + " https://example.com/long/path") == 41


def test_every_network_has_a_counting_rule() -> None:
    assert {network: counting_rule(network) for network in Network} == {
        Network.SANDBOX: CountingRule.CODE_POINTS,
        Network.MASTODON: CountingRule.MASTODON,
        Network.BLUESKY: CountingRule.GRAPHEMES,
        Network.X: CountingRule.X_WEIGHTED,
        Network.FACEBOOK: CountingRule.CODE_POINTS,
        Network.INSTAGRAM: CountingRule.CODE_POINTS,
        Network.THREADS: CountingRule.THREADS,
        Network.LINKEDIN: CountingRule.UTF16_CODE_UNITS,
        Network.TELEGRAM: CountingRule.CODE_POINTS,
        Network.DISCORD: CountingRule.CODE_POINTS,
    }


# --- Hashtags, mentions, links ----------------------------------------------------------------


def test_hashtags_are_counted_where_networks_see_them() -> None:
    assert hashtag_count("#one #two #über #1st") == 4
    assert hashtag_count("#1 a#b &#35; ##x") == 0
    assert hashtag_count("#same #same") == 2


def test_mentions_exclude_email_addresses() -> None:
    assert mention_count("@alice @bob.smith and carol@example.com @") == 2


def test_distinct_links_ignore_protocol_and_case() -> None:
    assert distinct_link_count("example.com https://Example.com http://example.org/a") == 2


# --- Properties -------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=300, deadline=timedelta(seconds=2), database=None)

# Pieces that make links, mentions, emoji and combining sequences appear far more often than in
# uniformly random text, and ends and beginnings that join across the point where two texts are
# concatenated (an emoji and a ZWJ, half a flag, a link missing its TLD ...).
_PIECES = [
    "http://",
    "https://",
    "example",
    ".com",
    ".de",
    ".",
    "/path",
    "?q=1",
    "(",
    ")",
    " ",
    "\n",
    "@alice",
    "@mastodon.social",
    "#tag",
    "\U0001f468",
    "\u200d",
    "\U0001f469",
    "\U0001f1eb",
    "1",
    "\ufe0f",
    "\u20e3",
    "\U0001f3fd",
    "e",
    "\u0301",
    "日本",
    "\u00a9",
    "\u0600",
    "x" * 70,
]
_ENDS = [
    "",
    "\U0001f468\u200d",
    "1\ufe0f",
    "\U0001f1eb",
    "e",
    "\u0600",
    "http://" + "a" * 30 + ".c",
]
_ENDS += ["@alice@mastodon", "\U0001f44d", "\U0001f3f4\U000e0067", "example.de"]
_BEGINNINGS = ["", "\U0001f469", "\u20e3", "\U0001f1f7", "\u0301", "om", ".social", "\U0001f3fd"]
_BEGINNINGS += ["\U000e0062\U000e007f", "/path", "x"]
_random_texts = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=15).map("".join),
)
texts = st.builds(str.__add__, _random_texts, st.sampled_from(_ENDS))
continuations = st.builds(str.__add__, st.sampled_from(_BEGINNINGS), _random_texts)
# Counting rules under which a longer text never counts less. X and Mastodon are not among
# them: completing a link or an emoji sequence shortens the count (see the test below).
MONOTONE_RULES = [
    CountingRule.CODE_POINTS,
    CountingRule.UTF16_CODE_UNITS,
    CountingRule.GRAPHEMES,
    CountingRule.THREADS,
]


@PROPERTY_SETTINGS
@given(text=texts, more=continuations)
@pytest.mark.parametrize("network", list(Network))
def test_a_separate_word_never_decreases_the_count(network: Network, text: str, more: str) -> None:
    before = length(network, text)
    assert before >= 0
    for separator in (" ", "\n"):
        assert length(network, text + separator + more) >= before


@PROPERTY_SETTINGS
@given(text=texts, more=continuations)
@pytest.mark.parametrize(
    "network", [network for network in Network if counting_rule(network) in MONOTONE_RULES]
)
def test_appending_text_never_decreases_the_count(network: Network, text: str, more: str) -> None:
    assert length(network, text + more) >= length(network, text) >= 0


def test_completing_a_link_or_an_emoji_can_shorten_the_x_and_mastodon_counts() -> None:
    # Why the property above excludes X and Mastodon: these are the networks' rules, not bugs.
    assert x_weighted_length("\U0001f468\u200d") == 3
    assert x_weighted_length("\U0001f468\u200d\U0001f469") == 2
    unfinished = "http://" + "a" * 40 + ".c"  # a one-letter TLD is not a link yet
    assert x_weighted_length(unfinished) == 49
    assert x_weighted_length(unfinished + "om") == 23
    assert mastodon_length(unfinished) == 49
    assert mastodon_length(unfinished + "om") == 23
