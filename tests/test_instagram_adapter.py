"""Contract tests of the Instagram adapter against a fake Graph API on a loopback socket.

The fake downloads each `image_url`/`video_url` as Instagram does, from a small file server
standing in for PostWizard's public media links; `ig_received` is the independent record of
every post it published."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.responses import FileResponse, Response

from postwizard.platforms.instagram import INSTAGRAM_SCOPES, InstagramPlatform
from postwizard.platforms.meta.media_urls import is_publicly_reachable
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AuthExpiredError,
    ConnectError,
    MediaItem,
    PermanentError,
    PublishRequest,
    RateLimitedError,
    TransientError,
    UndecidableOutcomeError,
    UnknownOutcomeError,
)
from tests.fakes.graph import FakeGraph, FakeIgUser, FakePage, RateLimitFault
from tests.support import adapter_tests
from tests.support.adapter_tests import authorize_in_browser, sha256_of
from tests.support.serving import serving

REDIRECT_URI = "https://postwizard.example/api/v1/oauth/instagram/callback"
CLIENT_TIMEOUT_S = 1.0


@pytest.fixture
def fake() -> FakeGraph:
    server = FakeGraph()
    server.add_page("Alice's Bakery", instagram="alicebakes", ig_followers=321)
    server.add_page("No Instagram Here")
    return server


@pytest.fixture
def page(fake: FakeGraph) -> FakePage:
    return next(iter(fake.pages.values()))


@pytest.fixture
def ig_user(fake: FakeGraph, page: FakePage) -> FakeIgUser:
    assert page.ig_user_id is not None
    return fake.ig_users[page.ig_user_id]


@pytest.fixture
def base_url(fake: FakeGraph) -> Iterator[str]:
    with serving(fake.app()) as url:
        yield url


class FileServer:
    """Stands in for PostWizard's `/media/public/<token>`: serves files by name."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[Path, str]] = {}
        self.base_url = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/media/public/{name}")
        async def serve(name: str) -> Response:
            if name not in self.files:
                return Response(status_code=404)
            path, mime_type = self.files[name]
            return FileResponse(path, media_type=mime_type)

        return app


@pytest.fixture
def files() -> Iterator[FileServer]:
    server = FileServer()
    with serving(server.app()) as url:
        server.base_url = url
        yield server


def make_platform(fake: FakeGraph, base_url: str, **options: Any) -> InstagramPlatform:
    return InstagramPlatform(
        app_id=fake.app_id,
        app_secret=fake.app_secret,
        graph_api_version=fake.version,
        graph_url=base_url,
        facebook_url=base_url,
        timeout=CLIENT_TIMEOUT_S,
        allow_private_media_urls=options.pop("allow_private_media_urls", True),
        container_poll_interval=0.01,
        **options,
    )


@pytest.fixture
async def platform(fake: FakeGraph, base_url: str) -> AsyncIterator[InstagramPlatform]:
    adapter = make_platform(fake, base_url)
    yield adapter
    await adapter.aclose()


@pytest.fixture
def token(fake: FakeGraph, page: FakePage) -> str:
    return fake.page_token(page.id, " ".join(INSTAGRAM_SCOPES))


@pytest.fixture
def account(ig_user: FakeIgUser, page: FakePage, token: str) -> AccountRef:
    return AccountRef(
        id=uuid.uuid4(),
        network=Network.INSTAGRAM,
        handle="@alicebakes",
        credentials={"access_token": token},
        options={"ig_user_id": ig_user.id, "page_id": page.id},
    )


def jpeg(files: FileServer, tmp_path: Path, name: str, *, alt: str = "") -> MediaItem:
    path = tmp_path / name
    path.write_bytes(b"\xff\xd8\xff\xe0" + hashlib.sha256(name.encode()).digest() * 500)
    files.files[name] = (path, "image/jpeg")
    return MediaItem(
        kind="image",
        mime_type="image/jpeg",
        size_bytes=path.stat().st_size,
        path=path,
        filename=name,
        alt_text=alt,
        width=1080,
        height=1080,
        public_url=f"{files.base_url}/media/public/{name}",
    )


def mp4(files: FileServer, tmp_path: Path, name: str = "reel.mp4") -> MediaItem:
    path = tmp_path / name
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + name.encode() * 20_000)
    files.files[name] = (path, "video/mp4")
    return MediaItem(
        kind="video",
        mime_type="video/mp4",
        size_bytes=path.stat().st_size,
        path=path,
        filename=name,
        duration_seconds=12.0,
        width=1080,
        height=1920,
        public_url=f"{files.base_url}/media/public/{name}",
    )


