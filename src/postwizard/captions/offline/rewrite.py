"""Rewriting without a model: shorter, longer, more formal, more casual, tidier grammar.

Each rule works on words only; links, hashtags and @mentions pass through untouched."""

from __future__ import annotations

import random
from collections.abc import Callable

import regex

from postwizard.captions.fitting import fit_to_length, protected_spans, split_tail
from postwizard.captions.offline import bank
from postwizard.captions.offline.brief import lower_start
from postwizard.captions.providers import RewriteAction, Tone

_CONTRACTIONS = {
    "can't": "cannot",
    "won't": "will not",
    "don't": "do not",
    "doesn't": "does not",
    "didn't": "did not",
    "isn't": "is not",
    "aren't": "are not",
    "wasn't": "was not",
    "weren't": "were not",
    "haven't": "have not",
    "hasn't": "has not",
    "couldn't": "could not",
    "shouldn't": "should not",
    "wouldn't": "would not",
    "we're": "we are",
    "you're": "you are",
    "they're": "they are",
    "it's": "it is",
    "that's": "that is",
    "there's": "there is",
    "here's": "here is",
    "what's": "what is",
    "let's": "let us",
    "i'm": "I am",
    "we've": "we have",
    "you've": "you have",
    "i've": "I have",
    "we'll": "we will",
    "you'll": "you will",
    "i'll": "I will",
    "we'd": "we would",
    "you'd": "you would",
}
_CASUAL_TO_FORMAL = {
    "hey": "hello",
    "hi": "hello",
    "guys": "everyone",
    "folks": "everyone",
    "awesome": "excellent",
    "super": "very",
    "cool": "great",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "have to",
    "kids": "children",
    "stuff": "material",
    "ok": "fine",
    "okay": "fine",
    "yeah": "yes",
    "thanks": "thank you",
    "get": "receive",
    "buy": "purchase",
    "check out": "see",
    "a lot of": "many",
    "lots of": "many",
    "pretty much": "nearly",
    "tons of": "many",
}
_FORMAL_TO_CASUAL = {
    "hello": "hey",
    "purchase": "buy",
    "assist": "help",
    "assistance": "help",
    "utilize": "use",
    "utilise": "use",
    "commence": "start",
    "regarding": "about",
    "therefore": "so",
    "however": "but",
    "additionally": "also",
    "approximately": "about",
    "obtain": "get",
    "require": "need",
    "sufficient": "enough",
    "numerous": "lots of",
    "inform": "tell",
    "we are pleased to announce that": "guess what:",
    "we are pleased to announce": "guess what:",
    "we are pleased to share": "we're happy to share",
    "please find": "here's",
    "do not hesitate to": "feel free to",
}
_MISSPELLINGS = {
    "teh": "the",
    "recieve": "receive",
    "definately": "definitely",
    "seperate": "separate",
    "occured": "occurred",
    "untill": "until",
    "wich": "which",
    "alot": "a lot",
    "accomodate": "accommodate",
    "acheive": "achieve",
    "begining": "beginning",
    "beleive": "believe",
    "calender": "calendar",
    "enviroment": "environment",
    "goverment": "government",
    "occassion": "occasion",
    "tommorow": "tomorrow",
    "tommorrow": "tomorrow",
    "wierd": "weird",
    "thier": "their",
    "truely": "truly",
    "publically": "publicly",
    "existance": "existence",
    "neccessary": "necessary",
    "succesful": "successful",
    "sucessful": "successful",
    "adress": "address",
    "arguement": "argument",
    "independant": "independent",
    "noticable": "noticeable",
}
_FILLERS = regex.compile(
    r"\b(?:really|very|just|actually|basically|literally|totally|quite|simply|definitely|"
    r"in order|absolutely|truly)\s+",
    regex.IGNORECASE,
)
_EMOJI = regex.compile(
    r"\s?(?:\p{Extended_Pictographic}|\p{Regional_Indicator})[\ufe0f\u200d\p{Extended_Pictographic}\p{Emoji_Modifier}]*"
)
_SHORTER_SHARE = 0.7


def rewrite(
    text: str, action: RewriteAction, tone: Tone, seed: int = 0, max_length: int | None = None
) -> str:
    """`text` rewritten by `action`."""
    match action:
        case RewriteAction.SHORTER:
            return shorter(text, max_length)
        case RewriteAction.LONGER:
            return longer(text, tone, seed)
        case RewriteAction.FORMAL:
            return formal(text)
        case RewriteAction.CASUAL:
            return casual(text)
        case RewriteAction.FIX_GRAMMAR:
            return fix_grammar(text)


