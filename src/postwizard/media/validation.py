"""What an upload really is (from its bytes, never its name or Content-Type), and turning an
image into what we store: fully decoded, upright, without metadata, with a thumbnail.

Everything here that touches pixels is CPU-bound and synchronous; callers run it in a thread."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, ImageSequence

from postwizard.errors import PostWizardError
from postwizard.media.models import MediaKind

THUMBNAIL_SIZE = 400
THUMBNAIL_MIME = "image/webp"
THUMBNAIL_EXTENSION = "webp"
JPEG_QUALITY = 90
WEBP_QUALITY = 90
SNIFF_BYTES = 64  # enough for every signature below
# ISO base media brands that are MP4 (QuickTime `qt  ` and 3GP are not accepted).
MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V "}
    | {b"mmp4", b"dash", b"msnv", b"MSNV", b"f4v ", b"XAVC"}
)
ACCEPTED = "JPEG, PNG, WebP or GIF image, or an MP4 video"


@dataclass(frozen=True)
class Sniffed:
    kind: MediaKind
    mime_type: str
    extension: str
    pillow_format: str | None  # None for video


JPEG = Sniffed(MediaKind.IMAGE, "image/jpeg", "jpg", "JPEG")
PNG = Sniffed(MediaKind.IMAGE, "image/png", "png", "PNG")
GIF = Sniffed(MediaKind.IMAGE, "image/gif", "gif", "GIF")
WEBP = Sniffed(MediaKind.IMAGE, "image/webp", "webp", "WEBP")
MP4 = Sniffed(MediaKind.VIDEO, "video/mp4", "mp4", None)
ANIMATABLE = (GIF, PNG, WEBP)  # PNG: APNG


class UnsupportedMedia(PostWizardError):
    status_code = 415
    code = "unsupported_media_type"

    def __init__(self, message: str) -> None:
        super().__init__(message, fields=[{"field": "file", "message": message}])


class InvalidMedia(PostWizardError):
    status_code = 422
    code = "invalid_media"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, fields=[{"field": "file", "message": message}])


class MediaTooLarge(PostWizardError):
    status_code = 413
    code = "payload_too_large"

    def __init__(self, message: str) -> None:
        super().__init__(message, fields=[{"field": "file", "message": message}])


def sniff(head: bytes) -> Sniffed:
    """The type of a file from its first bytes; refuses anything we do not accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        if head[8:12] in MP4_BRANDS:
            return MP4
        brand = head[8:12].decode("latin-1").strip() or "unknown"
        raise UnsupportedMedia(
            f"This video container (brand '{brand}') is not MP4; convert it to an MP4 "
            "(H.264) file and upload that."
        )
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml", b"<!doctype svg", b"<!--")):
        raise UnsupportedMedia(
            "SVG images are not accepted (they can carry scripts and networks do not take "
            f"them); export it as PNG. Accepted: {ACCEPTED}."
        )
    looks_like = "a text file" if _is_text(head) else "of a type we do not accept"
    raise UnsupportedMedia(
        f"The file is {looks_like}, whatever its name says; upload a {ACCEPTED}."
    )


def _is_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not just a character cut off at the end
            return False
        text = head[: error.start].decode("utf-8")
    return all(character.isprintable() or character in "\t\r\n" for character in text)


def megabytes(size: int) -> str:
    return f"{size / 1_048_576:g} MB"


@dataclass(frozen=True)
class ProcessedImage:
    data: bytes
    width: int
    height: int
    thumbnail: bytes


def process_image(data: bytes, sniffed: Sniffed, max_pixels: int) -> ProcessedImage:
    """Decode `data` completely and re-encode it upright and without metadata (EXIF, GPS, XMP,
    comments); animations stay animated. Refuses damaged files and decompression bombs."""
    assert sniffed.pillow_format is not None
    try:
        return _process(data, sniffed, max_pixels)
    except Image.DecompressionBombError:
        # Pillow's own guard, in `Image.open`, for sizes far beyond any sensible limit.
        raise _too_many_pixels(max_pixels) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # Pillow reports damaged data as OSError ("image file is truncated"), SyntaxError
        # (broken chunks) or ValueError; any of them means the file cannot be used.
        raise InvalidMedia(
            f"The image could not be read completely ({error}); it is damaged or incomplete. "
            "Export or download it again and upload the new file."
        ) from None


