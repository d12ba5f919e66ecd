"""How each network measures the length of a post's text.

Networks disagree about what a "character" is, and a composer that counts differently from the
network either blocks posts the network would take or lets through posts it will reject. Each
network therefore has a `CountingRule`; `length(network, text)` applies it.

- X: twitter-text v3 weighting (see `x_weighted_length`).
- Bluesky: extended grapheme clusters, the `maxGraphemes` of `app.bsky.feed.post`; its second
  limit, UTF-8 bytes, is `utf8_byte_count`.
- Mastodon: what the server's `StatusLengthValidator` counts: grapheme clusters of the text after
  every http(s) link is replaced by `characters_reserved_per_url` characters and every remote
  mention `@user@domain` by `@user` (see `mastodon_length`).
- Threads: code points, except that an emoji counts as its UTF-8 byte length (Threads API,
  "Posts": "Emojis are counted as the number of UTF-8 bytes").
- LinkedIn: UTF-16 code units. LinkedIn does not document its rule; Buffer's character-limit
  guide reports posts rejected because astral characters (emoji, the "bold" letters used for
  LinkedIn formatting) count as two, and UTF-16 is never shorter than code points, so it is the
  safe choice.
- Telegram: code points; a live probe (FerroxLabs/wayland#934) had 4,096 astral emoji accepted
  and 4,097 refused, so its limit is not in UTF-16 units.
- Facebook, Instagram, Discord, Sandbox: code points. These networks do not document their rule;
  code points match what their own clients show and never undercount grapheme-based counting.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

import regex

from postwizard.platforms.networks import Network

DEFAULT_CHARACTERS_PER_URL = 23
"""What X counts for every link (t.co wrapping) and what Mastodon reserves per link by default."""


class CountingRule(StrEnum):
    """A way of turning text into the number a network compares with its limit."""

    CODE_POINTS = "code_points"
    UTF16_CODE_UNITS = "utf16_code_units"
    GRAPHEMES = "graphemes"
    X_WEIGHTED = "x_weighted"
    MASTODON = "mastodon"
    THREADS = "threads"


_COUNTING_RULES: Mapping[Network, CountingRule] = MappingProxyType(
    {
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
)


def counting_rule(network: Network) -> CountingRule:
    """The rule `network` uses to count the characters of a post."""
    return _COUNTING_RULES[network]


def length(
    network: Network, text: str, *, characters_per_url: int = DEFAULT_CHARACTERS_PER_URL
) -> int:
    """The length of `text` as `network` counts it.

    `characters_per_url` is used only by networks that count every link as a fixed number of
    characters (X, Mastodon); a Mastodon instance may configure its own value.
    """
    return measure(counting_rule(network), text, characters_per_url=characters_per_url)


def measure(
    rule: CountingRule, text: str, *, characters_per_url: int = DEFAULT_CHARACTERS_PER_URL
) -> int:
    """The length of `text` under one counting rule."""
    match rule:
        case CountingRule.CODE_POINTS:
            return code_point_count(text)
        case CountingRule.UTF16_CODE_UNITS:
            return utf16_code_unit_count(text)
        case CountingRule.GRAPHEMES:
            return grapheme_count(text)
        case CountingRule.X_WEIGHTED:
            return x_weighted_length(text, characters_per_url=characters_per_url)
        case CountingRule.MASTODON:
            return mastodon_length(text, characters_per_url=characters_per_url)
        case CountingRule.THREADS:
            return threads_length(text)


def code_point_count(text: str) -> int:
    """The number of Unicode code points (what Python's `len` counts)."""
    return len(text)


def utf16_code_unit_count(text: str) -> int:
    """The number of UTF-16 code units: characters outside the Basic Multilingual Plane, such
    as most emoji, count as two (what JavaScript's and Java's string length counts)."""
    # "surrogatepass": a lone surrogate (JSON can carry one) counts one unit instead of raising.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf8_byte_count(text: str) -> int:
    """The number of bytes of the UTF-8 encoding of `text`."""
    # "surrogatepass": a lone surrogate (JSON can carry one) counts its 3 bytes instead of raising.
    return len(text.encode("utf-8", "surrogatepass"))


_GRAPHEME = regex.compile(r"\X")


def grapheme_count(text: str) -> int:
    """The number of extended grapheme clusters (UAX #29): what a reader sees as one character,
    so "e" plus a combining accent, a flag or a ZWJ family emoji each count once."""
    return sum(1 for _ in _GRAPHEME.finditer(text))


# --- Emoji ------------------------------------------------------------------------------------
#
# One emoji as a reader sees it: a flag (two regional indicators), a keycap, or an emoji with an
# optional skin-tone modifier or emoji-presentation selector and an optional tag sequence (the
# England/Scotland/Wales flags), joined to further ones by ZERO WIDTH JOINER. '#', '*', digits,
# '©' and '®' have the Emoji property too, but on their own they are text: twitter-text does not
# count them as emoji, and '©' followed by U+FE0F stays two units there (© weight 1, FE0F
# weight 2), which this pattern reproduces by leaving them out.
_EMOJI_ELEMENT = (
    r"(?:\p{Regional_Indicator}{2}"
    r"|[#*0-9]\uFE0F?\u20E3"
    r"|(?![#*0-9\u00A9\u00AE])\p{Emoji}(?:\p{Emoji_Modifier}|\uFE0F)?"
    r"(?:[\U000E0020-\U000E007E]+\U000E007F)?)"
)
_EMOJI_SEQUENCE = regex.compile(_EMOJI_ELEMENT + r"(?:\u200D" + _EMOJI_ELEMENT + r")*")


# --- Links ------------------------------------------------------------------------------------
#
# Link detection follows twitter-text's extractor, simplified:
# - a link starts at the beginning of the text or after a character that is not an ASCII letter,
#   digit, '@', '$' or '#' (so "user@example.com" and "#example.com" are not links);
# - with "http://" or "https://", the host is one or more dot-separated labels of letters,
#   digits and symbols (IDNs allowed) ending in a top-level domain of 2-63 letters or "xn--";
#   every label, IDN ones after Punycode, is at most 63 characters and the label before the TLD
#   has no underscore; IP addresses are not links (twitter-text does not extract them either);
# - without a protocol ("example.com/page"), the host is ASCII (Latin accents allowed), is not
#   preceded by '-', '_', '.' or '/', and its TLD is one of `_BARE_LINK_TLDS` below (common
#   generic TLDs and every country-code TLD). As in twitter-text, a two-label host under a
#   country-code TLD other than .co and .tv is a link only when a path follows, so "main.py"
#   and "example.de" stay text while "example.de/page", "example.co" and "t.co" are links;
# - then an optional port, a path and a query; trailing punctuation that cannot end a link
#   ("see https://example.com/a." or "(https://example.com/a)") is not part of it, but
#   balanced parentheses inside a path are ("https://en.wikipedia.org/wiki/Go_(game)").
# twitter-text accepts only TLDs from IANA's list, also after "http://". Every real link uses one,
# so accepting any alphabetic TLD there changes nothing in practice; a bare domain under a
# generic TLD missing from our list ("example.pizza") is counted as text, not as a link.

# IANA's country-code TLDs (ASCII ones), as twitter-text lists them.
_CCTLD_NAMES = (
    "ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm "
    "bn bo bq br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz "
    "de dj dk dm do dz ec ee eg eh er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl "
    "gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo "
    "jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg "
    "mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz "
    "om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si "
    "sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tp tr tt tv "
    "tw tz ua ug uk um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"
)
_COMMON_GTLD_NAMES = (
    "com net org info biz edu gov mil int name pro mobi asia tel jobs travel museum aero "
    "coop cat post app dev page blog shop store online site website web tech cloud digital "
    "news media social live life world xyz art design studio agency email link club space "
    "fun top vip one group company network systems solutions services software codes tools "
    "academy school university health care finance money bank capital ventures events today "
    "video music photo photography gallery games game wiki guru expert ninja rocks zone city "
    "earth eco green love chat community foundation ngo church ltd inc llc io ai me gg"
)
_CCTLDS = frozenset(_CCTLD_NAMES.split())
_COMMON_GTLDS = frozenset(_COMMON_GTLD_NAMES.split())
_BARE_LINK_TLDS = _CCTLDS | _COMMON_GTLDS
# twitter-text's "validSpecialCCTLD": two-label hosts under these are links even without a path.
_SHORT_LINK_CCTLDS = frozenset({"co", "tv"})

_MAX_URL_LENGTH = 4096
_MAX_LABEL_LENGTH = 63

_LATIN_ACCENTS = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b"
    "\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = "\u0400-\u04ff"
# Any character but whitespace, punctuation, control/format characters and ASCII symbols.
_DOMAIN_CHAR = r"[^\s\p{P}\p{C}$+<=>^`|~]"
# Labels and hosts are bounded (63 characters, 127 labels, as in DNS): besides rejecting what
# DNS would, the bounds keep backtracking linear on text such as "a.a.a.a..." with no TLD.
_LABEL = _DOMAIN_CHAR + r"(?:(?:" + _DOMAIN_CHAR + r"|[_-]){0,61}" + _DOMAIN_CHAR + r")?"
_ASCII_CHAR = "[a-z0-9" + _LATIN_ACCENTS + "]"
_ASCII_LABEL = _ASCII_CHAR + "(?:[a-z0-9" + _LATIN_ACCENTS + "_-]{0,61}" + _ASCII_CHAR + ")?"
_PATH_CHAR = "[a-z0-9" + _CYRILLIC + _LATIN_ACCENTS + r"!*';:=+,.$/%#\[\]\-\u2013_~@|&]"
_BALANCED_PARENS = r"\((?:" + _PATH_CHAR + r"|\(" + _PATH_CHAR + r"*\))*\)"
_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_PATH_END = regex.compile("[a-z0-9" + _CYRILLIC + _LATIN_ACCENTS + r"+\-=_#/)]", regex.IGNORECASE)
_QUERY_END = regex.compile(r"[a-z0-9\-_&=#/]", regex.IGNORECASE)

_URL = regex.compile(
    r"(?<![a-z0-9@\uff20$#\uff03\u202a-\u202e\ufeff\ufffe\uffff])"
    r"(?:"
    r"(?P<protocol>https?://)"
    r"(?P<host>(?:" + _LABEL + r"\.){1,126}"
    r"(?:xn--[a-z0-9-]+|[a-z]{2,63}|[^\W\d_\x00-\x7f]{2,63})(?![a-z0-9@+\-]))"
    r"|(?<![\-_./])"
    r"(?P<bare_host>(?:" + _ASCII_LABEL + r"\.){1,126}[a-z]{2,63}(?![a-z0-9@+\-]))"
    r")"
    r"(?P<port>:[0-9]+)?"
    r"(?P<path>/(?:" + _PATH_CHAR + "|" + _BALANCED_PARENS + r")*)?"
    r"(?P<query>\?" + _QUERY_CHAR + r"*)?",
    regex.IGNORECASE,
)


def url_spans(text: str, *, require_protocol: bool = False) -> list[tuple[int, int]]:
    """The `(start, end)` code-point offsets of the links in `text`, in order.

    `require_protocol` finds only http(s) links (what Mastodon shortens); otherwise bare
    domains such as "example.com/page" are links too (what X shortens). The rules are in the
    comment that opens this module's "Links" section.
    """
    spans: list[tuple[int, int]] = []
    for match in _URL.finditer(text):
        is_bare = match.group("protocol") is None
        if is_bare and require_protocol:
            continue
        end = _link_end(match)
        if _is_valid_link(match, end):
            spans.append((match.start(), end))
    return spans


def _link_end(match: regex.Match[str]) -> int:
    """Where the link really ends: trailing characters that cannot end a query or a path
    (a final '.', ',', '!' ...) belong to the sentence, not to the link."""
    query = match.group("query")
    if query:
        kept = len(query)
        while kept > 1 and not _QUERY_END.match(query[kept - 1]):
            kept -= 1
        if kept > 1:
            return match.start("query") + kept
    path = match.group("path")
    if path:
        kept = len(path)
        while kept > 1 and not _PATH_END.match(path[kept - 1]):
            kept -= 1
        return match.start("path") + kept
    if match.group("port"):
        return match.end("port")
    return match.end("host") if match.group("host") else match.end("bare_host")


def _is_valid_link(match: regex.Match[str], end: int) -> bool:
    host = match.group("host") or match.group("bare_host")
    labels = host.split(".")
    ascii_labels = [
        label if label.isascii() else "xn--" + label.lower().encode("punycode").decode()
        for label in labels
    ]
    if any(len(label) > _MAX_LABEL_LENGTH for label in ascii_labels):
        return False
    if "_" in labels[-2]:
        return False
    # twitter-text's length limit applies to the link as sent: Punycode host, and "https://"
    # added when the text has no protocol.
    link_length = end - match.start() - len(host) + len(".".join(ascii_labels))
    if match.group("protocol") is None:
        link_length += len("https://")
    if link_length > _MAX_URL_LENGTH:
        return False
    if match.group("protocol") is not None:
        return True
    tld = labels[-1].lower()
    if tld not in _BARE_LINK_TLDS:
        return False
    has_path = match.group("path") is not None and match.start("path") < end
    is_short_cctld_host = (
        len(labels) == 2 and tld in _CCTLDS and tld not in _SHORT_LINK_CCTLDS and not has_path
    )
    return not is_short_cctld_host


# --- X ----------------------------------------------------------------------------------------

# twitter-text v3 configuration: weights are in hundredths so that "light" characters weigh 1
# and all others 2; the maximum (280) is compared with the sum divided by the scale.
_X_SCALE = 100
_X_DEFAULT_WEIGHT = 200
_X_LIGHT_WEIGHT = 100
_X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_X_EMOJI_WEIGHT = _X_DEFAULT_WEIGHT


def _x_code_point_weight(code_point: int) -> int:
    for first, last in _X_LIGHT_RANGES:
        if first <= code_point <= last:
            return _X_LIGHT_WEIGHT
    return _X_DEFAULT_WEIGHT


def x_weighted_length(text: str, *, characters_per_url: int = DEFAULT_CHARACTERS_PER_URL) -> int:
    """The length of `text` as X counts it (twitter-text v3, "weightedLength").

    The text is NFC-normalised first. Then every link (see `url_spans`) counts
    `characters_per_url` (23: X wraps links in t.co), every emoji as a reader sees it (with its
    skin tone, ZWJ family, flag or keycap) counts 2, and every other code point counts 1 if it
    is in U+0000-U+10FF (Latin, Greek, Cyrillic, Hebrew, Arabic, Indic scripts ...), in
    U+2000-U+200D, U+2010-U+201F or U+2032-U+2037 (spaces, dashes, quotes, primes), and 2
    otherwise (CJK, Hangul, most symbols).
    """
    normalized = unicodedata.normalize("NFC", text)
    link_ends = dict(url_spans(normalized))
    weight = 0
    position = 0
    while position < len(normalized):
        link_end = link_ends.get(position)
        if link_end is not None:
            weight += characters_per_url * _X_SCALE
            position = link_end
            continue
        emoji = _EMOJI_SEQUENCE.match(normalized, position)
        if emoji is not None:
            weight += _X_EMOJI_WEIGHT
            position = emoji.end()
            continue
        weight += _x_code_point_weight(ord(normalized[position]))
        position += 1
    return weight // _X_SCALE


# --- Mastodon ---------------------------------------------------------------------------------

# Account::MENTION_RE with a domain: "@user@domain" is displayed, and counted, as "@user".
_MASTODON_REMOTE_MENTION = regex.compile(
    r"(?<![=/\w])@(?P<user>[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)@(?P<domain>\w+(?:[.-]+\w+)*)(?!@)",
    regex.IGNORECASE,
)


def mastodon_length(text: str, *, characters_per_url: int = DEFAULT_CHARACTERS_PER_URL) -> int:
    """The length of `text` as a Mastodon server counts it (`StatusLengthValidator`).

    Every http(s) link counts `characters_per_url` whatever its length (the instance's
    `configuration.statuses.characters_reserved_per_url`, 23 by default), a remote mention
    `@user@domain` counts as `@user`, and the result is counted in grapheme clusters. Text that
    is only whitespace counts 0, as the server treats it as blank. A content warning counts
    against the same limit: add its `grapheme_count` to this.
    """
    if not text or text.isspace():
        return 0
    replacements = [
        (start, end, "x" * characters_per_url)
        for start, end in url_spans(text, require_protocol=True)
    ]
    replacements += [
        (mention.start(), mention.end(), "@" + mention.group("user"))
        for mention in _MASTODON_REMOTE_MENTION.finditer(text)
    ]
    # Like Mastodon's Extractor.remove_overlapping_entities: the earlier entity wins.
    replacements.sort(key=lambda replacement: replacement[0])
    pieces: list[str] = []
    position = 0
    for start, end, replacement in replacements:
        if start < position:
            continue
        pieces += (text[position:start], replacement)
        position = end
    pieces.append(text[position:])
    return grapheme_count("".join(pieces))


# --- Threads ----------------------------------------------------------------------------------


def threads_length(text: str) -> int:
    """The length of `text` as Threads counts it: one per code point, except that each emoji
    (as `x_weighted_length` recognises them) counts its UTF-8 byte length, e.g. 4 for most single
    emoji and 25 for a family of four."""
    total = 0
    position = 0
    while position < len(text):
        emoji = _EMOJI_SEQUENCE.match(text, position)
        if emoji is not None:
            total += utf8_byte_count(emoji.group())
            position = emoji.end()
        else:
            total += 1
            position += 1
    return total


# --- Hashtags, mentions, links ----------------------------------------------------------------

# A hashtag is '#' (or U+FF03, the full-width number sign) not preceded by a word character, '&' (HTML entities)
# or another '#', followed by word characters of which at least one is not a digit ("#1st" is a
# hashtag, "#1" is not).
_HASHTAG = regex.compile(r"(?<![\w&#\uff03])[#\uff03](?=\w*[^\W\d])\w+")
# An @mention is '@' not preceded by a word character (so not an e-mail address) followed by a
# username of letters, digits, '_' and inner '.' (Instagram's username alphabet).
_MENTION = regex.compile(r"(?<![\w@])@[a-z0-9_](?:[a-z0-9_.]*[a-z0-9_])?", regex.IGNORECASE)


def hashtag_count(text: str) -> int:
    """How many hashtags `text` contains, repeated ones each time they occur."""
    return sum(1 for _ in _HASHTAG.finditer(text))


def mention_count(text: str) -> int:
    """How many @mentions `text` contains, repeated ones each time they occur."""
    return sum(1 for _ in _MENTION.finditer(text))


def hashtag_spans(text: str) -> list[tuple[int, int]]:
    """The `(start, end)` code-point offsets of the hashtags `hashtag_count` counts."""
    return [match.span() for match in _HASHTAG.finditer(text)]


def mention_spans(text: str) -> list[tuple[int, int]]:
    """The `(start, end)` code-point offsets of the @mentions `mention_count` counts."""
    return [match.span() for match in _MENTION.finditer(text)]


_PROTOCOL = regex.compile(r"^https?://", regex.IGNORECASE)


def distinct_link_count(text: str) -> int:
    """How many different links `text` contains, bare domains included; "https://Example.com"
    and "example.com" are the same link. Threads limits links counted this way."""
    return len({_PROTOCOL.sub("", text[start:end]).lower() for start, end in url_spans(text)})
