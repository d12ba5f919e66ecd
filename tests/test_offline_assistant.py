"""The built-in offline assistant: distinct variants, the brief's keywords kept, hashtags valid
for each network, the same output for the same seed, honest about what it cannot do."""

from __future__ import annotations

from dataclasses import replace

import pytest

from postwizard.captions.errors import NotSupported
from postwizard.captions.fitting import FitTarget
from postwizard.captions.offline import OfflineAssistant
from postwizard.captions.offline.compose import STYLES
from postwizard.captions.offline.keywords import keywords
from postwizard.captions.offline.styles import STYLES as NETWORK_STYLES
from postwizard.captions.offline.styles import is_valid_hashtag
from postwizard.captions.providers import (
    Brief,
    DraftReady,
    Finished,
    GenerateRequest,
    ImageInput,
    Length,
    RewriteAction,
    Tone,
    VoiceProfile,
)
from postwizard.platforms.networks import Network
from postwizard.platforms.text_length import hashtag_spans
from tests.caption_corpus import tricky_briefs

BRIEF = Brief(
    topic="new sourdough workshop for beginners starts Saturday at the bakery on Main Street; "
    "learn to shape loaves, feed a starter and bake at home",
    audience="home bakers",
    link="https://example.com/workshops/sourdough",
    hashtags=3,
)
NETWORKS = [Network.X, Network.LINKEDIN, Network.BLUESKY, Network.INSTAGRAM, Network.THREADS]


def request(
    brief: Brief = BRIEF, *, seed: int = 1, count: int = 3, **extra: object
) -> GenerateRequest:
    values: dict[str, object] = {
        "brief": brief,
        "networks": NETWORKS,
        "budgets": {n: FitTarget(n).max_length for n in NETWORKS},
        "count": count,
        "seed": seed,
    }
    values.update(extra)
    return GenerateRequest(**values)  # type: ignore[arg-type]


def tags_in(text: str) -> list[str]:
    return [text[start:end] for start, end in hashtag_spans(text)]


async def test_variants_differ_in_words_not_only_in_hashtags() -> None:
    drafts = (await OfflineAssistant().generate(request(count=4))).drafts
    assert len(drafts) == 4
    assert len({d.style for d in drafts}) == 4
    bodies = {d.text.split("#")[0].strip() for d in drafts}
    assert len(bodies) == 4


async def test_the_briefs_keywords_appear_in_every_variant() -> None:
    drafts = (await OfflineAssistant().generate(request())).drafts
    for draft in drafts:
        for word in ("sourdough", "workshop", "beginners", "Saturday"):
            assert word in draft.text, (word, draft.text)
            for version in draft.versions.values():
                assert word in version


async def test_the_link_and_call_to_action_appear() -> None:
    brief = replace(BRIEF, call_to_action="Book your seat")
    drafts = (await OfflineAssistant().generate(request(brief))).drafts
    for draft in drafts:
        assert "Book your seat" in draft.text
        assert "https://example.com/workshops/sourdough" in draft.versions[Network.X]
        # Instagram captions do not link: people are sent to the profile instead.
        assert "https://" not in draft.versions[Network.INSTAGRAM]
        assert "bio" in draft.versions[Network.INSTAGRAM]


async def test_same_seed_same_variants_other_seed_other_variants() -> None:
    assistant = OfflineAssistant()
    first = (await assistant.generate(request(seed=42))).drafts
    again = (await OfflineAssistant().generate(request(seed=42))).drafts
    other = (await assistant.generate(request(seed=43))).drafts
    assert first == again
    assert [d.text for d in first] != [d.text for d in other]


@pytest.mark.parametrize("brief", tricky_briefs()[::3], ids=lambda b: b.topic[:24])
async def test_hashtags_are_valid_for_each_network_and_within_its_habits(brief: Brief) -> None:
    brief = replace(brief, hashtags=10)
    all_networks = list(Network)
    drafts = OfflineAssistant().drafts(
        request(
            brief,
            networks=all_networks,
            budgets={n: FitTarget(n).max_length for n in all_networks},
        )
    )
    for draft in drafts:
        for network, text in draft.versions.items():
            tags = [t for t in tags_in(text) if t not in brief.topic]
            assert len(tags) <= NETWORK_STYLES[network].max_hashtags, (network, text)
            for tag in tags:
                assert is_valid_hashtag(tag), (network, tag)
            if network is Network.INSTAGRAM:
                assert all(t == t.lower() for t in tags)


async def test_per_network_versions_have_their_own_length() -> None:
    brief = replace(BRIEF, length=Length.MEDIUM)
    draft = OfflineAssistant().drafts(request(brief, count=1))[0]
    linkedin, x = draft.versions[Network.LINKEDIN], draft.versions[Network.X]
    assert "\n\n" in linkedin  # paragraphs where people write them
    assert "\n" not in x
    assert len(linkedin) > len(x)


async def test_without_emoji_there_are_none() -> None:
    brief = replace(BRIEF, emoji=False)
    for draft in OfflineAssistant().drafts(request(brief, count=6)):
        assert not any(
            ord(ch) > 0x2190 and not ("\u3000" <= ch <= "\u9fff") for ch in draft.text
        ), draft.text


