"""What PostWizard asks a model, and the JSON shapes it asks for (Chat Completions
`response_format: json_schema`, strict: every property required, nothing else allowed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from postwizard.captions.providers import Brief, RewriteAction, Tone, VoiceProfile
from postwizard.platforms.networks import Network
from postwizard.platforms.text_length import CountingRule, counting_rule

Message = dict[str, Any]

_COUNTING = {
    CountingRule.X_WEIGHTED: "every link counts 23, emoji and CJK characters count 2",
    CountingRule.MASTODON: "every link counts 23",
    CountingRule.GRAPHEMES: "counted as visible characters",
    CountingRule.THREADS: "emoji count 4",
    CountingRule.UTF16_CODE_UNITS: "emoji count 2",
    CountingRule.CODE_POINTS: "",
}
_HASHTAG_HABITS = {
    Network.THREADS: "at most 1 hashtag",
    Network.DISCORD: "no hashtags",
    Network.X: "at most 2 hashtags",
    Network.INSTAGRAM: "hashtags in a block at the end; links are not clickable, say 'link in bio'",
    Network.MASTODON: "CamelCase hashtags",
    Network.LINKEDIN: "paragraphs separated by blank lines; 3 to 5 hashtags at the end",
}
_REWRITES = {
    RewriteAction.SHORTER: "Make it shorter; keep the key facts, the link and the best hashtags.",
    RewriteAction.LONGER: "Make it a little longer and more engaging; add no facts that are not there.",
    RewriteAction.FORMAL: "Make it more formal and professional.",
    RewriteAction.CASUAL: "Make it more casual and conversational.",
    RewriteAction.FIX_GRAMMAR: "Fix grammar, spelling and punctuation only; change nothing else.",
}


def system_message(voice: VoiceProfile) -> Message:
    lines = [
        "You write social media posts for a small business or creator.",
        "Write the way a person posts, not like an advert: concrete, warm, no clichés, no "
        "'Unlock', 'Elevate' or 'Dive in'.",
        "Never invent facts, prices, dates, names or links that are not in what you are given.",
        "Keep links, @mentions and hashtags exactly as given.",
        "Answer with JSON only, in the shape asked for.",
    ]
    if voice.description:
        lines.append(f"Brand voice: {voice.description}")
    if voice.use_words:
        lines.append(f"Words and hashtags to use where natural: {', '.join(voice.use_words)}.")
    if voice.avoid_words:
        lines.append(f"Never use these words: {', '.join(voice.avoid_words)}.")
    for number, example in enumerate(voice.examples[:3], start=1):
        lines.append(f"Example post {number} in this voice:\n{example}")
    return {"role": "system", "content": "\n".join(lines)}


def network_rules(budgets: Mapping[Network, int]) -> str:
    rules = []
    for network, budget in budgets.items():
        counting = _COUNTING[counting_rule(network)]
        habits = _HASHTAG_HABITS.get(network, "")
        details = "; ".join(part for part in (counting, habits) if part)
        rules.append(
            f"- {network.value} ({network.label}): at most {budget} characters"
            + (f" ({details})" if details else "")
        )
    return "\n".join(rules)


def generate_messages(
    brief: Brief,
    budgets: Mapping[Network, int],
    count: int,
    voice: VoiceProfile,
    image_parts: Sequence[Message] = (),
) -> list[Message]:
    strictest = min(budgets.values(), default=None)
    facts = [f"Topic: {brief.topic}"]
    if brief.audience:
        facts.append(f"Audience: {brief.audience}")
    facts += [
        f"Tone: {brief.tone.value}",
        f"Language: {brief.language or 'en'}",
        f"Length: {brief.length.value}",
        f"Hashtags: {brief.hashtags}" if brief.hashtags else "Hashtags: none",
        "Emoji: yes, a few" if brief.emoji else "Emoji: none",
    ]
    if brief.call_to_action:
        facts.append(f"Call to action: {brief.call_to_action}")
    if brief.link:
        facts.append(f"Link (include it exactly): {brief.link}")
    task = [
        f"Write {count} clearly different variants of a post from this brief.",
        *facts,
        "Each variant has `text`, one version for all the networks below"
        + (f" (at most {strictest} characters)" if strictest else "")
        + ", and `versions`, one version per network shaped for it.",
    ]
    if budgets:
        task += ["Networks:", network_rules(budgets)]
    if image_parts:
        task.append("The attached pictures show what the post is about; describe what matters.")
    text_part = {"type": "text", "text": "\n".join(task)}
    content: str | list[Message] = [text_part, *image_parts] if image_parts else text_part["text"]
    return [system_message(voice), {"role": "user", "content": content}]


def variants_schema(networks: Sequence[Network]) -> dict[str, Any]:
    versions = {
        "type": "object",
        "properties": {network.value: {"type": "string"} for network in networks},
        "required": [network.value for network in networks],
        "additionalProperties": False,
    }
    variant = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "versions": versions},
        "required": ["text", "versions"],
        "additionalProperties": False,
    }
    return _object({"variants": {"type": "array", "items": variant}})


def rewrite_messages(
    text: str, action: RewriteAction, voice: VoiceProfile, tone: Tone, max_length: int | None
) -> list[Message]:
    task = [_REWRITES[action], f"Tone: {tone.value}."]
    if max_length is not None:
        task.append(f"The result must be at most {max_length} characters.")
    task += ["Post:", text]
    return [system_message(voice), {"role": "user", "content": "\n".join(task)}]


def adapt_messages(text: str, budgets: Mapping[Network, int], voice: VoiceProfile) -> list[Message]:
    task = [
        "Adapt this post to each network below: same message, shaped the way people post there.",
        "Networks:",
        network_rules(budgets),
        "Post:",
        text,
    ]
    return [system_message(voice), {"role": "user", "content": "\n".join(task)}]


def versions_schema(networks: Sequence[Network]) -> dict[str, Any]:
    return _object(
        {
            "versions": {
                "type": "object",
                "properties": {network.value: {"type": "string"} for network in networks},
                "required": [network.value for network in networks],
                "additionalProperties": False,
            }
        }
    )


def hashtag_messages(
    text: str, count: int, networks: Sequence[Network], voice: VoiceProfile
) -> list[Message]:
    task = [
        f"Suggest up to {count} hashtags for this post for each network below: letters and "
        "digits only after '#', no spaces, the ones people there actually follow.",
        "Networks: " + ", ".join(n.value for n in networks),
        "Post:",
        text,
    ]
    return [system_message(voice), {"role": "user", "content": "\n".join(task)}]


def hashtags_schema(networks: Sequence[Network]) -> dict[str, Any]:
    tags = {"type": "array", "items": {"type": "string"}}
    return _object(
        {
            "hashtags": {
                "type": "object",
                "properties": {network.value: tags for network in networks},
                "required": [network.value for network in networks],
                "additionalProperties": False,
            }
        }
    )


def translate_messages(text: str, language: str) -> list[Message]:
    return [
        system_message(VoiceProfile()),
        {
            "role": "user",
            "content": f"Translate this post into {language}. Keep links, @mentions, emoji "
            f"and the meaning; translate hashtags only where a common one exists.\nPost:\n{text}",
        },
    ]


def alt_text_messages(image_part: Message) -> list[Message]:
    return [
        system_message(VoiceProfile()),
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "Write alt text for this picture for people using screen readers: "
                    "one or two plain sentences, at most 250 characters, no 'image of'.",
                },
                image_part,
            ],
        },
    ]


TEXT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
    "additionalProperties": False,
}
ALT_TEXT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"alt_text": {"type": "string"}},
    "required": ["alt_text"],
    "additionalProperties": False,
}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
