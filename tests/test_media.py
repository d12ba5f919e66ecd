"""The media library: uploads are validated from their bytes, stored once by content without
their metadata, served only to members, and deleted with their files when no post uses them."""

from __future__ import annotations

import asyncio
import io
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image, ImageSequence
from sqlalchemy import func, select

from postwizard.api.resources import resources_of
from postwizard.app import create_app
from postwizard.config import Settings
from postwizard.media import probe, repository
from postwizard.media.models import Media
from tests.api_client import (
    ApiClient,
    create_person,
    invite,
    set_up_owner,
    sign_in,
    sign_up_by_invitation,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOUNDARY = "pw-test-boundary-7f3a"


# --- fixture files, made here -------------------------------------------------------------


def image_file(fmt: str, size: tuple[int, int] = (20, 10), **save: Any) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def noisy_jpeg(size: int = 256) -> bytes:
    image = Image.frombytes("RGB", (size, size), bytes(range(256)) * (size * size * 3 // 256))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def animated(fmt: str, frames: int = 3) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", (16, 12), colours[i % len(colours)]) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, fmt, save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid, small PNG that would decode to width*height pixels (1-bit grey)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def tiny_mp4(tmp_path: Path, size: str = "64x48", seconds: int = 1) -> bytes:
    target = tmp_path / "clip.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-y", "-f", "lavfi"),
            *("-i", f"testsrc=duration={seconds}:size={size}:rate=10"),
            *("-pix_fmt", "yuv420p", "-c:v", "libx264", str(target)),
        ],
        check=True,
        timeout=60,
    )
    return target.read_bytes()


# --- helpers ----------------------------------------------------------------------------


def media_url(workspace_id: str, *rest: str) -> str:
    return "/".join([f"/api/v1/workspaces/{workspace_id}/media", *rest])


async def upload(
    api: ApiClient,
    workspace_id: str,
    data: bytes,
    filename: str = "picture.png",
    content_type: str = "application/octet-stream",
    alt_text: str | None = None,
) -> httpx.Response:
    form = {"alt_text": alt_text} if alt_text is not None else None
    return await api.post(
        media_url(workspace_id), files={"file": (filename, data, content_type)}, data=form
    )


def data_dir(app: FastAPI) -> Path:
    return resources_of(app).settings.data_dir


def stored_files(app: FastAPI) -> list[Path]:
    root = data_dir(app) / "media"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def staged_files(app: FastAPI) -> list[Path]:
    staging = data_dir(app) / "tmp"
    return list(staging.iterdir()) if staging.exists() else []


async def media_rows(app: FastAPI) -> int:
    async with resources_of(app).session_factory() as session:
        return await session.scalar(select(func.count()).select_from(Media)) or 0


async def assert_nothing_stored(app: FastAPI) -> None:
    assert await media_rows(app) == 0
    assert stored_files(app) == []
    assert staged_files(app) == []


def open_stored(body: bytes) -> Image.Image:
    return Image.open(io.BytesIO(body))


# --- uploads that are accepted ----------------------------------------------------------