def request(
    text: str,
    media: Sequence[MediaItem],
    *,
    options: Mapping[str, object] | None = None,
    first_attempt_at: datetime | None = None,
) -> PublishRequest:
    """Every Instagram post carries media."""
    return adapter_tests.request(
        text, media=media, options=options, first_attempt_at=first_attempt_at
    )


# --- Connecting ------------------------------------------------------------------------------


async def test_connect_finds_the_instagram_account_linked_to_each_granted_page(
    fake: FakeGraph, platform: InstagramPlatform, page: FakePage, ig_user: FakeIgUser
) -> None:
    start = await platform.start_oauth({}, REDIRECT_URI, "st4te")
    assert parse_qs(urlsplit(start.authorize_url).query)["scope"] == [",".join(INSTAGRAM_SCOPES)]

    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    connected = await platform.finish_oauth(start.pending, code, REDIRECT_URI)

    (account,) = connected  # the Page without an Instagram account gives none
    assert (account.remote_id, account.handle) == (ig_user.id, "@alicebakes")
    assert account.options == {
        "ig_user_id": ig_user.id,
        "page_id": page.id,
        "username": "alicebakes",
    }
    token = fake.tokens[account.credentials["access_token"]]
    assert (token.kind, token.page_id) == ("page", page.id)


async def test_connect_explains_when_no_granted_page_has_an_instagram_account(
    fake: FakeGraph, platform: InstagramPlatform
) -> None:
    fake.pages_chosen = [p.id for p in fake.pages.values() if p.ig_user_id is None]
    start = await platform.start_oauth({}, REDIRECT_URI, "s")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)

    with pytest.raises(ConnectError, match="Business or Creator"):
        await platform.finish_oauth(start.pending, code, REDIRECT_URI)


# --- Publishing ------------------------------------------------------------------------------


async def test_one_image_is_fetched_by_url_then_published_from_its_container(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    files: FileServer,
    tmp_path: Path,
) -> None:
    item = jpeg(files, tmp_path, "cake.jpg", alt="A birthday cake")

    published = await platform.publish(account, request("Happy birthday! #cake", [item]))

    (media,) = fake.ig_received
    container = fake.containers[media.container_id or ""]
    assert (container.media_type, container.caption, container.alt_text) == (
        "IMAGE",
        "Happy birthday! #cake",
        "A birthday cake",
    )
    assert container.sha256 == sha256_of(item)  # Instagram got the very bytes
    assert (media.media_type, published.remote_id) == ("IMAGE", media.id)
    assert published.url == f"https://www.instagram.com/p/{media.id}/"


async def test_a_video_posts_as_a_reel_once_instagram_has_processed_it(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    files: FileServer,
    tmp_path: Path,
) -> None:
    fake.video_processing_polls = 3
    clip = mp4(files, tmp_path)

    await platform.publish(account, request("Watch us bake", [clip]))

    (media,) = fake.ig_received
    assert media.media_type == "VIDEO"
    assert fake.containers[media.container_id or ""].media_type == "REELS"
    status_checks = [r for r in fake.requests if r == ("GET", f"/v23.0/{media.container_id}")]
    assert len(status_checks) == 4  # three IN_PROGRESS answers, then FINISHED


async def test_a_carousel_is_made_of_finished_children(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    files: FileServer,
    tmp_path: Path,
) -> None:
    items = [
        jpeg(files, tmp_path, "a.jpg"),
        mp4(files, tmp_path, "b.mp4"),
        jpeg(files, tmp_path, "c.jpg"),
    ]

    await platform.publish(account, request("Our week", items))

    (media,) = fake.ig_received
    carousel = fake.containers[media.container_id or ""]
    assert (carousel.media_type, media.media_type) == ("CAROUSEL", "CAROUSEL_ALBUM")
    children = [fake.containers[c] for c in carousel.children]
    assert [c.media_type for c in children] == ["IMAGE", "VIDEO", "IMAGE"]
    assert all(c.is_carousel_item for c in children)
    assert [c.sha256 for c in children] == [sha256_of(i) for i in items]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("eleven", "at most 10"),
        ("none", "at least one image or video"),
        ("png", "does not accept image/png"),
        ("long caption", "the limit is 2200"),
        ("hashtags", "at most 30 hashtags"),
    ],
)
async def test_what_instagram_would_refuse_is_refused_before_anything_is_sent(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    files: FileServer,
    tmp_path: Path,
    case: str,
    reason: str,
) -> None:
    one = [jpeg(files, tmp_path, "one.jpg")]
    cases: dict[str, tuple[str, list[MediaItem]]] = {
        "eleven": ("Many", [jpeg(files, tmp_path, f"{n}.jpg") for n in range(11)]),
        "none": ("Text only", []),
        "png": (
            "PNG",
            [
                MediaItem(
                    "image", "image/png", 10, one[0].path, "x.png", public_url=one[0].public_url
                )
            ],
        ),
        "long caption": ("x" * 2201, one),
        "hashtags": (" ".join(f"#tag{n}" for n in range(31)), one),
    }
    text, media = cases[case]

    with pytest.raises(PermanentError, match=reason):
        await platform.publish(account, request(text, media))

    assert fake.requests == []


