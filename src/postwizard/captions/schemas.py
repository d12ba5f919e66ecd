"""Request and response bodies of the captions API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, HttpUrl, SecretStr, field_validator

from postwizard.api.schemas import RequestBody, ResponseBody
from postwizard.captions.models import CaptionAction, ProviderChoice
from postwizard.captions.providers import Length, ProviderKind, RewriteAction, Tone
from postwizard.platforms.networks import Network

MAX_TEXT = 10_000
MAX_SEED = 2**31 - 1


class BriefIn(RequestBody):
    topic: str = Field(
        min_length=3,
        max_length=2000,
        description="What the post is about, in your own words (notes are fine).",
    )
    audience: str = Field(default="", max_length=200, description='e.g. "home bakers".')
    tone: Tone = Tone.FRIENDLY
    language: str = Field(
        default="en",
        min_length=2,
        max_length=35,
        pattern=r"^[A-Za-z][A-Za-z -]*$",
        description='A language tag or name ("en", "pt-BR", "German"); the offline assistant writes English only.',
    )
    length: Length = Length.MEDIUM
    hashtags: int = Field(default=3, ge=0, le=30, description="How many hashtags, at most.")
    emoji: bool = True
    call_to_action: str = Field(
        default="", max_length=200, description='e.g. "Book your seat"; empty: one is chosen.'
    )
    link: HttpUrl | None = None


class TargetsIn(RequestBody):
    """Where the text will go: every result fits each of these as that network counts."""

    account_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=50,
        description="Accounts of the workspace (their own limits apply, e.g. a Mastodon instance's).",
    )
    networks: list[Network] = Field(
        default_factory=list, max_length=10, description="Networks, with their default limits."
    )
    with_media: bool = Field(
        default=False, description="The post carries media (Telegram then allows 1,024 characters)."
    )


class GenerateIn(TargetsIn):
    brief: BriefIn
    count: int = Field(default=3, ge=1, le=6, description="How many variants.")
    seed: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SEED,
        description="The same seed and brief give the same offline variants; empty: a new seed.",
    )
    media_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=4,
        description="Pictures to caption, for a model that accepts images.",
    )


class TextCount(ResponseBody):
    count: int
    limit: int


class TargetText(ResponseBody):
    """The text for one target, fitted to it."""

    network: Network
    account_id: uuid.UUID | None
    text: str
    length: TextCount
    trimmed: bool = Field(description="PostWizard had to shorten it to fit.")


class Variant(ResponseBody):
    index: int
    text: str = Field(description="Fits every selected target.")
    style: str
    trimmed: bool
    versions: list[TargetText] = Field(description="One per target, shaped for its network.")


class TokenUsage(ResponseBody):
    prompt_tokens: int
    completion_tokens: int


class Generation(ResponseBody):
    id: uuid.UUID
    provider: ProviderKind
    model: str | None
    seed: int
    variants: list[Variant]
    usage: TokenUsage


class RewriteIn(TargetsIn):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    action: RewriteAction
    tone: Tone = Tone.FRIENDLY


class Rewritten(ResponseBody):
    id: uuid.UUID
    provider: ProviderKind
    model: str | None
    text: str = Field(description="Fits every selected target.")
    trimmed: bool
    versions: list[TargetText]
    usage: TokenUsage


class AdaptIn(TargetsIn):
    """Name at least one account or network to adapt to."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)


class AdaptedOut(ResponseBody):
    id: uuid.UUID
    provider: ProviderKind
    model: str | None
    versions: list[TargetText]
    usage: TokenUsage


class HashtagsIn(RequestBody):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    count: int = Field(default=5, ge=1, le=30)
    networks: list[Network] = Field(min_length=1, max_length=10)


class NetworkHashtags(ResponseBody):
    network: Network
    hashtags: list[str]


class HashtagsOut(ResponseBody):
    id: uuid.UUID
    provider: ProviderKind
    model: str | None
    networks: list[NetworkHashtags]
    usage: TokenUsage


