"""Writing variants from a brief: each variant is a *plan* (a style, an opening, a call to
action, emoji, hashtag order) drawn with a seeded random generator, rendered once per network in
that network's manner. Plans differ in style first, so variants read differently, not as one
template with other words.

If a rendering is longer than a network allows, parts are left out in the order a person would
cut them (the sign-off, extra details, the opening, emoji, hashtags) before any trimming.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import regex

from postwizard.captions.offline import bank
from postwizard.captions.offline.brief import ReadBrief, lower_start
from postwizard.captions.offline.styles import NetworkStyle, hashtags_for, style_of
from postwizard.captions.providers import Brief, Length, Tone, VoiceProfile
from postwizard.platforms.networks import Network
from postwizard.platforms.text_length import length as network_length

STYLES = ("announcement", "question", "story", "list", "direct", "essentials")
# How many parts a rendering may leave out before it gives up and lets fitting trim.
_CUTS = 7


@dataclass(frozen=True, slots=True)
class Plan:
    """The choices that make one variant."""

    style: str
    opening: str | None
    sentence_opening: str | None  # an opening that is a sentence of its own ("Good news!")
    question: str | None
    story_lead: str | None
    link_action: str
    sign_off: str
    link_in_bio: str
    topic_emoji: str | None
    tone_emoji: str | None
    emoji_first: bool
    keywords: tuple[str, ...]
    exclaim: bool


@dataclass(frozen=True, slots=True)
class Context:
    """What every rendering of a brief shares."""

    brief: Brief
    read: ReadBrief
    keywords: tuple[str, ...]
    voice: VoiceProfile = field(default_factory=VoiceProfile)

    def hashtag_phrases(self) -> list[str]:
        """The voice's words to use first, then the brief's keyphrases."""
        words = [w.strip() for w in self.voice.use_words if w.strip()]
        seen = {w.lower() for w in words}
        return words + [k for k in self.keywords if k.lower() not in seen]


def style_order(seed: int, topic: str, preferences: Mapping[str, float], count: int) -> list[str]:
    """Which style each variant uses: the workspace's favourites first, the rest in a seeded
    order; styles repeat only when more variants than styles are asked for."""
    shuffler = random.Random(f"styles:{seed}:{topic}")  # noqa: S311 - seeded for reproducible variants, not security
    shuffled = list(STYLES)
    shuffler.shuffle(shuffled)
    ranked = sorted(shuffled, key=lambda style: -preferences.get(style, 0.0))
    return [ranked[i % len(ranked)] for i in range(count)]


def make_plan(context: Context, style: str, seed: int, index: int) -> Plan:
    brief, read = context.brief, context.read
    rng = random.Random(f"plan:{seed}:{index}:{brief.tone}:{brief.topic}")  # noqa: S311 - seeded for reproducible variants, not security
    avoid = {w.lower() for w in context.voice.avoid_words}

    def pick(options: Sequence[str]) -> str | None:
        usable = [o for o in options if _usable(o, brief, read, avoid)]
        return rng.choice(usable) if usable else None

    topic_words = {w.lower() for w in regex.findall(r"\w+", brief.topic)}
    topic_emoji = next(
        (emoji for words, emoji in bank.TOPIC_EMOJI if words & topic_words),
        None,
    )
    keywords = context.hashtag_phrases()
    # Place names ("Main Street") make weaker hashtags than the topic's own words.
    keywords.sort(key=lambda phrase: " " in phrase and phrase.istitle())
    # Variants rotate their hashtags a little, so two of them rarely carry the same set.
    if len(keywords) > 2 and index % 2 == 1:
        keywords[0], keywords[1] = keywords[1], keywords[0]
    link_actions = bank.LINK_ACTIONS[read.category] + bank.TONE_LINK_ACTIONS[brief.tone]
    return Plan(
        style=style,
        opening=pick(bank.OPENINGS[brief.tone]),
        sentence_opening=pick([o for o in bank.OPENINGS[brief.tone] if not _leads_in(o)]),
        question=pick(bank.QUESTIONS[read.category]),
        story_lead=pick(bank.STORY_LEADS[brief.tone]),
        link_action=pick(link_actions) or "More",
        sign_off=pick(bank.SIGN_OFFS[brief.tone]) or "",
        link_in_bio=rng.choice(bank.LINK_IN_BIO),
        topic_emoji=topic_emoji,
        tone_emoji=pick(bank.TONE_EMOJI[brief.tone]),
        emoji_first=rng.random() < 0.35,
        keywords=tuple(keywords),
        exclaim=brief.tone is Tone.BOLD or (brief.tone is Tone.FRIENDLY and rng.random() < 0.5),
    )


def _usable(phrase: str, brief: Brief, read: ReadBrief, avoid: set[str]) -> bool:
    if "{audience}" in phrase.lower() and not brief.audience:
        return False
    if "{day}" in phrase and not read.weekday:
        return False
    words = {w.lower() for w in regex.findall(r"[\w']+", phrase)}
    return not words & avoid


def _fill(phrase: str, brief: Brief, read: ReadBrief) -> str:
    audience = brief.audience.strip()
    return (
        phrase.replace("{audience}", audience)
        .replace("{Audience}", audience[:1].upper() + audience[1:])
        .replace("{day}", read.weekday or "")
    )


def render(
    context: Context,
    plan: Plan,
    network: Network | None,
    budget: int | None = None,
) -> str:
    """The variant for `network` (None: the base text), within `budget` if it can be done by
    leaving parts out; otherwise the richest rendering (fitting trims it)."""
    style = style_of(network)
    length = style.length(context.brief.length)
    first = _render(context, plan, network, length, cuts=0)
    if budget is None or network is None:
        return first
    for cuts in range(_CUTS + 1):
        text = _render(context, plan, network, length, cuts=cuts)
        if network_length(network, text) <= budget:
            return text
    return _render(context, plan, network, length, cuts=_CUTS)


def _render(
    context: Context, plan: Plan, network: Network | None, length: Length, *, cuts: int
) -> str:
    brief, read = context.brief, context.read
    style = style_of(network)
    emoji = brief.emoji and cuts < 6
    headline = _tone_punctuation(read.headline, brief.tone, plan.exclaim)
    details = list(read.details)
    if length is Length.SHORT or cuts >= 3:
        details = []
    elif length is Length.MEDIUM or cuts >= 2:
        details = details[:1]

    bullets: list[str] = []
    if plan.style == "list" and style.paragraphs and read.items and cuts < 3:
        headline, details, bullets = _as_list(headline, details, read.items)

    opening = _opening(context, plan, length, cuts)
    lead = headline
    if opening and _leads_in(opening) and ":" in headline:
        # "Big news: our spring sale: 20% off" reads badly: open with a sentence instead.
        opening = _fill(plan.sentence_opening, brief, read) if plan.sentence_opening else None
    if opening:
        lead = f"{opening} {lower_start(headline) if _leads_in(opening) else headline}"
    if emoji and plan.topic_emoji:
        lead = f"{plan.topic_emoji} {lead}" if plan.emoji_first else f"{lead} {plan.topic_emoji}"

    parts: list[str] = [lead]
    if bullets:
        marker = bank.BULLET[emoji]
        parts.append("\n".join(f"{marker} {item}" for item in bullets))
    parts += details

    action = _call_to_action(context, plan, style, emoji)
    if action:
        parts.append(action)
    elif length is not Length.SHORT and cuts < 1 and plan.sign_off:
        sign_off = plan.sign_off
        if emoji and plan.tone_emoji and brief.tone in (Tone.FRIENDLY, Tone.WITTY, Tone.BOLD):
            sign_off = f"{sign_off} {plan.tone_emoji}"
        parts.append(_fill(sign_off, brief, read))
    if length is Length.LONG and action and brief.link and cuts < 1 and plan.style != "direct":
        parts.insert(len(parts) - 1, _fill(plan.sign_off, brief, read))

    tag_count = brief.hashtags if cuts < 5 else (1 if cuts < _CUTS else 0)
    tags = hashtags_for(plan.keywords, tag_count, network, avoid=context.voice.avoid_words)
    if tags:
        parts.append(" ".join(tags))
    separator = "\n\n" if style.paragraphs else " "
    return separator.join(part for part in parts if part)


def _opening(context: Context, plan: Plan, length: Length, cuts: int) -> str | None:
    brief, read = context.brief, context.read
    if cuts >= 4 or plan.style == "direct":
        return None
    chosen: str | None
    if plan.style == "question":
        chosen = plan.question
    elif plan.style == "story":
        chosen = plan.story_lead if length is not Length.SHORT else plan.opening
    elif plan.style == "essentials":
        chosen = _informative_opening(plan, brief.tone)
    elif plan.style == "list":
        chosen = None if read.items else plan.opening
    else:
        chosen = plan.opening
    if chosen is None:
        return None
    if length is Length.SHORT and len(chosen) > 30:
        return None
    return _fill(chosen, brief, read)


def _informative_opening(plan: Plan, tone: Tone) -> str | None:
    if tone is Tone.INFORMATIVE:
        return plan.opening
    return {
        Tone.FRIENDLY: "Here's the scoop:",
        Tone.PROFESSIONAL: "In brief:",
        Tone.WITTY: "The short version (we know you're busy):",
        Tone.BOLD: "Here's the deal:",
    }.get(tone, plan.opening)


def _leads_in(opening: str) -> bool:
    return opening.endswith(":") or opening.endswith(" but")


def _tone_punctuation(sentence: str, tone: Tone, exclaim: bool) -> str:
    if tone is Tone.PROFESSIONAL or tone is Tone.INFORMATIVE:
        return regex.sub(r"!+$", ".", sentence)
    if exclaim and sentence.endswith("."):
        return sentence[:-1] + "!"
    return sentence


def _as_list(
    headline: str, details: list[str], items: Sequence[str]
) -> tuple[str, list[str], list[str]]:
    """The sentence holding the list becomes its lead-in ("Learn to:") and the items bullets."""
    first = regex.escape(items[0])
    sentences = [headline, *details]
    for position, sentence in enumerate(sentences):
        match = regex.search(first, sentence, regex.IGNORECASE)
        if match is None:
            continue
        lead = sentence[: match.start()].rstrip(" ,:;-–—")  # noqa: RUF001 - CJK and typographic punctuation on purpose
        lead = f"{lead}:" if lead else "The highlights:"
        sentences[position] = lead
        rest = sentences[position + 1 :]
        return sentences[0], sentences[1 : position + 1] + rest if position else rest, list(items)
    return headline, details, list(items)


def _call_to_action(context: Context, plan: Plan, style: NetworkStyle, emoji: bool) -> str:
    brief = context.brief
    action = brief.call_to_action.strip().rstrip(".!:")
    if not brief.link:
        if not action:
            return ""
        ending = "!" if brief.tone in (Tone.BOLD, Tone.FRIENDLY) else "."
        return action + ending
    action = action or plan.link_action
    if not style.links_clickable:
        return f"{action}. {plan.link_in_bio}"
    if emoji and brief.tone in (Tone.FRIENDLY, Tone.WITTY, Tone.BOLD):
        return f"{action} {bank.POINTER[True]} {brief.link}"
    return f"{action}: {brief.link}"
