"""Contract tests of the Threads adapter against a fake Threads API on a loopback socket.

The fake (tests/fakes/threads.py) follows the documented endpoints and Graph API error bodies,
downloads media from the URLs it is given as Threads does, and records in `received` every post
it published: the independent evidence that an unknown outcome never becomes a duplicate."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.responses import FileResponse, Response

from postwizard.platforms.meta.media_urls import is_publicly_reachable as is_public_url
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AuthExpiredError,
    ConnectedAccount,
    ConnectError,
    MediaItem,
    OAuthConnector,
    PermanentError,
    RateLimitedError,
    Refreshable,
    TransientError,
    UnknownOutcomeError,
)
from postwizard.platforms.threads import DEFAULT_SCOPES, ThreadsPlatform
from tests.fakes.threads import SCOPES, FakeThreads
from tests.support.adapter_tests import authorize_in_browser, request, sha256_of
from tests.support.serving import serving

CLIENT_TIMEOUT_S = 1.0
REDIRECT_URI = "https://postwizard.example/api/v1/oauth/threads/callback"


@pytest.fixture
def fake() -> FakeThreads:
    server = FakeThreads()
    server.add_user("alice", "Alice Example", followers_count=321)
    server.redirect_uris = [REDIRECT_URI]
    return server


@pytest.fixture
def base_url(fake: FakeThreads) -> Iterator[str]:
    with serving(fake.app()) as url:
        yield url


class MediaHost:
    """PostWizard's public media address, as Threads reaches it: files served over HTTP."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.base_url = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/media/{name}")
        async def serve(name: str) -> Response:
            path = self.directory / name
            if not path.exists():
                return Response(status_code=404)
            return FileResponse(path)

        return app

    def item(
        self, name: str, *, kind: str = "image", size: int = 30_000, alt: str = ""
    ) -> MediaItem:
        block = hashlib.sha256(name.encode()).digest() * 32
        path = self.directory / name
        path.write_bytes((block * (size // len(block) + 1))[:size])
        mime = {"image": "image/jpeg", "video": "video/mp4"}[kind]
        return MediaItem(
            kind="video" if kind == "video" else "image",
            mime_type=mime,
            size_bytes=size,
            path=path,
            filename=name,
            alt_text=alt,
            public_url=f"{self.base_url}/media/{name}",
        )


@pytest.fixture
def media(tmp_path: Path) -> Iterator[MediaHost]:
    host = MediaHost(tmp_path)
    with serving(host.app()) as url:
        host.base_url = url
        yield host


def make_platform(base_url: str, fake: FakeThreads, **options: object) -> ThreadsPlatform:
    return ThreadsPlatform(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        api_url=base_url,
        authorize_url=f"{base_url}/oauth/authorize",
        token_url=f"{base_url}/oauth/access_token",
        timeout=CLIENT_TIMEOUT_S,
        allow_private_media_urls=True,
        container_poll_interval=0.01,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def platform(base_url: str, fake: FakeThreads) -> AsyncIterator[ThreadsPlatform]:
    adapter = make_platform(base_url, fake)
    yield adapter
    await adapter.aclose()


def account_ref(fake: FakeThreads, token: str) -> AccountRef:
    user_id = fake.user("alice").id
    return AccountRef(
        id=uuid.uuid4(),
        network=Network.THREADS,
        handle="@alice",
        credentials={"access_token": token, "user_id": user_id},
        options={"user_id": user_id, "username": "alice"},
    )


@pytest.fixture
def alice(fake: FakeThreads) -> AccountRef:
    return account_ref(fake, fake.issue_token("alice"))


# --- Connecting ------------------------------------------------------------------------------


async def test_connect_trades_the_code_for_a_long_lived_token_and_reads_the_profile(
    fake: FakeThreads, base_url: str, platform: ThreadsPlatform
) -> None:
    assert isinstance(platform, OAuthConnector)
    assert isinstance(platform, Refreshable)
    start = await platform.start_oauth({}, REDIRECT_URI, "st4te")

    url = urlsplit(start.authorize_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{base_url}/oauth/authorize"
    assert parse_qs(url.query) == {
        "client_id": [fake.client_id],
        "redirect_uri": [REDIRECT_URI],
        "scope": [",".join(DEFAULT_SCOPES)],
        "response_type": ["code"],
        "state": ["st4te"],
    }
    code, state = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    assert state == "st4te"
    connected = await platform.finish_oauth(start.pending, code, REDIRECT_URI)

    assert isinstance(connected, ConnectedAccount)
    alice = fake.user("alice")
    assert (connected.remote_id, connected.handle, connected.display_name) == (
        alice.id,
        "@alice",
        "Alice Example",
    )
    assert connected.options == {"user_id": alice.id, "username": "alice"}
    token = fake.tokens[connected.credentials["access_token"]]
    assert token.long_lived
    assert token.scopes == frozenset(DEFAULT_SCOPES)
    expires_at = datetime.fromisoformat(connected.credentials["expires_at"])
    assert timedelta(days=59) < expires_at - datetime.now(UTC) < timedelta(days=61)


async def test_a_code_works_once_and_only_with_its_redirect_uri(
    platform: ThreadsPlatform,
) -> None:
    start = await platform.start_oauth({}, REDIRECT_URI, "s")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    with pytest.raises(ConnectError, match="redirect_uri"):
        await platform.finish_oauth({}, code, REDIRECT_URI + "/other")

    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    await platform.finish_oauth({}, code, REDIRECT_URI)
    with pytest.raises(ConnectError, match="Start connecting again"):
        await platform.finish_oauth({}, code, REDIRECT_URI)


async def test_a_wrong_app_secret_is_a_connect_error(fake: FakeThreads, base_url: str) -> None:
    fake.client_secret = "rotated"
    adapter = make_platform(base_url, fake)
    fake.client_secret = "s3cr3t-new"
    try:
        start = await adapter.start_oauth({}, REDIRECT_URI, "s")
        code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
        with pytest.raises(ConnectError, match="client secret"):
            await adapter.finish_oauth({}, code, REDIRECT_URI)
    finally:
        await adapter.aclose()


# --- Renewing --------------------------------------------------------------------------------


def test_a_token_is_renewed_in_its_last_week_once_it_is_a_day_old(
    platform: ThreadsPlatform,
) -> None:
    now = datetime.now(UTC)

    def credentials(issued_days_ago: float, expires_in_days: float) -> dict[str, str]:
        return {
            "access_token": "t",
            "issued_at": (now - timedelta(days=issued_days_ago)).isoformat(),
            "expires_at": (now + timedelta(days=expires_in_days)).isoformat(),
        }

    assert not platform.needs_refresh(credentials(1, 59), now)
    assert platform.needs_refresh(credentials(54, 6), now)
    assert not platform.needs_refresh(credentials(0.5, 6), now)  # Threads refuses < 24 h
    assert not platform.needs_refresh(credentials(61, -1), now)  # expired: only reconnecting
    assert not platform.needs_refresh({"access_token": "t"}, now)


async def test_refresh_returns_a_new_sixty_day_token(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    fake.clock_offset = timedelta(days=55)
    renewed = await platform.refresh(alice)

    assert renewed["access_token"] != alice.credentials["access_token"]
    assert fake.tokens[renewed["access_token"]].long_lived
    expires_at = datetime.fromisoformat(renewed["expires_at"])
    assert timedelta(days=59) < expires_at - datetime.now(UTC) < timedelta(days=61)
    fake.clock_offset = timedelta()
    published = await platform.publish(
        AccountRef(
            alice.id, alice.network, alice.handle, {**alice.credentials, **renewed}, alice.options
        ),
        request("with the renewed token"),
    )
    assert fake.posts[published.remote_id].text == "with the renewed token"


async def test_a_revoked_token_cannot_be_refreshed_and_needs_reconnecting(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    fake.revoke(alice.credentials["access_token"])
    with pytest.raises(AuthExpiredError, match="Reconnect"):
        await platform.refresh(alice)
    with pytest.raises(AuthExpiredError, match="Reconnect"):
        await platform.publish(alice, request("hello"))
    assert fake.received == []


async def test_an_expired_token_needs_reconnecting(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    fake.expire(alice.credentials["access_token"])
    with pytest.raises(AuthExpiredError) as caught:
        await platform.publish(alice, request("hello"))
    assert "expired" in caught.value.message


# --- Publishing ------------------------------------------------------------------------------


async def test_a_text_post_is_published_once_with_its_permalink(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    published = await platform.publish(
        alice, request("Hello Threads 👋", options={"reply_control": "accounts_you_follow"})
    )

    (post,) = fake.received
    assert post.text == "Hello Threads 👋"
    assert post.media_type == "TEXT_POST"
    assert published.remote_id == post.id
    assert published.url == post.permalink
    assert published.published_at is not None
    # The publishing quota was read before anything was created.
    paths = [path for _, path in fake.requests if path.startswith("/v1.0/")]
    assert paths[0].endswith("/threads_publishing_limit")


async def test_an_image_is_fetched_by_threads_from_its_public_url(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef, media: MediaHost
) -> None:
    photo = media.item("photo.jpg", alt="A red bicycle")
    await platform.publish(alice, request("A photo", media=[photo]))

    (post,) = fake.received
    assert post.media_type == "IMAGE"
    assert post.media_sha256 == [sha256_of(photo)]
    assert post.alt_texts == ["A red bicycle"]


async def test_a_video_is_published_once_threads_has_processed_it(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef, media: MediaHost
) -> None:
    fake.video_processing_polls = 3
    clip = media.item("clip.mp4", kind="video", size=200_000)
    await platform.publish(alice, request("A video", media=[clip]))

    (post,) = fake.received
    assert post.media_type == "VIDEO"
    assert post.media_sha256 == [sha256_of(clip)]
    polls = [p for m, p in fake.requests if m == "GET" and p.count("/") == 2 and "me" not in p]
    assert len(polls) >= 3


async def test_a_video_still_processing_after_the_bounded_wait_is_retried_later(
    fake: FakeThreads, base_url: str, alice: AccountRef, media: MediaHost
) -> None:
    fake.video_processing_polls = 1_000
    adapter = make_platform(base_url, fake, container_timeout=0.2)
    try:
        with pytest.raises(TransientError, match="still processing"):
            await adapter.publish(alice, request("slow", media=[media.item("v.mp4", kind="video")]))
    finally:
        await adapter.aclose()
    assert fake.received == []


async def test_a_carousel_mixes_images_and_a_video(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef, media: MediaHost
) -> None:
    items = [media.item("a.jpg"), media.item("b.mp4", kind="video"), media.item("c.jpg")]
    await platform.publish(alice, request("Three things", media=items))

    (post,) = fake.received
    assert post.media_type == "CAROUSEL_ALBUM"
    assert post.text == "Three things"
    assert post.media_sha256 == [sha256_of(item) for item in items]
    children = [c for c in fake.containers.values() if c.is_carousel_item]
    assert len(children) == 3


async def test_a_reply_chain_answers_the_previous_post(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    first = await platform.publish(alice, request("1/2 A thread"))
    second = await platform.publish(alice, request("2/2 The end", reply_to=first.remote_id))

    assert fake.posts[second.remote_id].reply_to_id == first.remote_id
    assert fake.received_texts() == ["1/2 A thread", "2/2 The end"]


async def test_media_without_a_public_url_is_refused_with_what_to_set(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef, media: MediaHost
) -> None:
    photo = media.item("p.jpg")
    no_url = MediaItem(
        kind="image", mime_type="image/jpeg", size_bytes=10, path=photo.path, filename="p.jpg"
    )
    with pytest.raises(PermanentError, match="POSTWIZARD_PUBLIC_URL"):
        await platform.publish(alice, request("x", media=[no_url]))
    assert fake.containers == {}


async def test_media_on_a_private_address_is_refused_unless_allowed(
    fake: FakeThreads, base_url: str, alice: AccountRef, media: MediaHost
) -> None:
    adapter = ThreadsPlatform(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        api_url=base_url,
        timeout=CLIENT_TIMEOUT_S,
    )
    try:
        with pytest.raises(PermanentError) as caught:
            await adapter.publish(alice, request("x", media=[media.item("p.jpg")]))
    finally:
        await adapter.aclose()
    assert "127.0.0.1" in caught.value.message
    assert "reachable from the internet" in caught.value.message
    assert fake.containers == {}


def test_public_and_private_addresses_are_told_apart() -> None:
    assert is_public_url("https://postwizard.example.com/media/a.jpg")
    assert is_public_url("https://203.0.113.7.nip.io/a.jpg")
    for private in (
        "http://127.0.0.1:8000/a.jpg",
        "http://localhost/a.jpg",
        "http://192.168.1.20/a.jpg",
        "http://10.0.0.5/a.jpg",
        "http://[::1]/a.jpg",
        "http://nas.local/a.jpg",
        "http://postwizard/a.jpg",
        "ftp://example.com/a.jpg",
    ):
        assert not is_public_url(private), private


async def test_a_video_threads_cannot_download_fails_with_the_public_url_advice(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef, media: MediaHost
) -> None:
    clip = media.item("gone.mp4", kind="video")
    clip.path.unlink()
    with pytest.raises(PermanentError) as caught:
        await platform.publish(alice, request("x", media=[clip]))
    assert "could not download the video" in caught.value.message
    assert "POSTWIZARD_PUBLIC_URL" in caught.value.message
    assert fake.received == []


@pytest.mark.parametrize(
    ("text", "media_names", "expected"),
    [
        pytest.param("x" * 497 + "👋", (), "500", id="text-over-500-emoji-counts-bytes"),
        pytest.param(
            " ".join(f"https://site{n}.example/p" for n in range(6)), (), "link", id="six-links"
        ),
        pytest.param("many", tuple(f"{n}.jpg" for n in range(21)), "20", id="21-items"),
        pytest.param("a gif", ("anim.gif",), "image/gif", id="gif-not-accepted"),
    ],
)
async def test_each_limit_is_enforced_before_anything_is_sent(
    fake: FakeThreads,
    platform: ThreadsPlatform,
    alice: AccountRef,
    media: MediaHost,
    text: str,
    media_names: tuple[str, ...],
    expected: str,
) -> None:
    items = [media.item(name, size=100) for name in media_names]
    items = [
        MediaItem(
            kind=i.kind,
            mime_type="image/gif" if i.filename.endswith(".gif") else i.mime_type,
            size_bytes=i.size_bytes,
            path=i.path,
            filename=i.filename,
            public_url=i.public_url,
        )
        for i in items
    ]
    with pytest.raises(PermanentError, match=expected):
        await platform.publish(alice, request(text, media=items))
    assert fake.requests == []


async def test_exactly_500_characters_go_out(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    await platform.publish(alice, request("x" * 496 + "👋"))
    assert len(fake.received) == 1


# --- Rate limits and permissions ---------------------------------------------------------------


async def test_a_used_up_daily_quota_waits_without_publishing(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    fake.extra_quota_usage = 250
    with pytest.raises(RateLimitedError) as caught:
        await platform.publish(alice, request("one too many"))
    assert caught.value.retry_after == 3600
    assert "250 posts per 24 hours" in caught.value.message
    assert fake.containers == {}


async def test_a_rate_limit_waits_as_long_as_threads_says(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    fake.rate_limit_next_publish = 12
    with pytest.raises(RateLimitedError) as caught:
        await platform.publish(alice, request("busy"))
    assert caught.value.retry_after == 12 * 60
    assert fake.received == []


async def test_a_missing_permission_is_named(fake: FakeThreads, platform: ThreadsPlatform) -> None:
    ref = account_ref(fake, fake.issue_token("alice", frozenset({"threads_basic"})))
    with pytest.raises(AuthExpiredError) as caught:
        await platform.publish(ref, request("no right to post"))
    assert "threads_content_publish" in caught.value.message
    with pytest.raises(AuthExpiredError, match="threads_manage_insights"):
        await platform.fetch_account_stats(ref)


async def test_text_threads_refuses_is_a_permanent_error_with_its_reason(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    with pytest.raises(PermanentError, match="reply_to_id does not exist"):
        await platform.publish(alice, request("orphan reply", reply_to="404"))


# --- Unknown outcomes --------------------------------------------------------------------------


async def test_a_timeout_after_publishing_is_reconciled_without_a_duplicate(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    fake.add_post("alice", "Launch day!", at=datetime.now(UTC) - timedelta(days=2))
    delivery = request("Launch day!")
    fake.hang_after_next_publish = CLIENT_TIMEOUT_S + 2
    with pytest.raises(UnknownOutcomeError):
        await platform.publish(alice, delivery)

    found = await platform.reconcile(alice, delivery)

    (post,) = fake.received
    assert found is not None
    assert found.remote_id == post.id  # not the same text posted two days before
    assert found.url == post.permalink


async def test_a_server_error_after_applying_is_unknown_and_found_by_reconcile(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    delivery = request("Applied, then 500")
    fake.fail_next_publish_after_apply = 500
    with pytest.raises(UnknownOutcomeError):
        await platform.publish(alice, delivery)
    found = await platform.reconcile(alice, delivery)
    assert found is not None
    assert [p.id for p in fake.received] == [found.remote_id]


async def test_a_server_error_before_applying_is_reconciled_as_absent_then_published_once(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    delivery = request("Not applied")
    fake.fail_next_publish = 503
    with pytest.raises(UnknownOutcomeError):
        await platform.publish(alice, delivery)
    assert await platform.reconcile(alice, delivery) is None

    await platform.publish(alice, delivery)
    assert fake.received_texts() == ["Not applied"]


async def test_reconcile_finds_a_reply_among_the_replies(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    root = await platform.publish(alice, request("root"))
    reply = request("the reply", reply_to=root.remote_id)
    fake.hang_after_next_publish = CLIENT_TIMEOUT_S + 2
    with pytest.raises(UnknownOutcomeError):
        await platform.publish(alice, reply)
    found = await platform.reconcile(alice, reply)
    assert found is not None
    assert fake.posts[found.remote_id].reply_to_id == root.remote_id


async def test_reconcile_reads_every_page_since_the_first_attempt(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    first_attempt = datetime.now(UTC) - timedelta(minutes=30)
    for n in range(230):
        fake.add_post("alice", f"other {n}", at=first_attempt + timedelta(seconds=n))
    target = fake.add_post("alice", "needle", at=first_attempt + timedelta(seconds=1))
    found = await platform.reconcile(alice, request("needle", first_attempt_at=first_attempt))
    assert found is not None
    assert found.remote_id == target.id


# --- Measuring -------------------------------------------------------------------------------


async def test_post_metrics_and_followers_are_read(
    fake: FakeThreads, platform: ThreadsPlatform, alice: AccountRef
) -> None:
    published = await platform.publish(alice, request("count me"))
    fake.posts[published.remote_id].insights = {
        "views": 1200,
        "likes": 40,
        "replies": 5,
        "reposts": 3,
        "quotes": 2,
        "shares": 7,
    }

    metrics = await platform.fetch_post_metrics(alice, [published.remote_id, "17841999999"])
    stats = await platform.fetch_account_stats(alice)

    (only,) = metrics  # the unknown (deleted) post is left out
    assert (only.impressions, only.likes, only.replies, only.reposts, only.quotes) == (
        1200,
        40,
        5,
        3,
        2,
    )
    assert only.extra == {"shares": 7}
    assert stats.followers == 321
    assert set(DEFAULT_SCOPES) <= SCOPES
