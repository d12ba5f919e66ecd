"""Every network's limits, each exercised just below (or at) and just above its boundary, with
the numbers written out here rather than read back from the table under test."""

from __future__ import annotations

import time

import pytest

from postwizard.platforms import (
    NETWORK_LIMITS,
    OVERRIDE_KEYS,
    LimitViolation,
    MediaFacts,
    MediaKind,
    Network,
    check,
    limits_for,
)
from postwizard.platforms.limits import text_length

MIB = 1_048_576
MB = 1_000_000
GB = 1_000_000_000


def jpeg(size_bytes: int = 1_000, width: int = 1_000, height: int = 1_000) -> MediaFacts:
    return MediaFacts("image/jpeg", size_bytes, width, height)


def mp4(
    size_bytes: int = 1_000,
    duration_seconds: float | None = 10.0,
    width: int = 1_080,
    height: int = 1_080,
) -> MediaFacts:
    return MediaFacts("video/mp4", size_bytes, width, height, duration_seconds)


def rules(violations: list[LimitViolation]) -> list[str]:
    return [violation.rule for violation in violations]


def only(violations: list[LimitViolation], rule: str) -> LimitViolation:
    matching = [violation for violation in violations if violation.rule == rule]
    assert len(matching) == 1, violations
    return matching[0]


def media_for(network: Network) -> list[MediaFacts]:
    """Media a text-only check needs: Instagram cannot post without it."""
    return [jpeg()] if network is Network.INSTAGRAM else []


def test_every_network_has_a_label_and_limits() -> None:
    assert Network.X.label == "X"
    assert [network.label for network in Network] == [
        "Sandbox",
        "Mastodon",
        "Bluesky",
        "X",
        "Facebook",
        "Instagram",
        "Threads",
        "LinkedIn",
        "Telegram",
        "Discord",
    ]
    assert set(NETWORK_LIMITS) == set(Network)
    assert all(NETWORK_LIMITS[network].network is network for network in Network)


# --- Text -------------------------------------------------------------------------------------

TEXT_LIMITS = [
    (Network.SANDBOX, 500),
    (Network.MASTODON, 500),
    (Network.BLUESKY, 300),
    (Network.X, 280),
    (Network.FACEBOOK, 63_206),
    (Network.INSTAGRAM, 2_200),
    (Network.THREADS, 500),
    (Network.LINKEDIN, 3_000),
    (Network.TELEGRAM, 4_096),
    (Network.DISCORD, 2_000),
]


@pytest.mark.parametrize(("network", "limit"), TEXT_LIMITS)
def test_text_length_limit(network: Network, limit: int) -> None:
    assert check(network, "a" * limit, media_for(network)) == []
    assert text_length(network, "a" * limit).remaining == 0

    violations = check(network, "a" * (limit + 1), media_for(network))
    assert violations == [
        LimitViolation(
            "text_too_long",
            f"{network.label} counts this text as {limit + 1} characters; the limit is {limit}.",
            limit,
            limit + 1,
        )
    ]
    counter = text_length(network, "a" * (limit + 1))
    assert (counter.count, counter.limit, counter.remaining, counter.is_over) == (
        limit + 1,
        limit,
        -1,
        True,
    )


def test_x_message_uses_the_weighted_count() -> None:
    text = "日本" * 72 + "a" * 3  # 144 CJK characters weigh 288, plus 3
    assert [violation.message for violation in check(Network.X, text, [])] == [
        "X counts this text as 291 characters; the limit is 280."
    ]
    assert check(Network.X, "日本" * 70, []) == []  # 280 exactly
    assert text_length(Network.X, "see https://example.com/" + "a" * 300).count == 27


def test_bluesky_limits_utf8_bytes_as_well_as_graphemes() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 25 bytes
    assert check(Network.BLUESKY, family * 120, []) == []  # 3,000 bytes, 120 graphemes
    assert check(Network.BLUESKY, family * 121, []) == [
        LimitViolation(
            "text_too_many_bytes",
            "Bluesky allows at most 3000 bytes of text; this text takes 3025 (emoji and "
            "non-Latin scripts take several bytes each).",
            3000,
            3025,
        )
    ]
    # 300 graphemes, each two code points: fine for graphemes, 600 bytes.
    assert check(Network.BLUESKY, "e\u0301" * 300, []) == []
    assert rules(check(Network.BLUESKY, "e\u0301" * 301, [])) == ["text_too_long"]


