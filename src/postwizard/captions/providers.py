"""The one interface every caption provider implements, and the values that cross it.

Two providers exist: any OpenAI-compatible model server (`openai_compatible.py`) and the
built-in offline assistant (`offline/`). The service (`service.py`) picks one per workspace,
then fits whatever comes back to each target network (`fitting.py`); providers never touch the
database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from postwizard.platforms.networks import Network


class ProviderKind(StrEnum):
    OFFLINE = "offline"
    OPENAI_COMPATIBLE = "openai_compatible"


class Tone(StrEnum):
    FRIENDLY = "friendly"
    PROFESSIONAL = "professional"
    WITTY = "witty"
    BOLD = "bold"
    INFORMATIVE = "informative"


class Length(StrEnum):
    SHORT = "short"
    MEDIUM = "medium"
    LONG = "long"


class RewriteAction(StrEnum):
    SHORTER = "shorter"
    LONGER = "longer"
    FORMAL = "formal"
    CASUAL = "casual"
    FIX_GRAMMAR = "fix_grammar"


@dataclass(frozen=True, slots=True)
class VoiceProfile:
    """A workspace's brand voice, included in every prompt (and honoured by the offline
    assistant: words to use become hashtags first, words to avoid never appear in its phrases)."""

    description: str = ""
    use_words: tuple[str, ...] = ()
    avoid_words: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.description or self.use_words or self.avoid_words or self.examples)


@dataclass(frozen=True, slots=True)
class Brief:
    """What to write about, as the composer's AI panel asks for it."""

    topic: str
    audience: str = ""
    tone: Tone = Tone.FRIENDLY
    language: str = "en"
    length: Length = Length.MEDIUM
    hashtags: int = 3
    emoji: bool = True
    call_to_action: str = ""
    link: str = ""


@dataclass(frozen=True, slots=True)
class ImageInput:
    """A picture sent to a model that accepts images (caption from a photo, alt text)."""

    mime_type: str
    data: bytes
    alt_text: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens a model counted for a request (zero for the offline assistant)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True, slots=True)
class Draft:
    """One variant as a provider wrote it: a base text and, per selected network, a version
    shaped for it (longer for LinkedIn, shorter for X). `style` names how it was made, so that
    feedback can rank the offline assistant's styles."""

    text: str
    versions: Mapping[Network, str] = field(default_factory=dict)
    style: str = ""


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """A brief for `count` variants, for these networks; `budgets` holds each network's text
    limit (the strictest account's), `preferences` how well each offline style was received."""

    brief: Brief
    networks: Sequence[Network]
    budgets: Mapping[Network, int]
    count: int = 3
    seed: int = 0
    voice: VoiceProfile = VoiceProfile()
    images: Sequence[ImageInput] = ()
    preferences: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Generated:
    drafts: list[Draft]
    usage: Usage = Usage()


@dataclass(frozen=True, slots=True)
class DraftReady:
    """Streaming: variant `index` is complete."""

    index: int
    draft: Draft


@dataclass(frozen=True, slots=True)
class Progress:
    """Streaming: the model has written `characters` so far."""

    characters: int


@dataclass(frozen=True, slots=True)
class Finished:
    """Streaming: the last event, with what the model counted."""

    usage: Usage


StreamEvent = DraftReady | Progress | Finished


@dataclass(frozen=True, slots=True)
class Written:
    """A single text from a provider, with the tokens it cost."""

    text: str
    usage: Usage = Usage()


@dataclass(frozen=True, slots=True)
class Adapted:
    versions: Mapping[Network, str]
    usage: Usage = Usage()


@dataclass(frozen=True, slots=True)
class Hashtags:
    tags: Mapping[Network, list[str]]
    usage: Usage = Usage()


class CaptionProvider(Protocol):
    """Generates, streams and rewrites captions. Implementations raise `CaptionError`s
    (`captions/errors.py`) with a message a person can act on."""

    kind: ProviderKind
    model: str | None
    can_translate: bool
    accepts_images: bool

    async def generate(self, request: GenerateRequest) -> Generated:
        """`request.count` distinct variants."""
        ...

    def stream(self, request: GenerateRequest) -> AsyncIterator[StreamEvent]:
        """The same variants, each as soon as it is complete, then `Finished`."""
        ...

    async def rewrite(
        self,
        text: str,
        action: RewriteAction,
        *,
        voice: VoiceProfile,
        tone: Tone,
        max_length: int | None = None,
    ) -> Written:
        """`text` rewritten; `max_length` (code points) bounds "shorter"."""
        ...

    async def adapt(
        self, text: str, budgets: Mapping[Network, int], *, voice: VoiceProfile
    ) -> Adapted:
        """One version of `text` per network, each shaped for it and within its budget."""
        ...

    async def hashtags(
        self, text: str, count: int, networks: Sequence[Network], *, voice: VoiceProfile
    ) -> Hashtags:
        """Up to `count` hashtags per network, each valid there."""
        ...

    async def translate(self, text: str, language: str) -> Written:
        """`text` in `language` (a BCP 47 tag or a language name)."""
        ...

    async def describe_image(self, image: ImageInput) -> Written:
        """Alt text for `image`."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
