"""Keywords and keyphrases of a brief, with YAKE (unsupervised, statistical, no model to load):
they become hashtags, pick emoji, and are what the variants must keep."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import regex


def _words(text: str) -> list[str]:
    """Word lists are written as text, a line at a time, to stay readable."""
    return text.split()


# Words YAKE may rank high that make poor hashtags: calendar words, verbs of announcement.
_WEAK = frozenset(
    _words(
        "new today tomorrow tonight yesterday week weekend weeks day days month months "
        "year years time times morning afternoon evening night am pm monday tuesday "
        "wednesday thursday friday saturday sunday january february march april may "
        "june july august september october november december start starts started "
        "starting join joins learn learns come comes get gets make makes take takes "
        "bring brings open opens available free big great good best more most less "
        "first last next one two three four five six seven eight nine ten hundred "
        "announce announcing announcement post posts share sharing people everyone "
        "customers followers thing things stuff lot lots way ways help helps need needs "
        "want wants us our we you your they them their it its this that these those "
        "here there home write writes give gives keep keeping thank thanks celebrate "
        "celebrating check try alive ready easy simple full right possible able sure "
        "due live early late soon again together away back still even well better "
        "grew grow grows made built went got found took gave saw said did done using used "
        "cet cest utc gmt bst est edt pst pdt ist jst aest "
    )
)
_STOPWORDS = frozenset(
    _words(
        "a an and are as at be been but by for from has have had in into is of on or so "
        "than the to too up was were will with without about after again all also am "
        "any because before being below between both can could did do does doing down "
        "during each few further he her him his how i if just me my no nor not now off "
        "once only other out over own same she should some such then there through "
        "under until very what when where which while who whom why would yes yet i'm "
        "we're you're it's let's don't can't won't "
    )
)
_WORD = regex.compile(r"[\p{L}\p{M}][\p{L}\p{M}\p{N}'’-]*|\p{N}+[\p{L}]+")  # noqa: RUF001 - CJK and typographic punctuation on purpose
MAX_KEYWORD_WORDS = 2


@lru_cache(maxsize=1)
def _extractor() -> Any:
    import yake  # type: ignore[import-untyped]  # imported on first use: it pulls in numpy

    return yake.KeywordExtractor(lan="en", n=MAX_KEYWORD_WORDS, dedupLim=0.7, top=20)


def keywords(text: str, limit: int = 8) -> list[str]:
    """The brief's keyphrases, best first: one or two words each, no calendar or filler words,
    no two that say the same thing ("workshop" and "workshops")."""
    candidates: list[str] = []
    try:
        ranked = _extractor().extract_keywords(text)
    except (ValueError, ZeroDivisionError):  # YAKE on text with no words to rank
        ranked = []
    candidates += [phrase for phrase, _score in ranked]
    # YAKE leaves out words it cannot score (a one-word brief): frequency is the fallback.
    candidates += _words_by_frequency(text)
    chosen: list[str] = []
    seen: set[str] = set()
    for phrase in candidates:
        cleaned = _clean(phrase)
        if cleaned is None:
            # "keeping houseplants": the strong word alone is still a keyword.
            strong = [w for w in _WORD.findall(phrase) if _clean(w) is not None]
            if len(strong) != 1:
                continue
            cleaned = strong[0]
        stems = {_stem(word) for word in cleaned.lower().split()}
        key = " ".join(sorted(stems))
        if key in seen or any(stems <= _stems(other) for other in chosen):
            continue
        seen.add(key)
        chosen.append(cleaned)
        if len(chosen) >= limit:
            break
    return chosen


def _clean(phrase: str) -> str | None:
    words = _WORD.findall(phrase)
    if not words or len(words) > MAX_KEYWORD_WORDS:
        return None
    lowered = [w.lower() for w in words]
    if any(w in _STOPWORDS for w in lowered):
        return None
    if all(w in _WEAK for w in lowered) or lowered[0] in _WEAK or lowered[-1] in _WEAK:
        return None
    if any(len(w) < 3 for w in lowered):
        return None
    return " ".join(words)


def _words_by_frequency(text: str) -> list[str]:
    counts: dict[str, int] = {}
    for word in _WORD.findall(text):
        counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], -len(w)))


def _stem(word: str) -> str:
    word = word.lower().strip("'’")  # noqa: RUF001 - CJK and typographic punctuation on purpose
    for suffix in ("'s", "’s", "ies", "es", "s"):  # noqa: RUF001 - CJK and typographic punctuation on purpose
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _stems(phrase: str) -> set[str]:
    return {_stem(word) for word in phrase.lower().split()}
