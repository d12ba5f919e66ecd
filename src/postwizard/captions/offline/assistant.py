"""The built-in offline assistant: PostWizard's caption provider when no model is configured.

It reads the brief (`brief.py`), extracts its keyphrases with YAKE (`keywords.py`), and writes
each variant from a seeded plan (`compose.py`) in the manner of each network (`styles.py`).
The same brief and seed always give the same variants. It writes English only and cannot
translate or look at pictures; it says so instead of pretending.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence

from postwizard.captions.errors import NotSupported
from postwizard.captions.fitting import split_tail
from postwizard.captions.offline.bank import LINK_IN_BIO
from postwizard.captions.offline.brief import read_brief
from postwizard.captions.offline.compose import Context, make_plan, render, style_order
from postwizard.captions.offline.keywords import keywords
from postwizard.captions.offline.rewrite import rewrite
from postwizard.captions.offline.styles import hashtags_for, style_of
from postwizard.captions.providers import (
    Adapted,
    Draft,
    DraftReady,
    Finished,
    Generated,
    GenerateRequest,
    Hashtags,
    ImageInput,
    ProviderKind,
    RewriteAction,
    StreamEvent,
    Tone,
    VoiceProfile,
    Written,
)
from postwizard.platforms.networks import Network
from postwizard.platforms.text_length import url_spans

ENGLISH = frozenset({"", "en", "en-us", "en-gb", "english"})
NEEDS_A_MODEL = "Set up a model provider in Settings → AI captions to use it."


class OfflineAssistant:
    """Deterministic, local caption writing (see the module docstring)."""

    kind = ProviderKind.OFFLINE
    model: str | None = None
    can_translate = False
    accepts_images = False

    async def generate(self, request: GenerateRequest) -> Generated:
        return Generated(drafts=self.drafts(request))

    def drafts(self, request: GenerateRequest) -> list[Draft]:
        """The variants, synchronously (the work is CPU-only and takes milliseconds)."""
        brief = request.brief
        if brief.language.strip().lower() not in ENGLISH:
            raise NotSupported(
                f"The built-in assistant writes English only, not {brief.language!r}. "
                + NEEDS_A_MODEL
            )
        read = read_brief(brief.topic)
        cleaned_topic = " ".join([read.headline, *read.details])
        context = Context(
            brief=brief,
            read=read,
            keywords=tuple(keywords(cleaned_topic)),
            voice=request.voice,
        )
        styles = style_order(request.seed, brief.topic, request.preferences, request.count)
        tightest = min(request.networks, key=lambda n: request.budgets.get(n, 10**9), default=None)
        drafts = []
        for index, style in enumerate(styles):
            plan = make_plan(context, style, request.seed, index)
            versions = {
                network: render(context, plan, network, request.budgets.get(network))
                for network in request.networks
            }
            base = versions[tightest] if tightest is not None else render(context, plan, None, None)
            drafts.append(Draft(text=base, versions=versions, style=style))
        return drafts

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamEvent]:
        for index, draft in enumerate(self.drafts(request)):
            yield DraftReady(index, draft)
            await asyncio.sleep(0)  # let the response flush each variant as it is ready
        yield Finished(usage=Generated(drafts=[]).usage)

    async def rewrite(
        self,
        text: str,
        action: RewriteAction,
        *,
        voice: VoiceProfile,
        tone: Tone,
        max_length: int | None = None,
    ) -> Written:
        return Written(rewrite(text, action, tone, max_length=max_length))

    async def adapt(
        self, text: str, budgets: Mapping[Network, int], *, voice: VoiceProfile
    ) -> Adapted:
        # Without a model the words stay the user's: the hashtags and links follow each
        # network's habits, and fitting shortens what is too long.
        return Adapted(versions={network: adapt_text(text, network) for network in budgets})

    async def hashtags(
        self, text: str, count: int, networks: Sequence[Network], *, voice: VoiceProfile
    ) -> Hashtags:
        phrases = [w for w in voice.use_words if w.strip()] + keywords(text, limit=max(8, count))
        return Hashtags(
            tags={
                network: hashtags_for(phrases, count, network, avoid=voice.avoid_words)
                for network in networks
            }
        )

    async def translate(self, text: str, language: str) -> Written:
        raise NotSupported("The built-in assistant cannot translate. " + NEEDS_A_MODEL)

    async def describe_image(self, image: ImageInput) -> Written:
        raise NotSupported(
            "The built-in assistant cannot look at pictures to suggest alt text. " + NEEDS_A_MODEL
        )

    async def aclose(self) -> None:
        return None


def adapt_text(text: str, network: Network) -> str:
    """`text` with its trailing hashtags as many and as cased as people use on `network`, and
    on Instagram, whose captions do not link, the trailing link replaced by "Link in bio."."""
    style = style_of(network)
    body, tail = split_tail(text)
    items = tail.split()
    tags = [item for item in items if item.startswith("#")][: style.max_hashtags]
    if not style.pascal_case_tags:
        tags = [tag.lower() for tag in tags]
    others = [item for item in items if not item.startswith("#")]
    if not style.links_clickable and any(url_spans(item) for item in others):
        others = [item for item in others if not url_spans(item)]
        body = f"{body} {LINK_IN_BIO[0]}".strip()
    trailing = " ".join(others + tags)
    if not trailing:
        return body
    separator = "\n\n" if style.paragraphs and tags else " "
    return f"{body}{separator}{trailing}" if body else trailing