class TranslateIn(RequestBody):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    language: str = Field(min_length=2, max_length=35, pattern=r"^[A-Za-z][A-Za-z -]*$")


class Translated(ResponseBody):
    id: uuid.UUID
    provider: ProviderKind
    model: str | None
    text: str
    usage: TokenUsage


class AltTextIn(RequestBody):
    media_id: uuid.UUID


class AltText(ResponseBody):
    id: uuid.UUID
    provider: ProviderKind
    model: str | None
    alt_text: str
    usage: TokenUsage


# --- Settings and brand voice -------------------------------------------------------------------


class Voice(RequestBody):
    """A brand voice: included in every prompt; the offline assistant uses its words."""

    description: str = Field(default="", max_length=1000)
    use_words: list[str] = Field(default_factory=list, max_length=30)
    avoid_words: list[str] = Field(default_factory=list, max_length=30)
    examples: list[str] = Field(default_factory=list, max_length=5)

    @field_validator("use_words", "avoid_words")
    @classmethod
    def _clean_words(cls, words: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(w.strip().lstrip("#") for w in words if w.strip()))
        if any(len(w) > 50 for w in cleaned):
            raise ValueError("a word or phrase is at most 50 characters")
        return cleaned

    @field_validator("examples")
    @classmethod
    def _clean_examples(cls, examples: list[str]) -> list[str]:
        cleaned = [e.strip() for e in examples if e.strip()]
        if any(len(e) > 3000 for e in cleaned):
            raise ValueError("an example post is at most 3,000 characters")
        return cleaned


class InstanceProvider(ResponseBody):
    """What the instance's environment sets (POSTWIZARD_AI_*); the key is never shown."""

    configured: bool
    base_url: str | None
    model: str | None


class EffectiveProvider(ResponseBody):
    kind: ProviderKind
    source: str = Field(description="workspace, instance or offline (the default).")
    base_url: str | None
    model: str | None


class CaptionSettings(ResponseBody):
    provider: ProviderChoice
    base_url: str | None
    model: str | None
    api_key_set: bool = Field(
        description="Whether a key is stored; the key itself is never returned."
    )
    accepts_images: bool
    voice: Voice
    instance: InstanceProvider
    effective: EffectiveProvider
    usage_30_days: TokenUsage


def _check_base_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


class CaptionSettingsUpdate(RequestBody):
    provider: ProviderChoice = ProviderChoice.INSTANCE
    base_url: str | None = Field(
        default=None, max_length=500, description="e.g. http://localhost:11434/v1 (Ollama)."
    )
    model: str | None = Field(default=None, max_length=200)
    api_key: SecretStr | None = Field(
        default=None,
        max_length=500,
        description="Write-only. Omit (or null) to keep the stored key; an empty string removes it.",
    )
    accepts_images: bool = False
    voice: Voice = Field(default_factory=Voice)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_base_url(value)


class ConnectionTestIn(RequestBody):
    """Settings to try before saving them; fields left out come from the stored settings."""

    base_url: str | None = Field(default=None, max_length=500)
    model: str | None = Field(default=None, max_length=200)
    api_key: SecretStr | None = Field(default=None, max_length=500)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_base_url(value)


class ConnectionTest(ResponseBody):
    ok: bool
    message: str
    models: list[str]


class VoiceProposal(ResponseBody):
    voice: Voice
    based_on_posts: int
    message: str


# --- History and feedback ----------------------------------------------------------------------


class GenerationRecord(ResponseBody):
    id: uuid.UUID
    action: CaptionAction
    provider: str
    model: str | None
    request: dict[str, Any]
    variants: list[dict[str, Any]]
    kept_index: int | None
    edited_text: str | None
    usage: TokenUsage
    author_id: uuid.UUID | None
    created_at: datetime


class FeedbackIn(RequestBody):
    """Send `kept_index`, `edited_text` or both."""

    kept_index: int | None = Field(default=None, ge=0, le=20, description="The variant kept.")
    edited_text: str | None = Field(
        default=None, max_length=MAX_TEXT, description="The text as finally used, after edits."
    )