async def test_media_on_an_address_the_internet_cannot_reach_is_explained(
    fake: FakeGraph, base_url: str, account: AccountRef, files: FileServer, tmp_path: Path
) -> None:
    adapter = make_platform(fake, base_url, allow_private_media_urls=False)
    item = jpeg(files, tmp_path, "cake.jpg")
    no_url = MediaItem("image", "image/jpeg", item.size_bytes, item.path, "cake.jpg")
    try:
        for media in (item, no_url):
            with pytest.raises(PermanentError, match="POSTWIZARD_PUBLIC_URL") as caught:
                await adapter.publish(account, request("Cake", [media]))
            assert "fetches media from PostWizard's public address" in caught.value.message
    finally:
        await adapter.aclose()
    assert fake.requests == []


@pytest.mark.parametrize(
    ("url", "reachable"),
    [
        ("https://postwizard.example.com/media/public/t", True),
        ("http://203.0.113.9:8000/media/public/t", False),  # documentation range: not global
        ("http://8.8.8.8/media/public/t", True),
        ("http://127.0.0.1:8000/media/public/t", False),
        ("http://[::1]:8000/media/public/t", False),
        ("http://192.168.1.20/media/public/t", False),
        ("http://10.0.0.5/media/public/t", False),
        ("http://localhost:8000/media/public/t", False),
        ("https://postwizard.local/media/public/t", False),
        ("http://raspberrypi/media/public/t", False),
        ("ftp://example.com/file", False),
    ],
)
def test_which_media_addresses_the_internet_can_reach(url: str, reachable: bool) -> None:
    assert is_publicly_reachable(url) is reachable


async def test_a_media_url_instagram_cannot_download_is_refused_with_the_reason(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    files: FileServer,
    tmp_path: Path,
) -> None:
    item = jpeg(files, tmp_path, "gone.jpg")
    del files.files["gone.jpg"]

    with pytest.raises(PermanentError, match="could not download the media"):
        await platform.publish(account, request("Gone", [item]))

    assert fake.fetched_urls == [item.public_url]
    assert fake.ig_received == []


async def test_a_container_that_fails_processing_is_refused_with_instagrams_status(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    files: FileServer,
    tmp_path: Path,
) -> None:
    fake.container_errors_next = True

    with pytest.raises(PermanentError, match="could not process the post: Error: The video"):
        await platform.publish(account, request("Broken", [mp4(files, tmp_path)]))

    assert fake.ig_received == []


async def test_slow_processing_continues_on_the_next_attempt_with_the_same_container(
    fake: FakeGraph, base_url: str, account: AccountRef, files: FileServer, tmp_path: Path
) -> None:
    fake.video_processing_polls = 1_000
    adapter = make_platform(fake, base_url, container_wait=0.1)
    sent = request("Slow reel", [mp4(files, tmp_path)])
    try:
        with pytest.raises(TransientError, match="still processing"):
            await adapter.publish(account, sent)
        (container,) = fake.containers.values()
        container.polls_left = 0  # Instagram finished meanwhile

        await adapter.publish(account, sent)
    finally:
        await adapter.aclose()

    assert list(fake.containers) == [container.id]  # no second container, no second download
    assert [m.container_id for m in fake.ig_received] == [container.id]


async def test_a_full_publishing_quota_waits_until_the_oldest_post_leaves_the_window(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    ig_user: FakeIgUser,
    files: FileServer,
    tmp_path: Path,
) -> None:
    fake.quota_total = 2
    now = datetime.now(UTC)
    for hours_ago in (23, 2):
        fake.add_ig_media(ig_user.id, "earlier", timestamp=now - timedelta(hours=hours_ago))
    for media in fake.ig_media.values():
        media.via_api = True

    with pytest.raises(RateLimitedError, match="limit is 2") as caught:
        await platform.publish(account, request("One more", [jpeg(files, tmp_path, "x.jpg")]))

    assert 3500 < caught.value.retry_after <= 3600  # the 23-hour-old post leaves in an hour
    assert fake.containers == {}


async def test_a_rate_limited_publish_waits_what_meta_says(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    files: FileServer,
    tmp_path: Path,
) -> None:
    fake.rate_limit_next_create = RateLimitFault(code=80002, regain_minutes=4)

    with pytest.raises(RateLimitedError) as caught:
        await platform.publish(account, request("Hi", [jpeg(files, tmp_path, "x.jpg")]))

    assert caught.value.retry_after == 240
    assert fake.ig_received == []


