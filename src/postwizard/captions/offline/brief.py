"""Reading a brief the way a person would before writing: what the news is (the headline), what
else is worth saying (details), and what kind of news it is (an event, a launch, a sale...).

People type briefs as notes or as instructions ("announce our sourdough class, Saturday 10am");
the instruction words are dropped so the post says the news, not the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import regex


def _words(text: str) -> list[str]:
    """Word lists are written as text, a line at a time, to stay readable."""
    return text.split()


# "Write a post about", "announce", "tell people that"...: the request, not the news.
_INSTRUCTION = regex.compile(
    r"^(?:please\s+)?(?:"
    r"(?:write|draft|create|make|compose)\s+(?:me\s+)?(?:a\s+|an\s+|some\s+)?(?:short\s+|quick\s+|fun\s+)?"
    r"(?:social(?:\s+media)?\s+)?(?:post|posts|caption|captions|tweet|update|announcement)s?\s+"
    r"(?:about|on|for|announcing|saying|that)\s+"
    r"|(?:announce|announcing|promote|promoting|advertise|post\s+about|talk\s+about|share)\s+(?:that\s+)?"
    r"|(?:tell|remind|let)\s+(?:people|everyone|everybody|our\s+followers|followers|customers|our\s+customers|the\s+community|our\s+community|users|our\s+users)\s+"
    r"(?:know\s+)?(?:about\s+|that\s+|of\s+|to\s+)?"
    r")",
    regex.IGNORECASE,
)
_SENTENCE = regex.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])|\s*[;\n]+\s*")  # noqa: RUF001 - CJK and typographic punctuation on purpose
_TERMINAL = ".!?…。！？"  # noqa: RUF001 - CJK and typographic punctuation on purpose
_CJK_END = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]")
# Notes to the writer inside a brief, turned into what the post says to its readers.
_NOTE_REWRITES = (
    (
        regex.compile(
            r"^(?:thank|thanks)\s+(?:to\s+)?(?:all\s+)?(?:our\s+)?(?:customers|followers|"
            r"everyone|community|fans|readers|clients|supporters|members|guests|listeners)\s+",
            regex.IGNORECASE,
        ),
        "Thank you ",
    ),
    (
        regex.compile(
            r"^(?:remind|tell)\s+(?:them|people|everyone|followers|customers)\s+to\s+",
            regex.IGNORECASE,
        ),
        "Don't forget to ",
    ),
    (
        regex.compile(
            r"^(?:ask|invite|encourage)\s+(?:them|people|everyone|followers|customers|readers)\s+to\s+",
            regex.IGNORECASE,
        ),
        "",
    ),
    (regex.compile(r"^(?:mention|note|say|add)\s+(?:that\s+)?", regex.IGNORECASE), ""),
)
# Words that start a headline and read as lower case after a lead-in ("Big news: our class...").
_COMMON_STARTS = frozenset(
    _words(
        "a an the our my we this these that it its new your you here there join come "
        "some today tomorrow tonight next every all after before from we're we've we'll "
        "it's there's here's you're you'll "
    )
)


class Category(StrEnum):
    """What kind of news a brief is; picks fitting questions and calls to action."""

    EVENT = "event"
    LAUNCH = "launch"
    SALE = "sale"
    HIRING = "hiring"
    ARTICLE = "article"
    MILESTONE = "milestone"
    UPDATE = "update"


_CATEGORY_WORDS: dict[Category, frozenset[str]] = {
    Category.HIRING: frozenset(
        _words("hiring hire job jobs vacancy vacancies role roles career careers apply recruiting ")
    ),
    Category.SALE: frozenset(
        _words(
            "sale sales discount discounts off deal deals offer offers coupon promo voucher "
            "clearance bogo cheaper half-price "
        )
    ),
    Category.EVENT: frozenset(
        _words(
            "event events workshop workshops class classes webinar webinars meetup meetups "
            "conference talk talks session sessions course courses festival party concert "
            "tasting tour seminar livestream stream ama opening market fair gig "
        )
    ),
    Category.LAUNCH: frozenset(
        _words(
            "launch launches launching launched new release released releasing introducing "
            "announcing available unveil unveiling debut version feature features product "
            "collection menu app "
        )
    ),
    Category.ARTICLE: frozenset(
        _words(
            "blog article articles post guide guides tips tip how-to tutorial podcast "
            "episode video read newsletter study report research case "
        )
    ),
    Category.MILESTONE: frozenset(
        _words(
            "anniversary milestone celebrate celebrating birthday thank thanks years "
            "followers customers award won winning reached "
        )
    ),
}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class ReadBrief:
    """A brief, understood."""

    headline: str  # the news, as one sentence (capitalised, punctuated)
    details: tuple[str, ...]  # further sentences
    items: tuple[str, ...]  # a list inside the brief ("shape loaves, feed a starter and bake")
    category: Category
    weekday: str | None  # "Saturday" when the brief names a day


def read_brief(topic: str) -> ReadBrief:
    text = " ".join(topic.split())
    text = _INSTRUCTION.sub("", text, count=1).strip()
    pieces = [p.strip(" -–—") for p in _SENTENCE.split(text) if p and p.strip(" -–—")]  # noqa: RUF001 - CJK and typographic punctuation on purpose
    if not pieces:
        pieces = [text or topic.strip()]
    headline, *rest = pieces
    # "Sourdough class for beginners - Saturday 10am": a dash joins news and its when/where.
    parts = regex.split(r"\s+[-–—]\s+", headline, maxsplit=1)  # noqa: RUF001 - CJK and typographic punctuation on purpose
    if len(parts) == 2 and rest == []:
        headline, rest = parts[0], [parts[1]]
    sentences = tuple(as_sentence(_as_said(piece)) for piece in rest)
    words = {w.lower() for w in regex.findall(r"[\w'-]+", text)}
    return ReadBrief(
        headline=as_sentence(headline),
        details=sentences,
        items=_list_items(text),
        category=_category(words),
        weekday=next((day for day in _WEEKDAYS if day.lower() in words), None),
    )


def as_sentence(fragment: str) -> str:
    """`fragment` with a capital first letter and closing punctuation."""
    fragment = fragment.strip()
    if not fragment:
        return fragment
    fragment = capitalised(fragment)
    if fragment[-1] not in _TERMINAL and not _ends_with_entity(fragment):
        fragment += "。" if _CJK_END.match(fragment[-1]) else "."
    return fragment


def capitalised(text: str) -> str:
    first = text[0]
    if first.islower() and not text.startswith(("http://", "https://", "www.")):
        return first.upper() + text[1:]
    return text


def lower_start(sentence: str) -> str:
    """The sentence's first word in lower case when it is a common word ("Our class" after
    "Big news:" reads "our class"); names and acronyms keep their capitals."""
    first, _, rest = sentence.partition(" ")
    if first.lower() in _COMMON_STARTS and first[:1].isupper() and first[1:].islower():
        return first.lower() + (" " + rest if rest else "")
    return sentence


def _as_said(note: str) -> str:
    for pattern, replacement in _NOTE_REWRITES:
        note = pattern.sub(replacement, note, count=1)
    return note


def _ends_with_entity(text: str) -> bool:
    last = text.rsplit(None, 1)[-1]
    return last.startswith(("#", "@", "http://", "https://"))


def _category(words: set[str]) -> Category:
    for category, vocabulary in _CATEGORY_WORDS.items():
        if words & vocabulary:
            return category
    return Category.UPDATE


# "shape loaves, feed a starter and bake at home": three short items, worth a list.
_LIST = regex.compile(
    r"(?:^|:\s*|\b(?:to|how to|learn to|you'll|you will)\s+)"
    r"((?:[\w'-]+(?: [\w'-]+){0,5},\s+){1,6}[\w'-]+(?: [\w'-]+){0,5}?,?\s+(?:and|or|&)\s+[\w'-]+(?: [\w'-]+){0,5})"
)


def _list_items(text: str) -> tuple[str, ...]:
    match = _LIST.search(text)
    if match is None:
        return ()
    raw = regex.split(r",?\s+(?:and|or|&)\s+|,\s+", match.group(1))
    items = [item.strip(" .") for item in raw if item.strip(" .")]
    if len(items) < 3 or any(len(item.split()) > 6 for item in items):
        return ()
    return tuple(capitalised(item) for item in items)