def test_telegram_caption_is_shorter_than_a_text() -> None:
    assert check(Network.TELEGRAM, "a" * 1_024, [jpeg()]) == []
    assert check(Network.TELEGRAM, "a" * 1_025, [jpeg()]) == [
        LimitViolation(
            "text_too_long",
            "Telegram allows 1024 characters of caption next to media; this text has 1025. "
            "Shorten it, or send the text as a separate message.",
            1_024,
            1_025,
        )
    ]
    assert check(Network.TELEGRAM, "a" * 4_096, []) == []
    assert text_length(Network.TELEGRAM, "a" * 2_000, with_media=True).limit == 1_024
    assert text_length(Network.TELEGRAM, "a" * 2_000).limit == 4_096


def test_instagram_hashtag_limit() -> None:
    tags = " ".join(f"#tag{number}" for number in range(31))
    assert check(Network.INSTAGRAM, tags.rsplit(" ", 1)[0], [jpeg()]) == []  # 30
    assert check(Network.INSTAGRAM, tags, [jpeg()]) == [
        LimitViolation(
            "too_many_hashtags",
            "Instagram allows at most 30 hashtags in a post; this text has 31.",
            30,
            31,
        )
    ]


def test_instagram_mention_limit() -> None:
    mentions = " ".join(f"@user{number}" for number in range(21))
    assert check(Network.INSTAGRAM, mentions.rsplit(" ", 1)[0], [jpeg()]) == []  # 20
    assert rules(check(Network.INSTAGRAM, mentions, [jpeg()])) == ["too_many_mentions"]


def test_threads_link_limit_counts_distinct_links() -> None:
    links = " ".join(f"https://example.com/{number}" for number in range(6))
    assert check(Network.THREADS, links.rsplit(" ", 1)[0], []) == []  # 5
    assert check(Network.THREADS, links.rsplit(" ", 1)[0] + " example.com/0", []) == []
    assert only(check(Network.THREADS, links, []), "too_many_links").actual == 6


@pytest.mark.parametrize(
    "network", [network for network in Network if network is not Network.INSTAGRAM]
)
def test_an_empty_post_needs_text_or_media(network: Network) -> None:
    assert check(network, " \n", []) == [
        LimitViolation(
            "text_required",
            f"{network.label} needs text or at least one image or video in a post.",
        )
    ]
    assert check(network, "", [jpeg(width=1_000, height=1_000)]) == []


def test_instagram_needs_media() -> None:
    assert check(Network.INSTAGRAM, "Hello", []) == [
        LimitViolation("media_required", "Instagram posts need at least one image or video.")
    ]
    assert rules(check(Network.INSTAGRAM, "", [])) == ["media_required"]
    assert check(Network.INSTAGRAM, "", [jpeg()]) == []


# --- Number and mix of attachments ------------------------------------------------------------

MEDIA_COUNT_LIMITS = [
    (Network.SANDBOX, 4),
    (Network.MASTODON, 4),
    (Network.BLUESKY, 4),
    (Network.X, 4),
    (Network.FACEBOOK, 10),
    (Network.INSTAGRAM, 10),
    (Network.THREADS, 20),
    (Network.LINKEDIN, 20),
    (Network.TELEGRAM, 10),
    (Network.DISCORD, 10),
]


@pytest.mark.parametrize(("network", "limit"), MEDIA_COUNT_LIMITS)
def test_media_count_limit(network: Network, limit: int) -> None:
    assert check(network, "Photos", [jpeg()] * limit) == []
    assert check(network, "Photos", [jpeg()] * (limit + 1)) == [
        LimitViolation(
            "too_many_media",
            f"{network.label} allows at most {limit} attachments in a post; this post has "
            f"{limit + 1}.",
            limit,
            limit + 1,
        )
    ]


@pytest.mark.parametrize(
    "network", [Network.MASTODON, Network.BLUESKY, Network.X, Network.FACEBOOK, Network.LINKEDIN]
)
def test_networks_that_take_one_video_alone(network: Network) -> None:
    assert check(network, "Clip", [mp4()]) == []
    assert rules(check(network, "Clips", [mp4(), mp4()])) == ["too_many_videos"]
    assert only(check(network, "Mixed", [jpeg(), mp4()]), "mixed_media").message == (
        f"{network.label} cannot mix images and videos in one post; remove the images or the "
        f"video, or post them separately."
    )


