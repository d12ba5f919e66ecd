"""Post text in LinkedIn's "little" text format, the format of a post's `commentary`.

In little, `\\ | { } @ [ ] ( ) < > # * _ ~` are reserved (mentions `@[Name](urn)`, hashtag
templates `{hashtag|\\#|tag}`, ...). A reserved character that is not escaped and does not form
an element makes LinkedIn cut the post at that point, silently: the API answers 201 and the
post shows its first sentence. PostWizard's text is plain, so every reserved character is
escaped with a backslash, except in what LinkedIn recognises by itself and readers expect to
work: hashtags (`#word`) stay clickable and links stay whole.
"""

from __future__ import annotations

from postwizard.platforms.text_length import hashtag_spans, url_spans

RESERVED = frozenset("\\|{}@[]()<>#*_~")


def escape_little_text(text: str) -> str:
    """`text` as little commentary: reserved characters escaped outside links and hashtags."""
    kept = sorted(url_spans(text) + hashtag_spans(text))
    pieces: list[str] = []
    position = 0
    for start, end in kept:
        if start < position:  # a hashtag inside a link (its fragment): the link wins
            continue
        pieces.append(_escape(text[position:start]))
        pieces.append(text[start:end])
        position = end
    pieces.append(_escape(text[position:]))
    return "".join(pieces)


def unescape_little_text(commentary: str) -> str:
    """The plain text of little commentary that PostWizard (or a person) escaped: a backslash
    before a reserved character is dropped."""
    pieces: list[str] = []
    index = 0
    while index < len(commentary):
        character = commentary[index]
        if character == "\\" and index + 1 < len(commentary) and commentary[index + 1] in RESERVED:
            pieces.append(commentary[index + 1])
            index += 2
            continue
        pieces.append(character)
        index += 1
    return "".join(pieces)


def _escape(text: str) -> str:
    return "".join(f"\\{c}" if c in RESERVED else c for c in text)
