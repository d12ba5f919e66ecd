"""What each network accepts in one post, and a checker that explains what a draft breaks.

`NETWORK_LIMITS` is the one table of limits; `limits_for` applies an account's own values (a
Mastodon instance's configuration); `check` lists every limit a draft breaks with a sentence a
person can act on; `text_length` feeds the composer's live counter.

The figures come from the shared NETWORKS.md where it has them, otherwise from the network's
documentation (each is noted where it is set). Sizes are exact bytes: MiB (1,048,576) where the
network's own software uses binary megabytes, decimal MB where it is documented only as "N MB".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType

from postwizard.platforms.networks import Network
from postwizard.platforms.text_length import (
    DEFAULT_CHARACTERS_PER_URL,
    CountingRule,
    counting_rule,
    distinct_link_count,
    hashtag_count,
    measure,
    mention_count,
    utf8_byte_count,
)

MB = 1_000_000
MIB = 1_048_576
GB = 1_000 * MB


class MediaKind(StrEnum):
    """What a network does with an attachment, judged from its MIME type."""

    IMAGE = "image"
    VIDEO = "video"
    OTHER = "other"


# Browsers and older tools still send these non-standard names.
_MIME_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "video/mov": "video/quicktime",
}


def normalize_mime_type(mime_type: str) -> str:
    """`mime_type` lower-cased, without parameters, with common aliases ("image/jpg") mapped to
    their registered names."""
    essence = mime_type.split(";", 1)[0].strip().lower()
    return _MIME_ALIASES.get(essence, essence)


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the checker needs to know about one attachment; width, height and duration are
    None when they are not known (yet), and the checks that need them are then skipped."""

    mime_type: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None

    @property
    def kind(self) -> MediaKind:
        """Whether the attachment is an image, a video or something else."""
        major = normalize_mime_type(self.mime_type).split("/", 1)[0]
        if major == "image":
            return MediaKind.IMAGE
        if major == "video":
            return MediaKind.VIDEO
        return MediaKind.OTHER


@dataclass(frozen=True, slots=True)
class AspectRatioRange:
    """The allowed range of width / height, e.g. 4:5 (0.8) to 1.91:1 for Instagram images."""

    minimum: float
    maximum: float
    description: str

    def contains(self, width: int, height: int) -> bool:
        """Whether a `width` x `height` picture is within the range (both ends included)."""
        ratio = width / height
        # A 1080 x 1350 picture is exactly 4:5; don't reject it for a rounding error.
        tolerance = 1e-9
        return self.minimum - tolerance <= ratio <= self.maximum + tolerance


@dataclass(frozen=True, slots=True)
class NetworkLimits:
    """Everything a network limits in one post. None means the network sets no such limit
    (or none that it documents)."""

    network: Network
    max_text_length: int
    max_media_items: int
    max_videos: int
    image_types: frozenset[str]
    max_image_bytes: int
    video_types: frozenset[str]
    max_video_bytes: int
    mixed_media_allowed: bool
    characters_per_url: int | None = None
    max_text_bytes: int | None = None
    max_caption_length: int | None = None
    max_gif_bytes: int | None = None
    max_image_pixels: int | None = None
    image_aspect_ratio: AspectRatioRange | None = None
    min_video_seconds: float | None = None
    max_video_seconds: int | None = None
    video_aspect_ratio: AspectRatioRange | None = None
    max_total_media_bytes: int | None = None
    max_hashtags: int | None = None
    max_mentions: int | None = None
    max_links: int | None = None
    requires_media: bool = False

    @property
    def counting(self) -> CountingRule:
        """How this network counts the characters of the text."""
        return counting_rule(self.network)

    def text_limit(self, *, with_media: bool) -> int:
        """The maximum text length; some networks allow less text next to media (Telegram's
        caption)."""
        if with_media and self.max_caption_length is not None:
            return self.max_caption_length
        return self.max_text_length


_COMMON_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_MP4_AND_MOV = frozenset({"video/mp4", "video/quicktime"})