def _process(data: bytes, sniffed: Sniffed, max_pixels: int) -> ProcessedImage:
    fmt = sniffed.pillow_format
    assert fmt is not None
    # Opening reads only the header: the size is known before any pixel is decoded.
    with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
        if probe.width * probe.height > max_pixels:
            raise _too_many_pixels(max_pixels, probe.width, probe.height)
        probe.verify()
    with Image.open(io.BytesIO(data), formats=[fmt]) as image:
        if sniffed not in ANIMATABLE:
            image.load()  # a JPEG's extra pictures (MPO: depth maps, previews) are dropped
            return _reencode_still(image, sniffed)
        frames = _decode_all_frames(image, max_pixels)
        if frames > 1:
            return _reencode_animation(image, sniffed)
        return _reencode_still(image, sniffed)


def _decode_all_frames(image: Image.Image, max_pixels: int) -> int:
    """Load every frame (a truncated file fails here), within a pixel budget for animations."""
    decoded = 0
    frames = 0
    for frame in ImageSequence.Iterator(image):
        decoded += frame.width * frame.height
        if decoded > max_pixels:
            raise _too_many_pixels(max_pixels, animation=True)
        frame.load()
        frames += 1
    image.seek(0)
    return frames


def _too_many_pixels(
    max_pixels: int, width: int | None = None, height: int | None = None, *, animation: bool = False
) -> InvalidMedia:
    if animation:
        what = "This animation has more pixels in all its frames together than"
    elif width is not None and height is not None:
        what = f"This image is {width}x{height} pixels, more than"
    else:
        what = "This image has more pixels than"
    return InvalidMedia(
        f"{what} the {max_pixels:,} allowed; scale it down and upload it again.",
        code="image_too_large",
    )


def _reencode_still(image: Image.Image, sniffed: Sniffed) -> ProcessedImage:
    upright = ImageOps.exif_transpose(image)  # a new image; the orientation tag is applied
    kept: dict[str | tuple[int, int], Any] = {
        k: v for k, v in image.info.items() if k in ("icc_profile", "transparency")
    }
    upright.info = kept  # drops EXIF (GPS), XMP, comments, text chunks
    out = io.BytesIO()
    icc = kept.get("icc_profile")
    if sniffed is JPEG:
        if upright.mode not in ("L", "RGB"):
            upright = upright.convert("RGB")  # CMYK: browsers and networks expect RGB
            icc = None  # the CMYK profile would describe the wrong colours now
        upright.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, icc_profile=icc)
    elif sniffed is PNG:
        upright.save(out, "PNG", icc_profile=icc)
    elif sniffed is WEBP:
        upright.save(out, "WEBP", quality=WEBP_QUALITY, icc_profile=icc)
    else:
        upright.save(out, "GIF", comment=b"")
    return ProcessedImage(out.getvalue(), upright.width, upright.height, make_thumbnail(upright))


def _reencode_animation(image: Image.Image, sniffed: Sniffed) -> ProcessedImage:
    out = io.BytesIO()
    if sniffed is GIF:
        # Pillow's GIF writer keeps each frame's timing, disposal and transparency; GIF has
        # no EXIF, and an empty comment replaces any comment block.
        image.save(out, "GIF", save_all=True, comment=b"")
        image.seek(0)
        first = image.convert("RGBA")
    else:
        method = _orientation_transpose(image)
        rendered = []
        durations = []
        for frame in _frames(image):
            still = frame.convert("RGBA")
            rendered.append(still.transpose(method) if method is not None else still)
            durations.append(int(frame.info.get("duration", 100)))
        first = rendered[0]
        first.info = {}
        options: dict[str, object] = {
            "save_all": True,
            "append_images": rendered[1:],
            "duration": durations,
            "loop": int(image.info.get("loop", 0)),
        }
        if sniffed is WEBP:
            first.save(out, "WEBP", quality=WEBP_QUALITY, **options)
        else:
            first.save(out, "PNG", **options)  # APNG
    return ProcessedImage(out.getvalue(), first.width, first.height, make_thumbnail(first))


def _frames(image: Image.Image) -> Iterator[Image.Image]:
    for frame in ImageSequence.Iterator(image):
        yield frame.copy()
    image.seek(0)


def _orientation_transpose(image: Image.Image) -> Image.Transpose | None:
    orientation = image.getexif().get(0x0112, 1)
    return {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)


def make_thumbnail(image: Image.Image) -> bytes:
    """A WebP at most THUMBNAIL_SIZE pixels on its longer side (never enlarged)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    thumb = image.convert("RGBA" if has_alpha else "RGB")
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, "WEBP", quality=80)
    return out.getvalue()


def thumbnail_from_bytes(data: bytes) -> bytes:
    """A thumbnail from a PNG still (a video frame from ffmpeg)."""
    with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
        image.load()
        return make_thumbnail(image)
