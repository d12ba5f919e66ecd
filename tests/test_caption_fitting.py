"""Every caption fits every network as that network counts it, and trimming never breaks a word,
a link, a hashtag or a mention."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postwizard.captions.fitting import ELLIPSIS, FitTarget, fit, protected_spans
from postwizard.captions.offline import OfflineAssistant
from postwizard.captions.providers import GenerateRequest, VoiceProfile
from postwizard.captions.service import CaptionContext, Fitter, ResolvedProvider
from postwizard.platforms.limits import check
from postwizard.platforms.networks import Network
from tests.caption_corpus import LONG_URL, tricky_briefs

ALL_TARGETS = [FitTarget(network) for network in Network] + [
    FitTarget(Network.TELEGRAM, with_media=True),  # 1,024-character caption
    FitTarget(Network.MASTODON, overrides={"max_characters": 140}),  # a strict instance
    FitTarget(Network.INSTAGRAM, with_media=True),
]
TEXT_RULES = {
    "text_too_long",
    "text_too_many_bytes",
    "too_many_hashtags",
    "too_many_mentions",
    "too_many_links",
}


def breaks(target: FitTarget, text: str) -> list[str]:
    """What the product's own checker finds wrong with `text` on `target`."""
    media = []
    if target.with_media:
        from postwizard.platforms.limits import MediaFacts

        media = [MediaFacts("image/jpeg", 1000, 1080, 1080)]
    problems = check(target.network, text, media, overrides=target.overrides or None)
    return [p.message for p in problems if p.rule in TEXT_RULES]


def entities(text: str) -> list[str]:
    return [text[start:end] for start, end in protected_spans(text)]


@pytest.mark.parametrize("brief", tricky_briefs(), ids=lambda b: b.topic[:24])
async def test_every_variant_of_every_tricky_brief_fits_every_network(brief: object) -> None:
    context = CaptionContext(
        ResolvedProvider(OfflineAssistant(), "offline", None), VoiceProfile(), ALL_TARGETS
    )
    request = GenerateRequest(
        brief=brief,  # type: ignore[arg-type]
        networks=list(context.budgets),
        budgets=context.budgets,
        count=3,
        seed=11,
    )
    drafts = OfflineAssistant().drafts(request)
    fitter = Fitter(context)
    for index, draft in enumerate(drafts):
        variant = await fitter.variant(index, draft)
        assert variant.text.strip()
        for target in ALL_TARGETS:
            assert breaks(target, variant.text) == [], (target, variant.text)
        assert len(variant.versions) == len(ALL_TARGETS)
        for version, target in zip(variant.versions, ALL_TARGETS, strict=True):
            assert version.text.strip()
            assert breaks(target, version.text) == [], (target, version.text)
            assert version.length.count <= version.length.limit


def test_trailing_hashtags_go_before_any_words() -> None:
    text = "Fresh sourdough every morning at our bakery on Main Street. " + " ".join(
        f"#Tag{n}" for n in range(60)
    )
    fitted = fit(text, [FitTarget(Network.X)])
    assert fitted.trimmed
    assert fitted.text.startswith("Fresh sourdough every morning at our bakery on Main Street.")
    assert "#Tag0" in fitted.text
    assert "#Tag59" not in fitted.text


def test_cut_prefers_a_sentence_end() -> None:
    text = ("Our new class starts Saturday. " * 7) + "Bring an apron and a jar " * 20
    fitted = fit(text, [FitTarget(Network.X)])
    assert fitted.text.endswith("Saturday.")


def test_cut_at_a_word_gets_an_ellipsis_and_keeps_the_link() -> None:
    words = "bread " * 80
    text = f"{words}{LONG_URL}"
    fitted = fit(text, [FitTarget(Network.X)])
    assert fitted.text.endswith(f"bread{ELLIPSIS} {LONG_URL}")
    assert breaks(FitTarget(Network.X), fitted.text) == []


def test_instagram_keeps_at_most_thirty_hashtags() -> None:
    text = "New mugs! " + " ".join(f"#mug{n}a" for n in range(45))
    fitted = fit(text, [FitTarget(Network.INSTAGRAM)])
    assert fitted.text.count("#") == 30
    assert "#mug29a" in fitted.text


def test_inline_hashtags_lose_their_mark_rather_than_their_words() -> None:
    tags = " ".join(f"#word{n}x and" for n in range(35))
    fitted = fit(f"We love {tags} more.", [FitTarget(Network.INSTAGRAM)])
    assert fitted.text.count("#") == 30
    assert "word34x and more." in fitted.text


def test_threads_keeps_at_most_five_links() -> None:
    links = " ".join(f"https://example.com/{n}" for n in range(8))
    fitted = fit(f"Our favourite reads this week: {links}", [FitTarget(Network.THREADS)])
    assert breaks(FitTarget(Network.THREADS), fitted.text) == []
    assert "https://example.com/4" in fitted.text
    assert "https://example.com/5" not in fitted.text


def test_cjk_text_breaks_between_characters() -> None:
    text = "東京の新しいパン屋さんが土曜日にオープンします" * 20
    fitted = fit(text, [FitTarget(Network.X)])
    assert breaks(FitTarget(Network.X), fitted.text) == []
    assert fitted.text.endswith(ELLIPSIS)
    # X counts CJK as 2: about 139 characters fit.
    assert 120 <= len(fitted.text) <= 140


def test_mastodon_counts_links_as_23_so_a_long_link_fits() -> None:
    target = FitTarget(Network.MASTODON, overrides={"max_characters": 140})
    text = "Read the report " + LONG_URL + " " + "and more words " * 30
    fitted = fit(text, [target])
    assert LONG_URL in fitted.text
    assert breaks(target, fitted.text) == []


def test_fit_to_several_targets_fits_the_strictest() -> None:
    targets = [FitTarget(Network.LINKEDIN), FitTarget(Network.BLUESKY), FitTarget(Network.X)]
    text = "🍞 " * 200 + "Fresh bread."
    fitted = fit(text, targets)
    for target in targets:
        assert breaks(target, fitted.text) == []


_WORDS = st.sampled_from(
    ["bread", "Saturday", "naïve", "東京", "パン", "🍞", "👨‍👩‍👧", "🇩🇪", "Ünïcödé", "a", "x" * 30]
)
_ENTITIES = st.sampled_from(
    [
        "https://example.com/a",
        LONG_URL,
        "example.org/page",
        "#Sourdough",
        "#東京",
        "@jane_doe",
        "@bob.smith",
        "@user@mastodon.social",
    ]
)
_TOKENS = st.lists(
    st.one_of(_WORDS, _ENTITIES, st.sampled_from([".", "!", ",", "。"])), max_size=200
)
_SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n"])


@given(tokens=_TOKENS, separator=_SEPARATORS, target=st.sampled_from(ALL_TARGETS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fitting_never_cuts_inside_a_link_hashtag_or_mention(
    tokens: list[str], separator: str, target: FitTarget
) -> None:
    text = separator.join(tokens)
    fitted = fit(text, [target])
    assert breaks(target, fitted.text) == [] or not fitted.text
    original = entities(text)
    for entity in entities(fitted.text):
        # Whole entities only (a hashtag may have lost its '#' when over Instagram's 30).
        assert entity in original, (entity, text, fitted.text)
    if not fitted.trimmed:
        assert fitted.text == text.strip()