@pytest.mark.parametrize(
    "network",
    [Network.SANDBOX, Network.INSTAGRAM, Network.THREADS, Network.TELEGRAM, Network.DISCORD],
)
def test_networks_that_mix_images_and_videos(network: Network) -> None:
    assert check(network, "Mixed", [jpeg(), mp4(), mp4()]) == []


def test_discord_limits_the_total_upload() -> None:
    assert check(Network.DISCORD, "Files", [jpeg(5 * MB), jpeg(5 * MB)]) == []
    assert check(Network.DISCORD, "Files", [jpeg(5 * MB), jpeg(5 * MB), jpeg(1_200_000)]) == [
        LimitViolation(
            "media_total_too_large",
            "Discord allows 10.0 MB of attachments per post; these add up to 11.2 MB.",
            10 * MB,
            11_200_000,
        )
    ]


# --- Types ------------------------------------------------------------------------------------


def test_instagram_takes_only_jpeg_images() -> None:
    png = MediaFacts("image/png", 1_000, 1_000, 1_000)
    assert check(Network.INSTAGRAM, "", [jpeg(), png]) == [
        LimitViolation(
            "media_type_not_allowed",
            "Instagram does not accept image/png (image 2); it accepts image/jpeg, video/mp4, "
            "video/quicktime.",
            media_index=1,
        )
    ]


@pytest.mark.parametrize("network", list(Network))
def test_no_network_takes_a_pdf(network: Network) -> None:
    pdf = MediaFacts("application/pdf", 1_000)
    assert pdf.kind is MediaKind.OTHER
    assert rules(check(network, "Doc", [pdf])) == ["media_type_not_allowed"]


def test_media_types_are_normalised() -> None:
    assert check(Network.X, "", [MediaFacts("IMAGE/JPG; charset=binary", 1_000, 10, 10)]) == []
    assert rules(check(Network.BLUESKY, "", [MediaFacts("video/quicktime", 1_000)])) == [
        "media_type_not_allowed"
    ]
    assert rules(check(Network.TELEGRAM, "", [MediaFacts("image/gif", 1_000)])) == [
        "media_type_not_allowed"
    ]


# --- Sizes ------------------------------------------------------------------------------------

IMAGE_BYTE_LIMITS = [
    (Network.SANDBOX, 10 * MB),
    (Network.MASTODON, 16 * MIB),
    (Network.BLUESKY, 1_000_000),
    (Network.X, 5 * MIB),
    (Network.FACEBOOK, 10 * MB),
    (Network.INSTAGRAM, 8 * MB),
    (Network.THREADS, 8 * MB),
    (Network.LINKEDIN, 5 * MB),
    (Network.TELEGRAM, 10 * MB),
    (Network.DISCORD, 10 * MB),
]


@pytest.mark.parametrize(("network", "limit"), IMAGE_BYTE_LIMITS)
def test_image_size_limit(network: Network, limit: int) -> None:
    assert check(network, "", [jpeg(limit)]) == []
    violation = only(check(network, "", [jpeg(limit + 1)]), "image_too_large")
    assert (violation.limit, violation.actual, violation.media_index) == (limit, limit + 1, 0)


def test_image_size_message_names_the_numbers() -> None:
    assert check(Network.BLUESKY, "", [jpeg(), jpeg(1_450_000)]) == [
        LimitViolation(
            "image_too_large",
            "Bluesky allows images up to 1.0 MB; image 2 is 1.4 MB.",
            1_000_000,
            1_450_000,
            1,
        )
    ]
    assert check(Network.BLUESKY, "", [jpeg(1_000_001)])[0].message == (
        "Bluesky allows images up to 1,000,000 bytes; image 1 is 1,000,001 bytes."
    )


def test_x_allows_larger_gifs_than_other_images() -> None:
    gif = MediaFacts("image/gif", 15 * MIB, 500, 500)
    assert check(Network.X, "", [gif]) == []
    assert rules(check(Network.X, "", [MediaFacts("image/gif", 15 * MIB + 1, 500, 500)])) == [
        "image_too_large"
    ]
    assert rules(check(Network.X, "", [jpeg(5 * MIB + 1)])) == ["image_too_large"]