NETWORK_LIMITS: Mapping[Network, NetworkLimits] = MappingProxyType(
    {
        # PostWizard's own test network: generous, but with every kind of limit so that the
        # whole path can be exercised without a real account.
        Network.SANDBOX: NetworkLimits(
            network=Network.SANDBOX,
            max_text_length=500,
            max_media_items=4,
            max_videos=4,
            image_types=_COMMON_IMAGE_TYPES,
            max_image_bytes=10 * MB,
            video_types=frozenset({"video/mp4", "video/quicktime", "video/webm"}),
            max_video_bytes=100 * MB,
            max_video_seconds=600,
            mixed_media_allowed=True,
        ),
        # Defaults of a Mastodon 4 instance (GET /api/v2/instance, configuration.statuses and
        # configuration.media_attachments); the instance's own values come in as overrides.
        # MediaAttachment::IMAGE_LIMIT = 16.megabytes, VIDEO_LIMIT = 99.megabytes. A video must
        # be the post's only attachment (PostStatusService: "images_and_video").
        Network.MASTODON: NetworkLimits(
            network=Network.MASTODON,
            max_text_length=500,
            characters_per_url=DEFAULT_CHARACTERS_PER_URL,
            max_media_items=4,
            max_videos=1,
            image_types=_COMMON_IMAGE_TYPES | frozenset({"image/heic", "image/heif", "image/avif"}),
            max_image_bytes=16 * MIB,
            video_types=frozenset({"video/mp4", "video/quicktime", "video/webm"}),
            max_video_bytes=99 * MIB,
            mixed_media_allowed=False,
        ),
        # app.bsky.feed.post: text maxGraphemes 300, maxLength 3000 (bytes). Images:
        # app.bsky.embed.images, at most 4 blobs of image/* up to 1,000,000 bytes each. Video:
        # app.bsky.embed.video, video/mp4 up to 100,000,000 bytes; 3 minutes since March 2025
        # (Bluesky's announcement). A post embeds either images or one video.
        Network.BLUESKY: NetworkLimits(
            network=Network.BLUESKY,
            max_text_length=300,
            max_text_bytes=3000,
            max_media_items=4,
            max_videos=1,
            image_types=_COMMON_IMAGE_TYPES,
            max_image_bytes=1_000_000,
            video_types=frozenset({"video/mp4"}),
            max_video_bytes=100 * MB,
            max_video_seconds=180,
            mixed_media_allowed=False,
        ),
        # NETWORKS.md: 280 weighted, links 23, image 5 MB, GIF 15 MB, video 512 MB, at most 4.
        # The API's own error is "File size exceeds 5242880 bytes": binary megabytes. X's media
        # best practices: 4 photos, 1 animated GIF or 1 video per post; video 0.5 s to 20 min
        # for accounts without Premium, aspect ratio 1:3 to 3:1; images JPG, PNG, GIF, WEBP.
        # (Those docs now allow 8 GB of video; we keep NETWORKS.md's 512 MB.) Whether a GIF is
        # animated is not in MediaFacts, so GIFs are checked as images.
        Network.X: NetworkLimits(
            network=Network.X,
            max_text_length=280,
            characters_per_url=DEFAULT_CHARACTERS_PER_URL,
            max_media_items=4,
            max_videos=1,
            image_types=_COMMON_IMAGE_TYPES,
            max_image_bytes=5 * MIB,
            max_gif_bytes=15 * MIB,
            video_types=_MP4_AND_MOV,
            max_video_bytes=512 * MIB,
            min_video_seconds=0.5,
            max_video_seconds=20 * 60,
            video_aspect_ratio=AspectRatioRange(1 / 3, 3.0, "1:3 and 3:1"),
            mixed_media_allowed=False,
        ),
        # NETWORKS.md: 63,206 characters. Meta's Graph API reference does not state photo limits
        # in what we could read; 10 MB and 10 photos per post are what Late's and Ayrshare's
        # Facebook media guidelines enforce. Video: Meta's resumable video upload takes up to
        # 10 GB and 240 minutes. A feed post carries either photos or one video.
        Network.FACEBOOK: NetworkLimits(
            network=Network.FACEBOOK,
            max_text_length=63_206,
            max_media_items=10,
            max_videos=1,
            image_types=frozenset(
                {"image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff", "image/webp"}
            ),
            max_image_bytes=10 * MB,
            video_types=_MP4_AND_MOV,
            max_video_bytes=10 * GB,
            max_video_seconds=240 * 60,
            mixed_media_allowed=False,
        ),
        # NETWORKS.md: caption 2,200 characters, at most 30 hashtags, carousel at most 10 items.
        # Instagram Graph API, IG User Media: caption also at most 20 @-tags; images JPEG only,
        # up to 8 MB, aspect ratio 4:5 to 1.91:1; videos post as Reels: MP4/MOV up to 300 MB,
        # 3 s to 15 min, aspect ratio 0.01:1 to 10:1. A carousel may mix images and videos.
        # Instagram cannot publish a post without media.
        Network.INSTAGRAM: NetworkLimits(
            network=Network.INSTAGRAM,
            max_text_length=2_200,
            max_media_items=10,
            max_videos=10,
            image_types=frozenset({"image/jpeg"}),
            max_image_bytes=8 * MB,
            image_aspect_ratio=AspectRatioRange(4 / 5, 1.91, "4:5 and 1.91:1"),
            video_types=_MP4_AND_MOV,
            max_video_bytes=300 * MB,
            min_video_seconds=3,
            max_video_seconds=15 * 60,
            video_aspect_ratio=AspectRatioRange(0.01, 10.0, "0.01:1 and 10:1"),
            mixed_media_allowed=True,
            max_hashtags=30,
            max_mentions=20,
            requires_media=True,
        ),
        # NETWORKS.md: 500. Threads API, "Posts": emoji count as their UTF-8 bytes; at most 5
        # links (THREADS_API__LINK_LIMIT_EXCEEDED since 22 December 2025). Media specifications:
        # images JPEG/PNG up to 8 MB, aspect ratio at most 10:1; videos MOV/MP4 up to 1 GB and
        # 5 minutes, aspect ratio 0.01:1 to 10:1; carousels of up to 20 items, mixed.
        Network.THREADS: NetworkLimits(
            network=Network.THREADS,
            max_text_length=500,
            max_media_items=20,
            max_videos=20,
            image_types=frozenset({"image/jpeg", "image/png"}),
            max_image_bytes=8 * MB,
            image_aspect_ratio=AspectRatioRange(1 / 10, 10.0, "1:10 and 10:1"),
            video_types=_MP4_AND_MOV,
            max_video_bytes=1 * GB,
            max_video_seconds=5 * 60,
            video_aspect_ratio=AspectRatioRange(0.01, 10.0, "0.01:1 and 10:1"),
            mixed_media_allowed=True,
            max_links=5,
        ),
        # NETWORKS.md: 3,000. LinkedIn Images API: JPG, PNG, GIF, fewer than 36,152,320 pixels
        # (no byte limit documented; 5 MB is Ayrshare's); MultiImage posts take up to 20
        # images. Videos API: MP4, 75 KB to 500 MB, 3 s to 30 min, aspect ratio 1:2.4 to 2.4:1.
        # A post carries one kind of content: images or one video.
        Network.LINKEDIN: NetworkLimits(
            network=Network.LINKEDIN,
            max_text_length=3_000,
            max_media_items=20,
            max_videos=1,
            image_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
            max_image_bytes=5 * MB,
            max_image_pixels=36_152_320,
            video_types=frozenset({"video/mp4"}),
            max_video_bytes=500 * MB,
            min_video_seconds=3,
            max_video_seconds=30 * 60,
            video_aspect_ratio=AspectRatioRange(1 / 2.4, 2.4, "1:2.4 and 2.4:1"),
            mixed_media_allowed=False,
        ),
        # NETWORKS.md: 4,096 characters of text, 1,024 of caption; photo 10 MB, files 50 MB.
        # Bot API: sendMediaGroup sends 2-10 photos and videos together; a photo's width and
        # height ratio must be at most 20; sendVideo takes MPEG-4.
        Network.TELEGRAM: NetworkLimits(
            network=Network.TELEGRAM,
            max_text_length=4_096,
            max_caption_length=1_024,
            max_media_items=10,
            max_videos=10,
            image_types=frozenset({"image/jpeg", "image/png", "image/webp"}),
            max_image_bytes=10 * MB,
            image_aspect_ratio=AspectRatioRange(1 / 20, 20.0, "1:20 and 20:1"),
            video_types=frozenset({"video/mp4"}),
            max_video_bytes=50 * MB,
            mixed_media_allowed=True,
        ),
        # NETWORKS.md: 2,000 characters. Discord's API reference: at most 10 attachments per
        # message; uploads are limited to 10 MB in total for servers without boosts.
        Network.DISCORD: NetworkLimits(
            network=Network.DISCORD,
            max_text_length=2_000,
            max_media_items=10,
            max_videos=10,
            image_types=_COMMON_IMAGE_TYPES,
            max_image_bytes=10 * MB,
            video_types=frozenset({"video/mp4", "video/quicktime", "video/webm"}),
            max_video_bytes=10 * MB,
            max_total_media_bytes=10 * MB,
            mixed_media_allowed=True,
        ),
    }
)