def on_words(text: str, change: Callable[[str], str]) -> str:
    """Apply `change` to the text between links, hashtags and mentions only."""
    pieces: list[str] = []
    position = 0
    for start, end in protected_spans(text):
        pieces += [change(text[position:start]), text[start:end]]
        position = end
    pieces.append(change(text[position:]))
    return "".join(pieces)


def _replace_words(text: str, table: dict[str, str]) -> str:
    def swap(words: str) -> str:
        for source, target in sorted(table.items(), key=lambda item: -len(item[0])):
            pattern = regex.compile(rf"(?<![\w']){regex.escape(source)}(?![\w'])", regex.IGNORECASE)

            def same_case(match: regex.Match[str], target: str = target) -> str:
                return _same_case(match.group(), target)

            words = pattern.sub(same_case, words)
        return words

    return on_words(text, swap)


def _same_case(original: str, replacement: str) -> str:
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def shorter(text: str, max_length: int | None = None) -> str:
    """Fillers out; then cut at a sentence end (or word, with an ellipsis) to about 70%."""
    goal = max_length if max_length is not None else max(40, int(len(text) * _SHORTER_SHARE))
    lean = on_words(text, lambda words: _FILLERS.sub("", words))
    lean = regex.sub(r"[ \t]{2,}", " ", lean).strip()
    return fit_to_length(lean, goal).text


def longer(text: str, tone: Tone, seed: int = 0) -> str:
    """An opening line before, and an invitation to reply after, unless it has them."""
    rng = random.Random(f"longer:{seed}:{text}")  # noqa: S311 - seeded for reproducible variants, not security
    opening = rng.choice([o for o in bank.OPENINGS[tone] if "{" not in o])
    sign_off = rng.choice(bank.SIGN_OFFS[tone])
    body = text.strip()
    body = f"{opening} {lower_start(body)}" if opening.endswith(":") else f"{opening} {body}"
    if sign_off.lower() not in text.lower():
        main, tail = split_tail(body)
        body = f"{main}\n\n{sign_off}" + (f"\n\n{tail}" if tail else "")
    return body


def formal(text: str) -> str:
    """Contractions spelled out, casual words replaced, no emoji, no exclamation marks."""
    result = _replace_words(text, _CONTRACTIONS)
    result = _replace_words(result, _CASUAL_TO_FORMAL)
    result = on_words(result, lambda words: _EMOJI.sub("", words))
    result = on_words(result, lambda words: regex.sub(r"!+", ".", words))
    result = on_words(result, lambda words: regex.sub(r"\?{2,}", "?", words))
    return fix_grammar(result)


def casual(text: str) -> str:
    """Formal words swapped for everyday ones, and contractions where people use them."""
    contract = {long: short for short, long in _CONTRACTIONS.items() if not long.startswith("I ")}
    contract.update({"I am": "I'm", "I have": "I've", "I will": "I'll"})
    result = _replace_words(text, _FORMAL_TO_CASUAL)
    result = _replace_words(result, contract)
    return fix_grammar(result)


def fix_grammar(text: str) -> str:
    """Spacing, capitals at sentence starts and for "I", doubled words, common misspellings."""

    def tidy(words: str) -> str:
        words = regex.sub(r"[ \t]{2,}", " ", words)
        words = regex.sub(r"[ \t]+([,.!?;:])(?=\s|$)", r"\1", words)
        words = regex.sub(r"([,;])(?=[^\s\d])", r"\1 ", words)
        words = regex.sub(r"(?<![\w'])i(?![\w'])", "I", words)
        words = regex.sub(r"(?<![\w'])i'(m|ve|ll|d)\b", r"I'\1", words)
        words = regex.sub(r"\b(\w+)(\s+\1\b)+", lambda m: m.group(1), words, flags=regex.IGNORECASE)
        return words

    result = on_words(text, tidy)
    result = _replace_words(result, _MISSPELLINGS)
    result = _capitalise_sentences(result)
    result = regex.sub(r"[ \t]+\n", "\n", result).strip()
    if result and regex.match(r"[\p{L}\p{N})\"']", result[-1]) and not _ends_with_entity(result):
        result += "."
    return result


def _capitalise_sentences(text: str) -> str:
    spans = protected_spans(text)
    characters = list(text)
    for match in regex.finditer(r"(?:^|[.!?]\s+|\n\s*)(\p{Ll})", text):
        position = match.start(1)
        if not any(start <= position < end for start, end in spans):
            characters[position] = characters[position].upper()
    return "".join(characters)


def _ends_with_entity(text: str) -> bool:
    spans = protected_spans(text)
    return bool(spans) and spans[-1][1] >= len(text.rstrip())
