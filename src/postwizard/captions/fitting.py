"""Fitting text to networks: every caption PostWizard returns fits each selected target *as that
network counts it* (`platforms.limits`: X weighted, Bluesky graphemes and bytes, Mastodon links
as 23, Instagram's 30 hashtags, Threads' 5 links, Telegram's shorter caption next to media).

When text is too long it is trimmed, never inside a word, a link, a hashtag or an @mention:
first trailing hashtags go (they matter least), then the body is cut at the last sentence end
that fits, or at a word boundary with an ellipsis when that would keep much more. Links and
hashtags at the end are kept whole or dropped whole. CJK text, which has no spaces, breaks
between ideographs or kana, as line-breaking does.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import regex

from postwizard.platforms.limits import (
    LimitViolation,
    NetworkLimits,
    check,
    limits_for,
    text_length,
)
from postwizard.platforms.networks import Network
from postwizard.platforms.text_length import hashtag_spans, mention_spans, url_spans

ELLIPSIS = "…"
# The limits of a post's text; the other rules (media, mixed media) are not the caption's.
TEXT_RULES = frozenset(
    {
        "text_too_long",
        "text_too_many_bytes",
        "too_many_hashtags",
        "too_many_mentions",
        "too_many_links",
    }
)
# Sentence-final punctuation (Latin and CJK), with closing quotes or brackets after it.
_SENTENCE_END = regex.compile(r"[.!?…。！？]+[\"'”’)\]]*(?=\s|$)|[。！？]+")  # noqa: RUF001 - CJK and typographic punctuation on purpose
# Ideographs and kana may break anywhere; Hangul uses spaces between words, like Latin.
_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\u3000-\u303f\uff01-\uff60]")
_GRAPHEME = regex.compile(r"\X")
# Punctuation that reads badly right before an ellipsis ("Saturday, …").
_DANGLING = ",;:–—-·/&([{\"'“‘ "  # noqa: RUF001 - CJK and typographic punctuation on purpose
# A sentence cut is preferred to a word cut with an ellipsis unless it keeps less than this.
_SENTENCE_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class FitTarget:
    """One place a caption must fit: a network, with an account's own limits (a Mastodon
    instance's) and whether the post carries media (Telegram's caption limit)."""

    network: Network
    overrides: Mapping[str, int] = field(default_factory=dict)
    with_media: bool = False
    account_id: uuid.UUID | None = None

    @property
    def limits(self) -> NetworkLimits:
        return limits_for(self.network, self.overrides or None)

    @property
    def max_length(self) -> int:
        """The text limit as this network counts it."""
        return self.limits.text_limit(with_media=self.with_media)

    def problems(self, text: str) -> list[LimitViolation]:
        """The text limits of this target that `text` breaks."""
        return [v for v in self._violations(text) if v.rule in TEXT_RULES]

    def _violations(self, text: str) -> list[LimitViolation]:
        if not text.strip():
            return []  # emptiness is the composer's concern, not a fitting one
        violations = check(self.network, text, [], overrides=self.overrides or None)
        if self.with_media:
            # `check` without media knows nothing of a shorter caption; measure it here.
            length = text_length(
                self.network, text, self.overrides or None, with_media=self.with_media
            )
            violations = [v for v in violations if v.rule != "text_too_long"]
            if length.is_over:
                violations.append(
                    LimitViolation("text_too_long", "caption too long", length.limit, length.count)
                )
        return violations

    def fits(self, text: str) -> bool:
        return not self.problems(text)

    def length(self, text: str) -> tuple[int, int]:
        """`(count, limit)` for the composer's counter."""
        measured = text_length(
            self.network, text, self.overrides or None, with_media=self.with_media
        )
        return measured.count, measured.limit


@dataclass(frozen=True, slots=True)
class Fitted:
    """A text after fitting, and whether anything had to go."""

    text: str
    trimmed: bool


def fits_all(text: str, targets: Sequence[FitTarget]) -> bool:
    return all(target.fits(text) for target in targets)