async def test_the_first_comment_follows_the_post_and_its_failure_does_not_fail_it(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    token: str,
    files: FileServer,
    tmp_path: Path,
) -> None:
    options = {"first_comment": "#bakery #sourdough"}
    await platform.publish(
        account, request("Loaf", [jpeg(files, tmp_path, "a.jpg")], options=options)
    )
    assert fake.ig_received[0].comments == ["#bakery #sourdough"]

    fake.revoke_permission(token, "instagram_manage_comments")
    second = request("Loaf two", [jpeg(files, tmp_path, "b.jpg")], options=options)
    published = await platform.publish(account, second)

    assert published.remote_id == fake.ig_received[1].id
    assert fake.ig_received[1].comments == []


async def test_auth_failures_need_a_reconnect_naming_what_is_missing(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    token: str,
    files: FileServer,
    tmp_path: Path,
) -> None:
    item = jpeg(files, tmp_path, "a.jpg")
    fake.revoke_permission(token, "instagram_content_publish")
    with pytest.raises(AuthExpiredError, match="instagram_content_publish permission"):
        await platform.publish(account, request("Hi", [item]))

    fake.expire_token(token)
    with pytest.raises(AuthExpiredError, match="expired"):
        await platform.publish(account, request("Hi", [item]))
    assert fake.ig_received == []


# --- Unknown outcomes and reconcile ----------------------------------------------------------


async def test_a_timeout_after_publishing_is_reconciled_without_a_duplicate(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    files: FileServer,
    tmp_path: Path,
) -> None:
    fake.hang_after_next_create = CLIENT_TIMEOUT_S * 3
    sent = request("Lost answer", [jpeg(files, tmp_path, "a.jpg")])

    with pytest.raises(UnknownOutcomeError):
        await platform.publish(account, sent)
    found = await platform.reconcile(account, sent)

    (media,) = fake.ig_received
    assert found is not None
    assert found.remote_id == media.id
    # Had reconcile missed it, a retry would reuse the container, which cannot publish twice.
    with pytest.raises(UnknownOutcomeError, match="already published"):
        await platform.publish(account, sent)
    assert len(fake.ig_received) == 1


async def test_a_server_error_on_publish_then_reconcile_none_then_one_post(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    files: FileServer,
    tmp_path: Path,
) -> None:
    fake.fail_next_create = 503
    sent = request("Retry me", [jpeg(files, tmp_path, "a.jpg")])

    with pytest.raises(UnknownOutcomeError):
        await platform.publish(account, sent)
    assert await platform.reconcile(account, sent) is None
    await platform.publish(account, sent)

    assert [m.caption for m in fake.ig_received] == ["Retry me"]
    assert len(fake.containers) == 1  # the retry used the container already made


async def test_reconcile_matches_caption_and_type_within_the_window(
    fake: FakeGraph,
    platform: InstagramPlatform,
    account: AccountRef,
    ig_user: FakeIgUser,
    files: FileServer,
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    image = [jpeg(files, tmp_path, "a.jpg")]
    fake.add_ig_media(ig_user.id, "Same caption", timestamp=now - timedelta(days=3))
    fake.add_ig_media(ig_user.id, "Same caption", media_type="VIDEO", timestamp=now)
    since = now - timedelta(hours=1)

    assert (
        await platform.reconcile(account, request("Same caption", image, first_attempt_at=since))
        is None
    )
    mine = fake.add_ig_media(ig_user.id, "Same caption", timestamp=now)
    found = await platform.reconcile(
        account, request("Same caption", image, first_attempt_at=since)
    )
    assert found is not None
    assert found.remote_id == mine.id
    with pytest.raises(UndecidableOutcomeError):
        await platform.reconcile(account, request("", image, first_attempt_at=since))


# --- Numbers ---------------------------------------------------------------------------------


async def test_post_metrics_use_the_current_insight_names(
    fake: FakeGraph, platform: InstagramPlatform, account: AccountRef, ig_user: FakeIgUser
) -> None:
    media = fake.add_ig_media(ig_user.id, "Popular", timestamp=datetime.now(UTC))
    media.insights = {
        "views": 1000,
        "reach": 800,
        "likes": 90,
        "comments": 12,
        "saved": 7,
        "shares": 5,
    }

    (metrics,) = await platform.fetch_post_metrics(account, [media.id, "17849999999999999"])

    assert (metrics.impressions, metrics.likes, metrics.replies, metrics.reposts) == (
        1000,
        90,
        12,
        5,
    )
    assert metrics.extra == {"reach": 800, "saved": 7}


async def test_account_stats(
    platform: InstagramPlatform, account: AccountRef, ig_user: FakeIgUser
) -> None:
    stats = await platform.fetch_account_stats(account)

    assert (stats.followers, stats.following, stats.posts) == (321, 12, 0)