def test_linkedin_limits_image_pixels() -> None:
    assert check(Network.LINKEDIN, "", [jpeg(width=5_120, height=7_061)]) == []  # 36,152,320
    assert check(Network.LINKEDIN, "", [jpeg(width=5_120, height=7_062)]) == [
        LimitViolation(
            "image_too_many_pixels",
            "LinkedIn allows images of up to 36,152,320 pixels; image 1 is 5120 x 7062 "
            "(36,157,440 pixels). Scale it down.",
            36_152_320,
            36_157_440,
            0,
        )
    ]


VIDEO_BYTE_LIMITS = [
    (Network.SANDBOX, 100 * MB),
    (Network.MASTODON, 99 * MIB),
    (Network.BLUESKY, 100 * MB),
    (Network.X, 512 * MIB),
    (Network.FACEBOOK, 10 * GB),
    (Network.INSTAGRAM, 300 * MB),
    (Network.THREADS, 1 * GB),
    (Network.LINKEDIN, 500 * MB),
    (Network.TELEGRAM, 50 * MB),
    (Network.DISCORD, 10 * MB),
]


@pytest.mark.parametrize(("network", "limit"), VIDEO_BYTE_LIMITS)
def test_video_size_limit(network: Network, limit: int) -> None:
    assert check(network, "", [mp4(limit)]) == []
    violation = only(check(network, "", [mp4(limit + 1)]), "video_too_large")
    assert (violation.limit, violation.actual) == (limit, limit + 1)


# --- Durations and aspect ratios --------------------------------------------------------------

VIDEO_SECOND_LIMITS = [
    (Network.SANDBOX, 600),
    (Network.BLUESKY, 180),
    (Network.X, 1_200),
    (Network.FACEBOOK, 14_400),
    (Network.INSTAGRAM, 900),
    (Network.THREADS, 300),
    (Network.LINKEDIN, 1_800),
]


@pytest.mark.parametrize(("network", "limit"), VIDEO_SECOND_LIMITS)
def test_video_duration_limit(network: Network, limit: int) -> None:
    assert check(network, "", [mp4(duration_seconds=limit)]) == []
    violation = only(check(network, "", [mp4(duration_seconds=limit + 0.5)]), "video_too_long")
    assert (violation.limit, violation.actual) == (limit, limit + 0.5)


def test_video_duration_messages() -> None:
    assert check(Network.BLUESKY, "", [mp4(duration_seconds=200)])[0].message == (
        "Bluesky allows videos up to 3 minutes; video 1 lasts 3 min 20 s."
    )
    assert check(Network.X, "", [jpeg(), mp4(duration_seconds=0.25)])[1:] == [
        LimitViolation(
            "video_too_short",
            "X needs videos of at least 0.5 seconds; video 2 lasts 0.25 seconds.",
            0.5,
            0.25,
            1,
        )
    ]


@pytest.mark.parametrize("network", [Network.MASTODON, Network.TELEGRAM, Network.DISCORD])
def test_networks_without_a_duration_limit(network: Network) -> None:
    assert check(network, "", [mp4(duration_seconds=10 * 3600)]) == []


@pytest.mark.parametrize(
    ("network", "minimum"), [(Network.X, 0.5), (Network.INSTAGRAM, 3), (Network.LINKEDIN, 3)]
)
def test_video_minimum_duration(network: Network, minimum: float) -> None:
    assert check(network, "", [mp4(duration_seconds=minimum)]) == []
    assert rules(check(network, "", [mp4(duration_seconds=minimum - 0.1)])) == ["video_too_short"]


def test_long_text_is_checked_in_linear_time() -> None:
    # "a.a.a..." looks like an endless host without a TLD: a regex that backtracks through it
    # from every dot takes quadratic time, which a 300,000-character body would turn into
    # seconds of CPU per request.
    started = time.perf_counter()
    assert rules(check(Network.X, "a." * 150_000, [])) == ["text_too_long"]
    assert rules(check(Network.MASTODON, "http://" + "a." * 150_000, [])) == ["text_too_long"]
    assert time.perf_counter() - started < 5


def test_unknown_duration_and_dimensions_are_not_guessed() -> None:
    assert check(Network.X, "", [MediaFacts("video/mp4", 1_000)]) == []