# --- Account-level overrides ------------------------------------------------------------------

_OVERRIDABLE_FIELDS = (
    "max_text_length",
    "max_text_bytes",
    "max_caption_length",
    "characters_per_url",
    "max_media_items",
    "max_videos",
    "max_image_bytes",
    "max_gif_bytes",
    "max_image_pixels",
    "max_video_bytes",
    "max_video_seconds",
    "max_total_media_bytes",
    "max_hashtags",
    "max_mentions",
    "max_links",
)
# The names a Mastodon instance uses in GET /api/v2/instance, so its configuration can be
# passed as it comes.
_OVERRIDE_ALIASES = {
    "max_characters": "max_text_length",
    "max_media_attachments": "max_media_items",
    "characters_reserved_per_url": "characters_per_url",
    "image_size_limit": "max_image_bytes",
    "video_size_limit": "max_video_bytes",
}
OVERRIDE_KEYS = frozenset(_OVERRIDABLE_FIELDS) | frozenset(_OVERRIDE_ALIASES)
"""The keys `limits_for` accepts in `overrides`."""


def limits_for(network: Network, overrides: Mapping[str, int] | None = None) -> NetworkLimits:
    """The limits of `network`, with an account's own values applied.

    `overrides` maps a field of `NetworkLimits` (or a Mastodon instance configuration name such
    as "max_characters", "max_media_attachments" or "characters_reserved_per_url") to a positive
    integer. Raises ValueError for an unknown key, a value that is not a positive integer, or a
    limit the network does not have (overriding it would silently do nothing).
    """
    limits = NETWORK_LIMITS[network]
    if not overrides:
        return limits
    changes: dict[str, int] = {}
    for key, value in overrides.items():
        field = _OVERRIDE_ALIASES.get(key, key)
        if field not in _OVERRIDABLE_FIELDS:
            raise ValueError(
                f"Unknown limit {key!r} for {network.label}; known limits: "
                f"{', '.join(sorted(OVERRIDE_KEYS))}."
            )
        # bool is an int subclass; True as a limit is a bug at the caller.
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"The limit {key!r} must be a positive integer, not {value!r}.")
        if getattr(limits, field) is None:
            raise ValueError(f"{network.label} has no {field!r} limit to override.")
        changes[field] = value
    # Every key was checked against _OVERRIDABLE_FIELDS, all of them int fields; mypy cannot see
    # that through a dict of keyword arguments.
    return replace(limits, **changes)  # type: ignore[arg-type]