async def test_upload_same_bytes_twice_is_one_item_and_delete_removes_files(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    owner = await set_up_owner(both_client)
    data = image_file("PNG")
    first = await upload(both_client, owner.workspace_id, data, "logo.png", alt_text="Our logo")
    assert first.status_code == 201, first.text
    item = first.json()
    assert item["kind"] == "image"
    assert item["mime_type"] == "image/png"
    assert (item["width"], item["height"]) == (20, 10)
    assert item["original_filename"] == "logo.png"
    assert item["alt_text"] == "Our logo"
    assert item["uploaded_by_id"] == owner.user_id
    assert item["url"] == media_url(owner.workspace_id, item["id"], "file")
    assert item["thumbnail_url"] == media_url(owner.workspace_id, item["id"], "thumbnail")
    assert item["warnings"] == []
    assert len(stored_files(both_app)) == 2  # the image and its thumbnail

    again = await upload(both_client, owner.workspace_id, data, "copy-of-logo.png")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == item["id"]
    listed = (await both_client.get(media_url(owner.workspace_id))).json()
    assert [m["id"] for m in listed["items"]] == [item["id"]]
    assert len(stored_files(both_app)) == 2

    deleted = await both_client.delete(media_url(owner.workspace_id, item["id"]))
    assert deleted.status_code == 204
    await assert_nothing_stored(both_app)
    gone = await both_client.get(media_url(owner.workspace_id, item["id"]))
    assert gone.status_code == 404
    assert (await both_client.get(item["url"])).status_code == 404


async def test_simultaneous_identical_uploads_end_as_one_item(
    both_app: FastAPI, both_client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await set_up_owner(both_client)
    data = image_file("PNG")
    first = await upload(both_client, owner.workspace_id, data)
    assert first.status_code == 201

    # The second request checks for a duplicate before the first one saved (the race).
    async def not_yet_saved(*_args: object) -> None:
        monkeypatch.undo()

    monkeypatch.setattr(repository, "media_by_sha256", not_yet_saved)
    second = await upload(both_client, owner.workspace_id, data)
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"]
    assert await media_rows(both_app) == 1


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
async def test_each_image_format_is_stored_and_served(
    app: FastAPI, client: ApiClient, fmt: str, mime: str
) -> None:
    owner = await set_up_owner(client)
    # The name and declared type are ignored: the bytes decide.
    response = await upload(
        client, owner.workspace_id, image_file(fmt, (900, 600)), "photo.bin", "text/plain"
    )
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["mime_type"] == mime
    assert (item["width"], item["height"]) == (900, 600)

    served = await client.get(item["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == mime
    assert served.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert len(served.content) == item["size_bytes"]
    with open_stored(served.content) as stored:
        assert stored.format == fmt
        assert stored.size == (900, 600)

    thumbnail = await client.get(item["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/webp"
    assert thumbnail.headers["x-content-type-options"] == "nosniff"
    with open_stored(thumbnail.content) as thumb:
        assert thumb.format == "WEBP"
        assert thumb.size == (400, 267)


async def test_exif_orientation_is_applied_and_metadata_stripped(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}  # GPS
    original = image_file("JPEG", (20, 10), exif=exif, comment=b"home address")
    with open_stored(original) as check:
        assert check.getexif().get_ifd(0x8825), "the fixture should carry GPS data"

    response = await upload(client, owner.workspace_id, original, "IMG_0001.JPG")
    assert response.status_code == 201, response.text
    item = response.json()
    assert (item["width"], item["height"]) == (10, 20)

    stored_bytes = (await client.get(item["url"])).content
    with open_stored(stored_bytes) as stored:
        assert stored.size == (10, 20)
        assert dict(stored.getexif()) == {}
        assert stored.getexif().get_ifd(0x8825) == {}
        assert "exif" not in stored.info
        assert "comment" not in stored.info
    assert b"PhoneMaker" not in stored_bytes
    assert b"home address" not in stored_bytes


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
async def test_animations_stay_animated(app: FastAPI, client: ApiClient, fmt: str) -> None:
    owner = await set_up_owner(client)
    response = await upload(client, owner.workspace_id, animated(fmt, frames=3))
    assert response.status_code == 201, response.text
    served = await client.get(response.json()["url"])
    with open_stored(served.content) as stored:
        assert stored.format == fmt
        frames = [frame.convert("RGB").getpixel((0, 0)) for frame in ImageSequence.Iterator(stored)]
    assert len(frames) == 3
    assert frames[0] != frames[1] != frames[2]


# --- uploads that are refused, leaving nothing behind -----------------------------------


async def test_truncated_jpeg_is_refused_with_the_reason(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    whole = noisy_jpeg()
    response = await upload(client, owner.workspace_id, whole[: len(whole) * 2 // 3], "cut.jpg")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_media"
    assert "truncated" in error["message"]
    assert "upload the new file" in error["message"]
    assert error["fields"][0]["field"] == "file"
    await assert_nothing_stored(app)


async def test_decompression_bomb_is_refused_before_decoding(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    bomb = png_bomb()
    assert len(bomb) < 1_000_000
    started = time.perf_counter()
    response = await upload(client, owner.workspace_id, bomb, "bomb.png")
    assert time.perf_counter() - started < 5
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "image_too_large"
    assert "more pixels than the 50,000,000 allowed" in error["message"]
    await assert_nothing_stored(app)


@pytest.mark.parametrize(
    ("data", "filename", "says"),
    [
        (b"just some notes, honestly\n" * 10, "notes.png", "a text file"),
        (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script/></svg>',
            "logo.svg",
            "SVG images are not accepted",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "x.png", "SVG"),
        (b"\0\0\0\x18ftypqt  \0\0\0\0qt  " + b"\0" * 64, "clip.mp4", "not MP4"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 4, "scan.jpg", "of a type we do not accept"),
    ],
)
async def test_files_that_are_not_accepted_media_are_refused(
    app: FastAPI, client: ApiClient, data: bytes, filename: str, says: str
) -> None:
    owner = await set_up_owner(client)
    response = await upload(client, owner.workspace_id, data, filename, "image/png")
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert says in response.json()["error"]["message"]
    await assert_nothing_stored(app)


def multipart_stream(
    head: bytes, total_bytes: int, sent: list[int], filename: str = "huge.png"
) -> AsyncIterator[bytes]:
    async def body() -> AsyncIterator[bytes]:
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'
        ).encode() + head
        chunk = b"\0" * 1_048_576
        for _ in range(total_bytes // len(chunk)):
            sent[0] += len(chunk)
            yield chunk
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    return body()


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
async def test_huge_image_upload_is_refused_quickly_and_nothing_is_stored(
    app: FastAPI, client: ApiClient, declare_length: bool
) -> None:
    owner = await set_up_owner(client)
    total = 200 * 1_048_576
    sent = [0]
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if declare_length:
        headers["Content-Length"] = str(total + 200)
    started = time.perf_counter()
    response = await client.post(
        media_url(owner.workspace_id),
        content=multipart_stream(PNG_SIGNATURE, total, sent),
        headers=headers,
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "Images can be at most 20 MB" in error["message"]
    assert elapsed < 10
    # Refused at the image limit, not after reading all 200 MB.
    assert sent[0] <= (1 if declare_length else 22) * 1_048_576
    await assert_nothing_stored(app)


async def test_limits_come_from_settings_and_the_body_limit_covers_only_uploads(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    settings = make_settings(
        database_url=sqlite_url,
        max_image_bytes=50_000,
        max_video_bytes=100_000,
        max_image_pixels=1_000,
    )
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        ApiClient.for_app(application) as api,
    ):
        owner = await set_up_owner(api)
        big_png = image_file("PNG", (20, 10)) + b"\0" * 60_000  # trailing bytes: still a PNG
        too_big = await upload(api, owner.workspace_id, big_png)
        assert too_big.status_code == 413
        assert "Images can be at most" in too_big.json()["error"]["message"]
        many_pixels = await upload(api, owner.workspace_id, image_file("PNG", (40, 30)))
        assert many_pixels.status_code == 422
        assert "40x30 pixels, more than the 1,000 allowed" in many_pixels.json()["error"]["message"]
        # Past the largest media limit, the middleware refuses before the route runs.
        over_all = await upload(api, owner.workspace_id, b"\0" * 300_000)
        assert over_all.status_code == 413
        assert over_all.json()["error"]["code"] == "payload_too_large"
        # Other routes keep the 1 MB JSON limit.
        renamed = await api.patch(
            f"/api/v1/workspaces/{owner.workspace_id}", json={"name": "x" * 1_100_000}
        )
        assert renamed.status_code == 413
        assert await media_rows(application) == 0


async def test_upload_form_problems_name_the_field(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    url = media_url(owner.workspace_id)
    missing = await client.post(url, data={"alt_text": "no file"}, files={"other": ("a", b"x")})
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "other"
    no_file = await client.post(url, files={"alt_text": (None, b"only alt text")})
    assert no_file.status_code == 422
    assert no_file.json()["error"]["fields"][0]["field"] == "file"
    empty = await upload(client, owner.workspace_id, b"")
    assert empty.status_code == 422
    long_alt = await upload(client, owner.workspace_id, image_file("PNG"), alt_text="a" * 1501)
    assert long_alt.status_code == 422
    assert long_alt.json()["error"]["fields"][0]["field"] == "alt_text"
    as_json = await client.post(url, json={"file": "x"})
    assert as_json.status_code == 415
    await assert_nothing_stored(app)


# --- video --------------------------------------------------------------------------------


requires_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="ffmpeg/ffprobe not installed (Debian package `ffmpeg`)",
)


@requires_ffmpeg
async def test_video_metadata_and_thumbnail_come_from_ffmpeg(
    app: FastAPI, client: ApiClient, tmp_path: Path
) -> None:
    owner = await set_up_owner(client)
    response = await upload(client, owner.workspace_id, tiny_mp4(tmp_path), "clip.mp4")
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["kind"] == "video"
    assert item["mime_type"] == "video/mp4"
    assert (item["width"], item["height"]) == (64, 48)
    assert item["duration_seconds"] == pytest.approx(1.0, abs=0.2)
    assert item["warnings"] == []
    served = await client.get(item["url"])
    assert served.headers["content-type"] == "video/mp4"
    assert served.content == tiny_mp4(tmp_path)  # videos are stored as uploaded
    thumbnail = await client.get(item["thumbnail_url"])
    with open_stored(thumbnail.content) as thumb:
        assert thumb.size == (64, 48)


@requires_ffmpeg
async def test_damaged_video_is_refused(app: FastAPI, client: ApiClient, tmp_path: Path) -> None:
    owner = await set_up_owner(client)
    whole = tiny_mp4(tmp_path)
    response = await upload(client, owner.workspace_id, whole[:40] + b"\0" * 200, "clip.mp4")
    assert response.status_code == 422, response.text
    assert "could not be read" in response.json()["error"]["message"]
    await assert_nothing_stored(app)


@requires_ffmpeg
async def test_video_without_ffprobe_is_stored_with_a_warning(
    app: FastAPI, client: ApiClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await set_up_owner(client)
    video = tiny_mp4(tmp_path)
    monkeypatch.setattr(probe, "find_tool", lambda _name: None)
    response = await upload(client, owner.workspace_id, video, "clip.mp4")
    assert response.status_code == 201, response.text
    item = response.json()
    assert (item["width"], item["height"], item["duration_seconds"]) == (None, None, None)
    assert item["thumbnail_url"] is None
    assert len(item["warnings"]) == 1
    assert "until ffmpeg" in item["warnings"][0]
    assert (await client.get(item["url"])).status_code == 200
    assert (
        await client.get(media_url(owner.workspace_id, item["id"], "thumbnail"))
    ).status_code == 404

    # Once ffmpeg is there, uploading the same file again fills the metadata in.
    monkeypatch.undo()
    again = await upload(client, owner.workspace_id, video, "clip.mp4")
    assert again.status_code == 200
    assert again.json()["id"] == item["id"]
    assert (again.json()["width"], again.json()["height"]) == (64, 48)
    assert again.json()["warnings"] == []
    assert again.json()["thumbnail_url"] is not None


# --- editing, roles, tenancy, deletion ----------------------------------------------------


async def test_alt_text_can_be_changed_and_is_checked(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    item = (await upload(client, owner.workspace_id, image_file("PNG"))).json()
    assert item["alt_text"] == ""
    url = media_url(owner.workspace_id, item["id"])
    changed = await client.patch(url, json={"alt_text": "  A red and blue flag  "})
    assert changed.status_code == 200
    assert changed.json()["alt_text"] == "A red and blue flag"
    assert (await client.get(url)).json()["alt_text"] == "A red and blue flag"
    too_long = await client.patch(url, json={"alt_text": "x" * 1501})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["fields"][0]["field"] == "alt_text"
    unknown = await client.patch(url, json={"alt_text": "ok", "kind": "video"})
    assert unknown.status_code == 422


async def test_viewer_reads_but_cannot_upload_change_or_delete(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    item = (await upload(client, owner.workspace_id, image_file("PNG"))).json()
    async with ApiClient.for_app(app) as viewer:
        await sign_up_by_invitation(
            viewer, await invite(client, owner.workspace_id, "viewer"), "vic@example.com"
        )
        refused = await upload(viewer, owner.workspace_id, image_file("JPEG"))
        assert refused.status_code == 403
        assert "editor role or higher" in refused.json()["error"]["message"]
        url = media_url(owner.workspace_id, item["id"])
        assert (await viewer.patch(url, json={"alt_text": "mine"})).status_code == 403
        assert (await viewer.delete(url)).status_code == 403
        assert (await viewer.get(url)).status_code == 200
        assert (await viewer.get(item["url"])).status_code == 200
        listed = await viewer.get(media_url(owner.workspace_id), params={"kind": "image"})
        assert [m["id"] for m in listed.json()["items"]] == [item["id"]]
        videos = await viewer.get(media_url(owner.workspace_id), params={"kind": "video"})
        assert videos.json()["items"] == []
    assert await media_rows(app) == 1


async def test_media_of_another_workspace_is_not_found(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    item = (await upload(client, owner.workspace_id, image_file("PNG"))).json()
    stranger = await create_person(app, "eve@example.com", "Eve's place")
    async with ApiClient.for_app(app) as eve:
        await sign_in(eve, stranger)
        # Through the victim's workspace: not a member.
        assert (await eve.get(item["url"])).status_code == 404
        assert (await eve.get(media_url(owner.workspace_id))).status_code == 404
        # Through her own workspace: the id is not in it.
        for path in ("", "/file", "/thumbnail"):
            response = await eve.get(media_url(stranger.workspace_id, item["id"]) + path)
            assert response.status_code == 404
        assert (
            await eve.patch(media_url(stranger.workspace_id, item["id"]), json={"alt_text": "x"})
        ).status_code == 404
        assert (await eve.delete(media_url(stranger.workspace_id, item["id"]))).status_code == 404
    assert (await client.get(item["url"])).status_code == 200


async def test_files_shared_across_workspaces_go_with_the_last_item(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    other_workspace = (await client.post("/api/v1/workspaces", json={"name": "Side"})).json()["id"]
    data = image_file("JPEG")
    first = (await upload(client, owner.workspace_id, data)).json()
    second = (await upload(client, other_workspace, data)).json()
    assert first["id"] != second["id"]
    assert len(stored_files(app)) == 2  # one copy of the content, plus its thumbnail

    assert (await client.delete(media_url(owner.workspace_id, first["id"]))).status_code == 204
    assert len(stored_files(app)) == 2
    assert (await client.get(second["url"])).status_code == 200
    assert (await client.delete(media_url(other_workspace, second["id"]))).status_code == 204
    await assert_nothing_stored(app)


async def test_media_used_by_a_post_cannot_be_deleted(
    app: FastAPI, client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await set_up_owner(client)
    item = (await upload(client, owner.workspace_id, image_file("PNG"))).json()

    async def used_twice(*_args: object) -> int:
        return 2

    monkeypatch.setattr(repository, "media_usage_count", used_twice)
    refused = await client.delete(media_url(owner.workspace_id, item["id"]))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "media_in_use"
    assert "used by 2 posts" in refused.json()["error"]["message"]
    assert await media_rows(app) == 1
    assert len(stored_files(app)) == 2


async def test_list_is_paginated(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    ids = []
    for colour in range(3):
        image = Image.new("RGB", (8, 8), (colour * 80, 0, 0))
        out = io.BytesIO()
        image.save(out, "PNG")
        ids.append((await upload(client, owner.workspace_id, out.getvalue())).json()["id"])
    first = (await client.get(media_url(owner.workspace_id), params={"limit": 2})).json()
    assert [m["id"] for m in first["items"]] == ids[:2]
    rest = await client.get(
        media_url(owner.workspace_id), params={"limit": 2, "cursor": first["next_cursor"]}
    )
    assert [m["id"] for m in rest.json()["items"]] == ids[2:]
    assert rest.json()["next_cursor"] is None


async def test_uploads_run_concurrently(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    files = [image_file("PNG", (30 + i, 20)) for i in range(4)]
    responses = await asyncio.gather(*(upload(client, owner.workspace_id, f) for f in files))
    assert [r.status_code for r in responses] == [201] * 4
    assert await media_rows(app) == 4