async def test_brand_voice_words_lead_the_hashtags_and_avoided_words_never_appear() -> None:
    voice = VoiceProfile(use_words=("RiseAndBake",), avoid_words=("news", "sourdough"))
    for draft in OfflineAssistant().drafts(request(voice=voice, count=6)):
        tags = tags_in(draft.versions[Network.LINKEDIN])
        assert tags[0] == "#RiseAndBake"
        assert all("sourdough" not in t.lower() for t in tags)
        opening = draft.text.lower().split("sourdough")[0]
        assert "news" not in opening


async def test_kept_styles_come_first() -> None:
    liked = {"list": 5.0, "question": 2.0}
    drafts = OfflineAssistant().drafts(request(preferences=liked))
    assert [d.style for d in drafts][:2] == ["list", "question"]
    assert set(STYLES) >= {d.style for d in drafts}


async def test_streaming_yields_each_variant_then_finishes() -> None:
    events = [e async for e in OfflineAssistant().stream(request(count=2))]
    assert [type(e) for e in events] == [DraftReady, DraftReady, Finished]


async def test_it_writes_english_only_and_cannot_translate_or_see() -> None:
    assistant = OfflineAssistant()
    with pytest.raises(NotSupported, match="English only"):
        await assistant.generate(request(replace(BRIEF, language="de")))
    with pytest.raises(NotSupported, match="cannot translate"):
        await assistant.translate("Frisches Brot", "en")
    with pytest.raises(NotSupported, match="pictures"):
        await assistant.describe_image(ImageInput("image/png", b""))


@pytest.mark.parametrize(
    ("action", "text", "expected"),
    [
        (
            RewriteAction.FORMAL,
            "hey guys!! we're gonna open the new shop tomorrow 🎉 https://example.com/Shop #NewShop",
            "Hello everyone. We are going to open the new shop tomorrow https://example.com/Shop #NewShop",
        ),
        (
            RewriteAction.CASUAL,
            "We are pleased to announce that we will commence deliveries regarding your orders.",
            "Guess what: we'll start deliveries about your orders.",
        ),
        (
            RewriteAction.FIX_GRAMMAR,
            "i think teh new menu is is great , come try it @bob_b",
            "I think the new menu is great, come try it @bob_b",
        ),
    ],
)
async def test_rewrites_change_words_but_never_links_hashtags_or_mentions(
    action: RewriteAction, text: str, expected: str
) -> None:
    written = await OfflineAssistant().rewrite(
        text, action, voice=VoiceProfile(), tone=Tone.FRIENDLY
    )
    assert written.text == expected


async def test_shorter_keeps_the_start_and_longer_adds_an_opening_and_a_sign_off() -> None:
    text = (
        "Our bakery is really very proud of this new loaf. It took months to get right. "
        "We tried many flours and many ovens. Come and taste it this weekend at the shop."
    )
    assistant = OfflineAssistant()
    shorter = (
        await assistant.rewrite(
            text, RewriteAction.SHORTER, voice=VoiceProfile(), tone=Tone.FRIENDLY
        )
    ).text
    longer = (
        await assistant.rewrite(
            text, RewriteAction.LONGER, voice=VoiceProfile(), tone=Tone.FRIENDLY
        )
    ).text
    assert shorter.startswith("Our bakery is proud of this new loaf.")
    assert len(shorter) < 0.75 * len(text)
    assert len(longer) > len(text)
    assert "Come and taste it this weekend at the shop." in longer


def test_keywords_skip_calendar_and_filler_words() -> None:
    found = keywords(BRIEF.topic)
    assert "sourdough workshop" in [k.lower() for k in found]
    assert not {"saturday", "new", "starts", "learn"} & {k.lower() for k in found}


async def test_hashtag_suggestions_per_network() -> None:
    suggested = await OfflineAssistant().hashtags(
        BRIEF.topic, 5, [Network.X, Network.MASTODON, Network.DISCORD], voice=VoiceProfile()
    )
    assert len(suggested.tags[Network.X]) == 2
    assert len(suggested.tags[Network.MASTODON]) == 5
    assert suggested.tags[Network.DISCORD] == []
    assert all(is_valid_hashtag(t) for tags in suggested.tags.values() for t in tags)


async def test_adapting_follows_each_networks_habits() -> None:
    text = "Fresh rye today at the bakery. https://example.com/rye #Rye #Bread #Bakery #Baking"
    adapted = await OfflineAssistant().adapt(
        text,
        {Network.X: 280, Network.THREADS: 500, Network.INSTAGRAM: 2200, Network.DISCORD: 2000},
        voice=VoiceProfile(),
    )
    versions = adapted.versions
    assert (
        versions[Network.X] == "Fresh rye today at the bakery. https://example.com/rye #Rye #Bread"
    )
    assert (
        versions[Network.THREADS]
        == "Fresh rye today at the bakery.\n\nhttps://example.com/rye #Rye"
    )
    assert versions[Network.INSTAGRAM] == (
        "Fresh rye today at the bakery. Link in bio.\n\n#rye #bread #bakery #baking"
    )
    assert versions[Network.DISCORD] == "Fresh rye today at the bakery. https://example.com/rye"