# --- Checking a draft -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextLength:
    """The composer's counter: how long the text is and how long it may be."""

    count: int
    limit: int

    @property
    def remaining(self) -> int:
        """How many characters are left; negative when the text is too long."""
        return self.limit - self.count

    @property
    def is_over(self) -> bool:
        """Whether the text is longer than the limit."""
        return self.count > self.limit


def text_length(
    network: Network,
    text: str,
    overrides: Mapping[str, int] | None = None,
    *,
    with_media: bool = False,
) -> TextLength:
    """How long `text` is for `network` and how long it may be (with the account's
    `overrides`); `with_media` matters where a caption is shorter than a text (Telegram)."""
    limits = limits_for(network, overrides)
    return TextLength(count=_count(limits, text), limit=limits.text_limit(with_media=with_media))


def _count(limits: NetworkLimits, text: str) -> int:
    return measure(
        limits.counting,
        text,
        characters_per_url=limits.characters_per_url or DEFAULT_CHARACTERS_PER_URL,
    )


@dataclass(frozen=True, slots=True)
class LimitViolation:
    """One limit a draft breaks.

    `rule` is a stable code for programs ("text_too_long", "too_many_media",
    "media_type_not_allowed", "image_too_large", "video_too_long", "aspect_ratio", ...),
    `message` a sentence for people that names the network and the numbers, `limit` and
    `actual` the numbers compared (None where there are none, as for a media type), and
    `media_index` the 0-based position of the attachment concerned, if it is about one.
    """

    rule: str
    message: str
    limit: float | None = None
    actual: float | None = None
    media_index: int | None = None