ASPECT_RATIO_CASES = [
    # (network, media kind, fits (width, height), does not fit (width, height))
    (Network.INSTAGRAM, "image", (1_080, 1_350), (1_080, 1_351)),  # 4:5
    (Network.INSTAGRAM, "image", (1_910, 1_000), (1_911, 1_000)),  # 1.91:1
    (Network.THREADS, "image", (100, 1_000), (100, 1_001)),  # 1:10
    (Network.THREADS, "image", (1_000, 100), (1_001, 100)),  # 10:1
    (Network.TELEGRAM, "image", (50, 1_000), (49, 1_000)),  # 1:20
    (Network.TELEGRAM, "image", (1_000, 50), (1_001, 50)),  # 20:1
    (Network.X, "video", (1_000, 3_000), (1_000, 3_001)),  # 1:3
    (Network.X, "video", (3_000, 1_000), (3_001, 1_000)),  # 3:1
    (Network.LINKEDIN, "video", (1_000, 2_400), (1_000, 2_401)),  # 1:2.4
    (Network.LINKEDIN, "video", (2_400, 1_000), (2_401, 1_000)),  # 2.4:1
    (Network.INSTAGRAM, "video", (1, 100), (1, 101)),  # 0.01:1
    (Network.INSTAGRAM, "video", (1_000, 100), (1_001, 100)),  # 10:1
    (Network.THREADS, "video", (1, 100), (1, 101)),
]


@pytest.mark.parametrize(("network", "kind", "fits", "does_not_fit"), ASPECT_RATIO_CASES)
def test_aspect_ratio_limit(
    network: Network, kind: str, fits: tuple[int, int], does_not_fit: tuple[int, int]
) -> None:
    def item(width: int, height: int) -> MediaFacts:
        return (
            jpeg(width=width, height=height) if kind == "image" else mp4(width=width, height=height)
        )

    assert check(network, "", [item(*fits)]) == []
    violation = only(check(network, "", [item(*does_not_fit)]), "aspect_ratio")
    assert violation.actual == round(does_not_fit[0] / does_not_fit[1], 4)


def test_aspect_ratio_message() -> None:
    assert check(Network.INSTAGRAM, "", [jpeg(width=1_080, height=1_920)]) == [
        LimitViolation(
            "aspect_ratio",
            "Instagram needs images with an aspect ratio between 4:5 and 1.91:1; image 1 is "
            "1080 x 1920 (0.56:1). Crop it to fit.",
            0.8,
            0.5625,
            0,
        )
    ]


# --- Account-level overrides ------------------------------------------------------------------


def test_mastodon_instance_overrides() -> None:
    instance = {"max_characters": 1_000, "max_media_attachments": 8}
    assert check(Network.MASTODON, "a" * 1_000, [], overrides=instance) == []
    assert check(Network.MASTODON, "a" * 1_001, [], overrides=instance) == [
        LimitViolation(
            "text_too_long",
            "Mastodon counts this text as 1001 characters; the limit is 1000.",
            1_000,
            1_001,
        )
    ]
    assert check(Network.MASTODON, "", [jpeg()] * 8, overrides=instance) == []
    assert rules(check(Network.MASTODON, "", [jpeg()] * 9, overrides=instance)) == [
        "too_many_media"
    ]
    assert limits_for(Network.MASTODON, instance).max_text_length == 1_000
    assert limits_for(Network.MASTODON).max_text_length == 500  # the table is unchanged


def test_mastodon_characters_per_url_override() -> None:
    text = "Read https://example.com/" + "x" * 100
    assert text_length(Network.MASTODON, text).count == 28
    assert text_length(Network.MASTODON, text, {"characters_reserved_per_url": 30}).count == 35
    assert text_length(Network.MASTODON, text, {"characters_per_url": 10}).count == 15


def test_override_keys_are_checked() -> None:
    assert "max_characters" in OVERRIDE_KEYS
    with pytest.raises(ValueError, match="Unknown limit 'max_chars'"):
        limits_for(Network.MASTODON, {"max_chars": 1_000})
    with pytest.raises(ValueError, match="positive integer"):
        limits_for(Network.MASTODON, {"max_characters": 0})
    with pytest.raises(ValueError, match="positive integer"):
        limits_for(Network.MASTODON, {"max_characters": True})
    with pytest.raises(ValueError, match="Mastodon has no 'max_hashtags' limit"):
        limits_for(Network.MASTODON, {"max_hashtags": 10})