def fit(text: str, targets: Sequence[FitTarget]) -> Fitted:
    """`text` shortened just enough to fit every one of `targets`."""
    return fit_with(text, lambda candidate: _rules_broken(candidate, targets))


def fit_to_length(text: str, max_code_points: int) -> Fitted:
    """`text` shortened to at most `max_code_points` (for "make it shorter")."""
    return fit_with(
        text,
        lambda candidate: {"text_too_long"} if len(candidate) > max_code_points else set(),
    )


def _rules_broken(text: str, targets: Sequence[FitTarget]) -> set[str]:
    return {problem.rule for target in targets for problem in target.problems(text)}


Problems = Callable[[str], set[str]]


def fit_with(text: str, problems: Problems) -> Fitted:
    """Shorten `text` until `problems` finds none; see the module docstring for the order."""
    original = text
    text = text.strip()
    broken = problems(text)
    if not broken:
        return Fitted(text, trimmed=text != original.strip())
    for rule, reduce in (
        ("too_many_hashtags", _fewer_hashtags),
        ("too_many_mentions", _fewer_mentions),
        ("too_many_links", _fewer_links),
    ):
        while rule in broken:
            shorter = reduce(text)
            if shorter == text:
                break
            text = shorter
            broken = problems(text)
    if broken:
        text = _shorten(text, problems)
    return Fitted(text, trimmed=True)


# --- Counted entities ---------------------------------------------------------------------------


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Links, hashtags and mentions: the runs of text that are never cut."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(url_spans(text) + hashtag_spans(text) + mention_spans(text)):
        if merged and start < merged[-1][1]:
            # A "#fragment" inside a link is part of the link.
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _inside(position: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start < position < end for start, end in spans)


def _fewer_hashtags(text: str) -> str:
    """Drop the last hashtag of a trailing block, or else un-tag the last inline one."""
    return _drop_or_unmark_last(text, hashtag_spans(text))


def _fewer_mentions(text: str) -> str:
    return _drop_or_unmark_last(text, mention_spans(text))


def _drop_or_unmark_last(text: str, spans: list[tuple[int, int]]) -> str:
    links = url_spans(text)
    # A "#fragment" or "@" inside a link is the link's, not ours to change.
    spans = [(s, e) for s, e in spans if not any(ls <= s < le for ls, le in links)]
    if not spans:
        return text
    start, end = spans[-1]
    body, _tail = split_tail(text)
    if start >= len(body):
        return _tidy(text[:start] + text[end:])
    # Inline: "#sourdough" becomes "sourdough", so the sentence still reads.
    return text[:start] + text[start + 1 : end] + text[end:]


def _fewer_links(text: str) -> str:
    spans = url_spans(text)
    if not spans:
        return text
    start, end = spans[-1]
    return _tidy(text[:start] + text[end:])


def _tidy(text: str) -> str:
    """Collapse the gaps a removed entity leaves, keeping line breaks."""
    text = regex.sub(r"[ \t]{2,}", " ", text)
    text = regex.sub(r"[ \t]+\n", "\n", text)
    text = regex.sub(r"\n{3,}", "\n\n", text)
    text = regex.sub(r"[ \t]+([.,!?;:])", r"\1", text)
    return text.strip()


# --- The tail: links and hashtags after the last words ------------------------------------------


def split_tail(text: str) -> tuple[str, str]:
    """`(body, tail)`: the tail is the trailing run of links, hashtags and mentions (with the
    whitespace between them), which is kept or dropped whole, never cut."""
    spans = protected_spans(text)
    cut = len(text.rstrip())
    for start, end in reversed(spans):
        between = text[end:cut]
        if between.strip():
            break
        cut = start
    # A link right after "Details:" or an arrow belongs with its lead-in words in the body
    # only if it is the sole thing there; otherwise the tail starts at the first entity.
    return text[:cut].rstrip(), text[cut:].strip()


def _tail_items(tail: str) -> list[str]:
    return tail.split()