def check(
    network: Network,
    text: str,
    media: Sequence[MediaFacts],
    *,
    overrides: Mapping[str, int] | None = None,
) -> list[LimitViolation]:
    """Every limit of `network` (with the account's `overrides`) that a post of `text` and
    `media` breaks; an empty list means the network should accept it."""
    limits = limits_for(network, overrides)
    violations = _check_text(limits, text, has_media=bool(media))
    violations += _check_media_set(limits, media)
    for index, item in enumerate(media):
        violations += _check_media_item(limits, index, item)
    return violations


def _check_text(limits: NetworkLimits, text: str, *, has_media: bool) -> list[LimitViolation]:
    name = limits.network.label
    violations: list[LimitViolation] = []
    if not text.strip() and not has_media:
        # A network that needs media says so in _check_media_set; text would not help.
        if limits.requires_media:
            return []
        return [
            LimitViolation(
                rule="text_required",
                message=f"{name} needs text or at least one image or video in a post.",
            )
        ]
    count = _count(limits, text)
    limit = limits.text_limit(with_media=has_media)
    if count > limit:
        if has_media and limits.max_caption_length is not None:
            message = (
                f"{name} allows {limit} characters of caption next to media; this text has "
                f"{count}. Shorten it, or send the text as a separate message."
            )
        else:
            message = f"{name} counts this text as {count} characters; the limit is {limit}."
        violations.append(LimitViolation("text_too_long", message, limit, count))
    if limits.max_text_bytes is not None:
        size = utf8_byte_count(text)
        if size > limits.max_text_bytes:
            violations.append(
                LimitViolation(
                    "text_too_many_bytes",
                    f"{name} allows at most {limits.max_text_bytes} bytes of text; this text "
                    f"takes {size} (emoji and non-Latin scripts take several bytes each).",
                    limits.max_text_bytes,
                    size,
                )
            )
    for rule, noun, limit_or_none, actual in (
        ("too_many_hashtags", "hashtags", limits.max_hashtags, hashtag_count),
        ("too_many_mentions", "@mentions", limits.max_mentions, mention_count),
        ("too_many_links", "different links", limits.max_links, distinct_link_count),
    ):
        if limit_or_none is None:
            continue
        found = actual(text)
        if found > limit_or_none:
            violations.append(
                LimitViolation(
                    rule,
                    f"{name} allows at most {limit_or_none} {noun} in a post; this text has "
                    f"{found}.",
                    limit_or_none,
                    found,
                )
            )
    return violations


def _check_media_set(limits: NetworkLimits, media: Sequence[MediaFacts]) -> list[LimitViolation]:
    name = limits.network.label
    violations: list[LimitViolation] = []
    if limits.requires_media and not media:
        violations.append(
            LimitViolation("media_required", f"{name} posts need at least one image or video.")
        )
    if len(media) > limits.max_media_items:
        violations.append(
            LimitViolation(
                "too_many_media",
                f"{name} allows at most {limits.max_media_items} attachments in a post; this "
                f"post has {len(media)}.",
                limits.max_media_items,
                len(media),
            )
        )
    videos = sum(1 for item in media if item.kind is MediaKind.VIDEO)
    images = sum(1 for item in media if item.kind is MediaKind.IMAGE)
    if videos and images and not limits.mixed_media_allowed:
        violations.append(
            LimitViolation(
                "mixed_media",
                f"{name} cannot mix images and videos in one post; remove the images or the "
                f"video, or post them separately.",
            )
        )
    if videos > limits.max_videos:
        violations.append(
            LimitViolation(
                "too_many_videos",
                f"{name} allows at most {limits.max_videos} video{_plural(limits.max_videos)} "
                f"in a post; this post has {videos}.",
                limits.max_videos,
                videos,
            )
        )
    if limits.max_total_media_bytes is not None:
        total = sum(item.size_bytes for item in media)
        if total > limits.max_total_media_bytes:
            limit_text, total_text = _sizes(limits.max_total_media_bytes, total)
            violations.append(
                LimitViolation(
                    "media_total_too_large",
                    f"{name} allows {limit_text} of attachments per post; these add up to "
                    f"{total_text}.",
                    limits.max_total_media_bytes,
                    total,
                )
            )
    return violations


