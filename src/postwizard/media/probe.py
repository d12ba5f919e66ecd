"""Video metadata with `ffprobe`, and a poster frame with `ffmpeg`, when they are installed.

Both are optional: without them a video is stored with unknown size and duration, and the
upload answer says how to get them."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postwizard.media.validation import InvalidMedia

PROBE_TIMEOUT_SECONDS = 60
FRAME_TIMEOUT_SECONDS = 60
NO_FFPROBE_WARNING = (
    "Video metadata (width, height, duration) and the thumbnail are unavailable until ffmpeg "
    "(which provides ffprobe) is installed on the server; upload the same file again afterwards "
    "to fill them in."
)


def find_tool(name: str) -> str | None:
    """Where `name` is on PATH (tests replace this to pretend a tool is missing)."""
    return shutil.which(name)


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    duration_seconds: float | None
    codec: str


async def _run(arguments: list[str], limit_seconds: float) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *arguments,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), limit_seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode or 0, stdout, stderr


async def probe_video(path: Path) -> VideoInfo | None:
    """The video's display size, duration and codec; None when ffprobe is not installed.
    Refuses a file ffprobe cannot read or that has no video track."""
    ffprobe = find_tool("ffprobe")
    if ffprobe is None:
        return None
    arguments = [ffprobe, "-v", "error", "-print_format", "json", "-show_streams", "-show_format"]
    try:
        code, stdout, stderr = await _run([*arguments, str(path)], PROBE_TIMEOUT_SECONDS)
    except TimeoutError:
        raise InvalidMedia(
            f"Reading the video took longer than {PROBE_TIMEOUT_SECONDS} s; it may be damaged. "
            "Export it again as MP4 (H.264) and upload the new file."
        ) from None
    if code != 0:
        reason = stderr.decode("utf-8", "replace").strip().splitlines()
        raise InvalidMedia(
            f"The video could not be read ({reason[-1] if reason else 'ffprobe failed'}); it is "
            "damaged or incomplete. Export it again as MP4 (H.264) and upload the new file."
        )
    return parse_probe(json.loads(stdout or b"{}"))


def parse_probe(report: dict[str, Any]) -> VideoInfo:
    video = next(
        (s for s in report.get("streams", []) if s.get("codec_type") == "video"),
        None,
    )
    if video is None or not video.get("width") or not video.get("height"):
        raise InvalidMedia(
            "The MP4 file has no video track (audio only?); upload a video with a picture."
        )
    width, height = int(video["width"]), int(video["height"])
    if _rotation(video) in (90, 270):
        width, height = height, width  # phones store portrait video as rotated landscape
    duration = report.get("format", {}).get("duration") or video.get("duration")
    return VideoInfo(
        width=width,
        height=height,
        duration_seconds=round(float(duration), 3) if duration else None,
        codec=str(video.get("codec_name", "unknown")),
    )


def _rotation(stream: dict[str, Any]) -> int:
    for side_data in stream.get("side_data_list", []):
        if "rotation" in side_data:
            return int(float(side_data["rotation"])) % 360
    rotate = stream.get("tags", {}).get("rotate")
    return int(float(rotate)) % 360 if rotate else 0


async def first_frame_png(path: Path) -> bytes | None:
    """A still from the start of the video as PNG, or None when ffmpeg is missing or fails
    (a video without a thumbnail is still usable)."""
    ffmpeg = find_tool("ffmpeg")
    if ffmpeg is None:
        return None
    arguments = [ffmpeg, "-v", "error", "-nostdin", "-i", str(path), "-frames:v", "1"]
    arguments += ["-vf", "scale='min(800,iw)':-2", "-f", "image2pipe", "-c:v", "png", "-"]
    try:
        code, stdout, _ = await _run(arguments, FRAME_TIMEOUT_SECONDS)
    except TimeoutError:
        return None
    return stdout if code == 0 and stdout else None