def _join(body: str, tail_items: Sequence[str], separator: str) -> str:
    tail = " ".join(tail_items)
    if not body:
        return tail
    if not tail:
        return body
    return body + separator + tail


def _shorten(text: str, problems: Problems) -> str:
    body, tail = split_tail(text)
    items = _tail_items(tail)
    gap = text[len(body) :]
    # Keep the separator's kind: a hashtag block on its own line stays there.
    separator = "\n\n" if "\n" in gap[: len(gap) - len(gap.lstrip())] else " "
    links = {item for item in items if url_spans(item)}

    def ok(candidate: str) -> bool:
        return not problems(candidate)

    # 1. Trailing hashtags and mentions go first, last first.
    while items and not ok(_join(body, items, separator)):
        droppable = [i for i, item in enumerate(items) if item not in links]
        if not droppable:
            break
        del items[droppable[-1]]
    candidate = _join(body, items, separator)
    if ok(candidate):
        return candidate
    # 2. Cut the body, keeping the tail (a link) whole; 3. without the tail if needed.
    for kept in (items, []):

        def ok_with_tail(cut_body: str, kept: Sequence[str] = kept) -> bool:
            return ok(_join(cut_body, kept, separator))

        cut = _cut_body(body, ok_with_tail)
        if cut is not None:
            return _join(cut, kept, separator)
    # 4. Nothing but a word longer than the limit (or a lone giant link): cut at a grapheme.
    return _cut_graphemes(body or text, ok)


def _cut_body(body: str, ok: Callable[[str], bool]) -> str | None:
    """The longest cut of `body` that is `ok`: at a sentence end, or at a word boundary with an
    ellipsis when that keeps much more; None when not even the first word fits."""
    spans = protected_spans(body)
    sentence_cuts = [
        match.end() for match in _SENTENCE_END.finditer(body) if not _inside(match.end(), spans)
    ]
    word_cuts = _word_cuts(body, spans)
    sentence = _longest(sentence_cuts, lambda end: body[:end].rstrip(), ok)
    word = _longest(word_cuts, lambda end: _with_ellipsis(body[:end]), ok)
    if sentence is not None and (word is None or len(sentence) >= _SENTENCE_SHARE * len(word)):
        return sentence
    return word


def _word_cuts(body: str, spans: Sequence[tuple[int, int]]) -> list[int]:
    cuts: set[int] = set()
    for match in regex.finditer(r"\s+", body):
        if match.start() > 0:
            cuts.add(match.start())
    graphemes = [m.span() for m in _GRAPHEME.finditer(body)]
    for (start, end), (next_start, _next_end) in itertools.pairwise(graphemes):
        if _CJK.match(body, start) and _CJK.match(body, next_start):
            cuts.add(end)
    return sorted(cut for cut in cuts if not _inside(cut, spans))


def _longest(
    cuts: Sequence[int], render: Callable[[int], str], ok: Callable[[str], bool]
) -> str | None:
    """The rendering of the largest cut that is `ok` (binary search: longer prefixes never
    count less)."""
    low, high, best = 0, len(cuts) - 1, None
    while low <= high:
        middle = (low + high) // 2
        candidate = render(cuts[middle])
        if candidate and ok(candidate):
            best = candidate
            low = middle + 1
        else:
            high = middle - 1
    return best


def _with_ellipsis(prefix: str) -> str:
    stripped = prefix.rstrip().rstrip(_DANGLING).rstrip()
    if not stripped:
        return ""
    if stripped[-1] in ".!?…。！？":  # noqa: RUF001 - CJK and typographic punctuation on purpose
        return stripped
    return stripped + ELLIPSIS


def _cut_graphemes(text: str, ok: Callable[[str], bool]) -> str:
    spans = protected_spans(text)
    ends = [m.end() for m in _GRAPHEME.finditer(text) if not _inside(m.end(), spans)]
    best = _longest(ends, lambda end: _with_ellipsis(text[:end]), ok)
    return best or ""