def _check_media_item(limits: NetworkLimits, index: int, item: MediaFacts) -> list[LimitViolation]:
    name = limits.network.label
    mime_type = normalize_mime_type(item.mime_type)
    kind = item.kind
    what = f"{kind.value if kind is not MediaKind.OTHER else 'attachment'} {index + 1}"
    allowed = limits.image_types if kind is MediaKind.IMAGE else limits.video_types
    if kind is MediaKind.OTHER or mime_type not in allowed:
        accepted = ", ".join(sorted(limits.image_types | limits.video_types))
        return [
            LimitViolation(
                "media_type_not_allowed",
                f"{name} does not accept {mime_type} ({what}); it accepts {accepted}.",
                media_index=index,
            )
        ]
    violations: list[LimitViolation] = []
    if kind is MediaKind.IMAGE:
        max_bytes = limits.max_image_bytes
        if mime_type == "image/gif" and limits.max_gif_bytes is not None:
            max_bytes = limits.max_gif_bytes
        rule, aspect_ratio = "image_too_large", limits.image_aspect_ratio
    else:
        max_bytes = limits.max_video_bytes
        rule, aspect_ratio = "video_too_large", limits.video_aspect_ratio
    if item.size_bytes > max_bytes:
        limit_text, size_text = _sizes(max_bytes, item.size_bytes)
        violations.append(
            LimitViolation(
                rule,
                f"{name} allows {kind.value}s up to {limit_text}; {what} is {size_text}.",
                max_bytes,
                item.size_bytes,
                index,
            )
        )
    if item.width is not None and item.height is not None and item.width > 0 and item.height > 0:
        pixels = item.width * item.height
        if (
            kind is MediaKind.IMAGE
            and limits.max_image_pixels is not None
            and pixels > limits.max_image_pixels
        ):
            violations.append(
                LimitViolation(
                    "image_too_many_pixels",
                    f"{name} allows images of up to {limits.max_image_pixels:,} pixels; "
                    f"{what} is {item.width} x {item.height} ({pixels:,} pixels). "
                    f"Scale it down.",
                    limits.max_image_pixels,
                    pixels,
                    index,
                )
            )
        if aspect_ratio is not None and not aspect_ratio.contains(item.width, item.height):
            ratio = item.width / item.height
            bound = aspect_ratio.minimum if ratio < aspect_ratio.minimum else aspect_ratio.maximum
            violations.append(
                LimitViolation(
                    "aspect_ratio",
                    f"{name} needs {kind.value}s with an aspect ratio between "
                    f"{aspect_ratio.description}; {what} is {item.width} x {item.height} "
                    f"({ratio:.2f}:1). Crop it to fit.",
                    bound,
                    round(ratio, 4),
                    index,
                )
            )
    if kind is MediaKind.VIDEO and item.duration_seconds is not None:
        seconds = item.duration_seconds
        if limits.max_video_seconds is not None and seconds > limits.max_video_seconds:
            violations.append(
                LimitViolation(
                    "video_too_long",
                    f"{name} allows videos up to {_duration(limits.max_video_seconds)}; {what} "
                    f"lasts {_duration(seconds)}.",
                    limits.max_video_seconds,
                    seconds,
                    index,
                )
            )
        if limits.min_video_seconds is not None and seconds < limits.min_video_seconds:
            violations.append(
                LimitViolation(
                    "video_too_short",
                    f"{name} needs videos of at least {_duration(limits.min_video_seconds)}; "
                    f"{what} lasts {_duration(seconds)}.",
                    limits.min_video_seconds,
                    seconds,
                    index,
                )
            )
    return violations


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _sizes(limit: int, actual: int) -> tuple[str, str]:
    """Both sizes in MB with one decimal, or in exact bytes when that would make them look
    equal (1,000,000 vs 1,000,001 bytes)."""
    limit_text, actual_text = f"{limit / MB:.1f} MB", f"{actual / MB:.1f} MB"
    if limit_text == actual_text:
        return f"{limit:,} bytes", f"{actual:,} bytes"
    return limit_text, actual_text


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} seconds"
    minutes, rest = divmod(seconds, 60)
    if rest:
        return f"{int(minutes)} min {rest:g} s"
    return f"{int(minutes)} minute{_plural(int(minutes))}"
