"""Contract tests of the X adapter against a fake X API v2 on a loopback socket.

The fake (tests/fakes/x.py) follows the documented endpoints, OAuth 2.0 with PKCE and X's
problem-details error bodies; its `received` list is the independent record of every post it
created, which is how these tests prove that an unknown outcome never turns into a duplicate."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from postwizard.config import Settings
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AuthExpiredError,
    ConnectError,
    MediaItem,
    OAuthConnector,
    PermanentError,
    RateLimitedError,
    Refreshable,
    TokenExpiredError,
    TransientError,
    UndecidableOutcomeError,
    UnknownOutcomeError,
)
from postwizard.platforms.x import DEFAULT_SCOPES, FREE_TIER_DAILY_POSTS, XPlatform
from postwizard.platforms.x.oauth import code_challenge
from postwizard.platforms.x.reconcile import comparable_url, our_text_form, x_text_form
from tests.fakes.x import MIB, FakeX, RateLimitFault
from tests.support.adapter_tests import authorize_in_browser, request, sha256_of, write_file
from tests.support.services import free_port
from tests.support.serving import serving

CLIENT_TIMEOUT_S = 1.0
REDIRECT_URI = "https://postwizard.example/api/v1/oauth/x/callback"
CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"


@pytest.fixture
def fake() -> FakeX:
    server = FakeX(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, callback_urls=(REDIRECT_URI,))
    server.add_user("alice", "Alice Example", followers_count=42, following_count=7)
    server.add_user("bob", "Bob")
    server.check_after_secs = 0
    return server


@pytest.fixture
def base_url(fake: FakeX) -> Iterator[str]:
    with serving(fake.app()) as url:
        yield url


def make_platform(base_url: str, **overrides: object) -> XPlatform:
    settings: dict[str, object] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "timeout": CLIENT_TIMEOUT_S,
        "api_url": base_url,
        "authorize_url": f"{base_url}/i/oauth2/authorize",
        "media_chunk_bytes": 64 * 1024,
        "media_poll_max_interval": 0.01,
    }
    settings.update(overrides)
    return XPlatform(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def platform(base_url: str) -> AsyncIterator[XPlatform]:
    adapter = make_platform(base_url)
    yield adapter
    await adapter.aclose()


def account_ref(
    fake: FakeX,
    token: str,
    *,
    username: str = "alice",
    refresh_token: str = "",
    expires_at: datetime | None = None,
    with_user_id: bool = True,
) -> AccountRef:
    user = fake.user(username)
    credentials = {
        "access_token": token,
        "refresh_token": refresh_token,
        "expires_at": (expires_at or datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        "scope": DEFAULT_SCOPES,
    }
    options = {"user_id": user.id, "username": username} if with_user_id else {}
    return AccountRef(
        id=uuid.uuid4(),
        network=Network.X,
        handle=f"@{username}",
        credentials=credentials,
        options=options,
    )


@pytest.fixture
def alice(fake: FakeX, base_url: str) -> AccountRef:
    return account_ref(fake, fake.issue_token("alice", DEFAULT_SCOPES))


def image(
    tmp_path: Path, name: str, *, size: int = 20_000, alt: str = "", mime: str = "image/png"
) -> MediaItem:
    path = write_file(tmp_path / name, size, seed=name.encode())
    kind = "gif" if mime == "image/gif" else "image"
    return MediaItem(
        kind=kind, mime_type=mime, size_bytes=size, path=path, filename=name, alt_text=alt
    )


def video(tmp_path: Path, *, size: int = 300_000) -> MediaItem:
    path = write_file(tmp_path / "clip.mp4", size, seed=b"video")
    return MediaItem(
        kind="video", mime_type="video/mp4", size_bytes=size, path=path, filename="clip.mp4"
    )


# --- Connecting ------------------------------------------------------------------------------


async def test_connect_with_pkce_reads_the_account_and_stores_rotating_tokens(
    fake: FakeX, base_url: str, platform: XPlatform
) -> None:
    assert isinstance(platform, OAuthConnector)
    assert isinstance(platform, Refreshable)
    assert platform.connect_fields == ()

    start = await platform.start_oauth({}, REDIRECT_URI, "st4te")

    url = urlsplit(start.authorize_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{base_url}/i/oauth2/authorize"
    query = parse_qs(url.query)
    verifier = start.pending["code_verifier"]
    assert 43 <= len(verifier) <= 128
    assert query == {
        "response_type": ["code"],
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT_URI],
        "scope": [DEFAULT_SCOPES],
        "state": ["st4te"],
        "code_challenge": [code_challenge(verifier)],
        "code_challenge_method": ["S256"],
    }
    assert verifier not in start.authorize_url  # only the challenge travels through the browser

    code, state = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    assert state == "st4te"
    connected = await platform.finish_oauth(start.pending, code, REDIRECT_URI)

    alice = fake.user("alice")
    assert (connected.remote_id, connected.handle, connected.display_name) == (
        alice.id,
        "@alice",
        "Alice Example",
    )
    assert connected.options == {"user_id": alice.id, "username": "alice"}
    credentials = connected.credentials
    assert fake.tokens[credentials["access_token"]].scopes == set(DEFAULT_SCOPES.split())
    assert credentials["refresh_token"] in fake.refresh_tokens
    assert set(credentials["scope"].split()) == set(DEFAULT_SCOPES.split())
    expires_at = datetime.fromisoformat(credentials["expires_at"])
    assert timedelta(minutes=119) < expires_at - datetime.now(UTC) <= timedelta(hours=2)
    # The code was exchanged by the confidential client, with the verifier.
    (exchange,) = fake.token_requests
    assert exchange["code_verifier"] == verifier
    assert "client_secret" not in exchange  # in the Basic header, never in the body

    ref = AccountRef(
        id=uuid.uuid4(),
        network=Network.X,
        handle=connected.handle,
        credentials=connected.credentials,
        options=connected.options,
    )
    published = await platform.publish(ref, request("Hello from PostWizard"))
    assert fake.tweets[published.remote_id].user_id == alice.id


async def test_a_wrong_pkce_verifier_or_a_reused_code_is_refused(
    fake: FakeX, platform: XPlatform
) -> None:
    start = await platform.start_oauth({}, REDIRECT_URI, "s")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    tampered = {**start.pending, "code_verifier": "x" * 64}
    with pytest.raises(ConnectError, match="code verifier was invalid") as refused:
        await platform.finish_oauth(tampered, code, REDIRECT_URI)
    assert refused.value.field is None
    assert "Start connecting again" in refused.value.message

    start = await platform.start_oauth({}, REDIRECT_URI, "s")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    await platform.finish_oauth(start.pending, code, REDIRECT_URI)
    with pytest.raises(ConnectError, match="authorization code was invalid"):
        await platform.finish_oauth(start.pending, code, REDIRECT_URI)

    with pytest.raises(ConnectError, match="expired"):
        await platform.finish_oauth({}, "code", REDIRECT_URI)


async def test_wrong_app_credentials_name_the_settings(fake: FakeX, base_url: str) -> None:
    adapter = make_platform(base_url, client_secret="not-the-secret")
    try:
        start = await adapter.start_oauth({}, REDIRECT_URI, "s")
        code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
        with pytest.raises(ConnectError) as refused:
            await adapter.finish_oauth(start.pending, code, REDIRECT_URI)
    finally:
        await adapter.aclose()
    assert "Missing valid authorization header" in refused.value.message
    assert "POSTWIZARD_X_CLIENT_SECRET" in refused.value.message


async def test_an_instance_without_an_x_app_says_what_to_set(base_url: str) -> None:
    adapter = make_platform(base_url, client_id="", client_secret="")
    try:
        with pytest.raises(ConnectError, match="POSTWIZARD_X_CLIENT_ID"):
            await adapter.start_oauth({}, REDIRECT_URI, "s")
    finally:
        await adapter.aclose()


async def test_a_public_client_sends_its_id_in_the_body(fake: FakeX, base_url: str) -> None:
    fake.confidential = False
    adapter = make_platform(base_url, client_secret="")
    try:
        start = await adapter.start_oauth({}, REDIRECT_URI, "s")
        code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
        connected = await adapter.finish_oauth(start.pending, code, REDIRECT_URI)
    finally:
        await adapter.aclose()
    assert connected.handle == "@alice"
    assert fake.token_requests[0]["client_id"] == CLIENT_ID


# --- Refreshing ------------------------------------------------------------------------------


def test_needs_refresh_a_few_minutes_before_expiry(platform: XPlatform) -> None:
    now = datetime.now(UTC)
    fresh = {"access_token": "t", "expires_at": (now + timedelta(hours=1)).isoformat()}
    soon = {"access_token": "t", "expires_at": (now + timedelta(minutes=4)).isoformat()}
    assert platform.needs_refresh(fresh, now) is False
    assert platform.needs_refresh(soon, now) is True
    assert platform.needs_refresh({}, now) is True


async def test_refresh_rotates_the_refresh_token(fake: FakeX, platform: XPlatform) -> None:
    refresh_token = fake.issue_refresh_token("alice", DEFAULT_SCOPES)
    ref = account_ref(fake, "old-access", refresh_token=refresh_token)

    renewed = await platform.refresh(ref)

    assert renewed["access_token"] in fake.tokens
    assert renewed["refresh_token"]
    assert renewed["refresh_token"] != refresh_token
    assert refresh_token not in fake.refresh_tokens  # single use
    assert fake.token_requests[-1]["grant_type"] == "refresh_token"
    renewed_ref = AccountRef(
        id=ref.id,
        network=Network.X,
        handle=ref.handle,
        credentials={**ref.credentials, **renewed},
        options=ref.options,
    )
    assert (await platform.fetch_account_stats(renewed_ref)).followers == 42

    # The old refresh token is dead: X refuses it, definitively.
    with pytest.raises(AuthExpiredError) as refused:
        await platform.refresh(ref)
    assert not isinstance(refused.value, TokenExpiredError)
    assert "Value passed for the token was invalid" in refused.value.message


async def test_refresh_without_a_refresh_token_needs_reconnecting(
    fake: FakeX, platform: XPlatform
) -> None:
    with pytest.raises(AuthExpiredError, match="no refresh token"):
        await platform.refresh(account_ref(fake, "token"))


async def test_refused_app_credentials_on_refresh_are_not_the_accounts_fault(
    fake: FakeX, base_url: str
) -> None:
    adapter = make_platform(base_url, client_secret="wrong")
    ref = account_ref(fake, "t", refresh_token=fake.issue_refresh_token("alice", DEFAULT_SCOPES))
    try:
        with pytest.raises(TransientError, match="POSTWIZARD_X_CLIENT_ID"):
            await adapter.refresh(ref)
    finally:
        await adapter.aclose()


async def test_an_expired_token_is_refreshable_and_a_revoked_one_is_not(
    fake: FakeX, platform: XPlatform
) -> None:
    token = fake.issue_token("alice", DEFAULT_SCOPES)
    fake.expire(token)
    past = datetime.now(UTC) - timedelta(seconds=5)
    expired = account_ref(fake, token, refresh_token="r", expires_at=past)
    with pytest.raises(TokenExpiredError) as expired_error:
        await platform.publish(expired, request("Hello"))
    assert expired_error.value.http_status == 401

    revoked_token = fake.issue_token("alice", DEFAULT_SCOPES)
    fake.revoke(revoked_token)
    revoked = account_ref(fake, revoked_token, refresh_token="r")
    with pytest.raises(AuthExpiredError) as revoked_error:
        await platform.publish(revoked, request("Hello"))
    assert not isinstance(revoked_error.value, TokenExpiredError)
    assert "Reconnect the account" in revoked_error.value.message
    assert fake.received == []


# --- Publishing ------------------------------------------------------------------------------


async def test_publishes_text_and_links_to_the_post(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    published = await platform.publish(alice, request("Hello, world"))

    (tweet,) = fake.received
    assert published.remote_id == tweet.id
    assert published.url == f"https://x.com/alice/status/{tweet.id}"
    assert published.published_at is not None
    assert before <= published.published_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert fake.create_bodies == [{"text": "Hello, world"}]


async def test_images_are_uploaded_in_chunks_with_alt_text(
    fake: FakeX, alice: AccountRef, platform: XPlatform, tmp_path: Path
) -> None:
    photos = [
        image(tmp_path, "one.png", size=150_000, alt="A red square"),
        image(tmp_path, "two.png", size=20_000, alt="A blue circle"),
    ]
    await platform.publish(alice, request("Two pictures", media=photos))

    (tweet,) = fake.received
    uploaded = [fake.media[media_id] for media_id in tweet.media_ids]
    assert [m.sha256 for m in uploaded] == [sha256_of(p.path) for p in photos]
    assert [len(m.chunks) for m in uploaded] == [3, 1]  # 64 KiB chunks
    assert [m.category for m in uploaded] == ["tweet_image", "tweet_image"]
    assert [m.alt_text for m in uploaded] == ["A red square", "A blue circle"]
    assert fake.create_bodies[0]["media"] == {"media_ids": tweet.media_ids}


async def test_a_video_is_posted_once_x_has_processed_it(
    fake: FakeX, alice: AccountRef, platform: XPlatform, tmp_path: Path
) -> None:
    fake.processing_polls = 3
    clip = video(tmp_path)

    published = await platform.publish(alice, request("Watch this", media=[clip]))

    (tweet,) = fake.received
    assert published.remote_id == tweet.id
    (media_id,) = tweet.media_ids
    media = fake.media[media_id]
    assert (media.category, media.sha256) == ("tweet_video", sha256_of(clip.path))
    assert len(media.status_polls) == 3  # in_progress, in_progress, succeeded
    statuses = [path for method, path in fake.requests if method == "GET"]
    assert statuses == ["/2/media/upload"] * 3


async def test_status_polls_wait_as_long_as_check_after_secs_says(
    fake: FakeX, alice: AccountRef, base_url: str, tmp_path: Path
) -> None:
    fake.check_after_secs = 1
    fake.processing_polls = 2
    adapter = make_platform(base_url, media_poll_max_interval=5.0)
    try:
        await adapter.publish(alice, request("Wait for it", media=[video(tmp_path)]))
    finally:
        await adapter.aclose()
    (media,) = [m for m in fake.media.values() if m.category == "tweet_video"]
    first, second = media.status_polls
    assert second - first >= 0.95


async def test_failed_processing_is_permanent_with_xs_reason(
    fake: FakeX, alice: AccountRef, platform: XPlatform, tmp_path: Path
) -> None:
    fake.fail_next_processing = "Invalid or Unsupported media, Reason: UnsupportedMedia."
    with pytest.raises(PermanentError, match="UnsupportedMedia"):
        await platform.publish(alice, request("Broken", media=[video(tmp_path)]))
    assert fake.received == []


async def test_processing_longer_than_the_bound_is_transient(
    fake: FakeX, alice: AccountRef, base_url: str, tmp_path: Path
) -> None:
    fake.processing_polls = 1_000_000
    adapter = make_platform(base_url, media_processing_timeout=0.3)
    try:
        with pytest.raises(TransientError, match="still processing"):
            await adapter.publish(alice, request("Slow", media=[video(tmp_path)]))
    finally:
        await adapter.aclose()
    assert fake.received == []


async def test_an_animated_gif_is_processed_as_a_gif(
    fake: FakeX, alice: AccountRef, platform: XPlatform, tmp_path: Path
) -> None:
    gif = image(tmp_path, "dance.gif", mime="image/gif", alt="A dancing cat")
    await platform.publish(alice, request("Dance", media=[gif]))
    (tweet,) = fake.received
    media = fake.media[tweet.media_ids[0]]
    assert (media.category, media.alt_text, len(media.status_polls)) == (
        "tweet_gif",
        "A dancing cat",
        2,
    )


async def test_a_thread_replies_to_the_previous_post(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    first = await platform.publish(alice, request("1/2 A thread", marker="d-1"))
    second = await platform.publish(
        alice, request("2/2 The end", marker="d-2", reply_to=first.remote_id)
    )
    assert fake.tweets[second.remote_id].in_reply_to == first.remote_id
    assert fake.create_bodies[1]["reply"] == {"in_reply_to_tweet_id": first.remote_id}

    with pytest.raises(PermanentError, match="deleted or not visible"):
        await platform.publish(alice, request("3/2 Lost", marker="d-3", reply_to="1234567"))


# --- Limits ----------------------------------------------------------------------------------


async def test_text_is_counted_with_xs_weights_before_anything_is_sent(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    with pytest.raises(
        PermanentError, match="counts this text as 282 characters; the limit is 280"
    ):
        await platform.publish(alice, request("漢" * 141))  # CJK weighs 2
    assert fake.requests == []

    # Links count 23 whatever their length, so this 600-character text fits.
    long_link = "https://example.com/" + "a" * 300
    text = "y" * 230 + " " + long_link + " " + long_link
    await platform.publish(alice, request(text))
    assert fake.received_texts() == [text]


async def test_media_limits_are_refused_before_uploading(
    fake: FakeX, alice: AccountRef, platform: XPlatform, tmp_path: Path
) -> None:
    five = [image(tmp_path, f"p{i}.png") for i in range(5)]
    with pytest.raises(PermanentError, match="at most 4 attachments"):
        await platform.publish(alice, request("Five", media=five))

    with pytest.raises(PermanentError, match="cannot mix images and videos"):
        await platform.publish(
            alice, request("Mixed", media=[image(tmp_path, "p.png"), video(tmp_path)])
        )

    big = image(tmp_path, "big.png", size=5 * MIB + 1)
    with pytest.raises(PermanentError, match="image 1"):
        await platform.publish(alice, request("Big", media=[big]))

    gifs = [image(tmp_path, f"g{i}.gif", mime="image/gif") for i in range(2)]
    with pytest.raises(PermanentError, match="GIF only as the single attachment"):
        await platform.publish(alice, request("Gifs", media=gifs))

    wordy = image(tmp_path, "wordy.png", alt="w" * 1001)
    with pytest.raises(PermanentError, match="alt text of up to 1000 characters"):
        await platform.publish(alice, request("Wordy", media=[wordy]))
    assert fake.requests == []


async def test_a_media_type_x_does_not_take_is_refused_before_uploading(
    fake: FakeX, alice: AccountRef, platform: XPlatform, tmp_path: Path
) -> None:
    odd = MediaItem(
        kind="image",
        mime_type="image/bmp",
        size_bytes=100,
        path=write_file(tmp_path / "a.bmp", 100),
        filename="a.bmp",
    )
    with pytest.raises(PermanentError, match="does not accept image/bmp"):
        await platform.publish(alice, request("Bitmap", media=[odd]))
    assert fake.requests == []


# --- Failures --------------------------------------------------------------------------------


async def test_a_token_without_media_write_names_the_missing_permission(
    fake: FakeX, platform: XPlatform, tmp_path: Path
) -> None:
    ref = account_ref(fake, fake.issue_token("alice", "tweet.read tweet.write users.read"))
    with pytest.raises(AuthExpiredError) as refused:
        await platform.publish(ref, request("Pic", media=[image(tmp_path, "p.png")]))
    assert not isinstance(refused.value, TokenExpiredError)
    assert "`media.write`" in refused.value.message
    assert fake.received == []


async def test_an_app_without_api_access_is_named(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    fake.client_enrolled = False
    with pytest.raises(AuthExpiredError) as refused:
        await platform.publish(alice, request("Hello"))
    assert "client-not-enrolled" in refused.value.message
    assert "attached to a Project" in refused.value.message


async def test_rate_limit_reset_becomes_retry_after(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    fake.rate_limit_next_create = RateLimitFault(reset_in_s=120)
    with pytest.raises(RateLimitedError) as limited:
        await platform.publish(alice, request("Hello", marker="d-1"))
    assert 115 <= limited.value.retry_after <= 121

    # The Free tier's 24-hour posting quota: wait for its own reset, not the 15-minute window.
    fake.rate_limit_next_create = RateLimitFault(reset_in_s=6 * 3600, daily=True)
    with pytest.raises(RateLimitedError) as daily:
        await platform.publish(alice, request("Hello", marker="d-2"))
    assert 6 * 3600 - 5 <= daily.value.retry_after <= 6 * 3600 + 1
    assert fake.received == []


async def test_a_5xx_on_create_is_unknown_and_reconcile_proves_absence(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    fake.add_tweet("alice", "An older post", created_at=datetime.now(UTC) - timedelta(days=2))
    fake.fail_next_create = 503
    post = request("Hello, world")

    with pytest.raises(UnknownOutcomeError) as unknown:
        await platform.publish(alice, post)
    assert unknown.value.http_status == 503

    assert await platform.reconcile(alice, post) is None  # certain: the window was read
    published = await platform.publish(alice, post)
    assert [t.id for t in fake.received] == [published.remote_id]


async def test_an_answer_lost_after_x_applied_is_found_and_never_duplicated(
    fake: FakeX, alice: AccountRef, platform: XPlatform, tmp_path: Path
) -> None:
    fake.hang_after_next_create = CLIENT_TIMEOUT_S * 3
    text = "Tips & tricks <3 at https://example.com/a/very/long/path?x=1 and example.org/page"
    post = request(text, media=[image(tmp_path, "p.png")])

    with pytest.raises(UnknownOutcomeError, match="may or may not have been published"):
        await platform.publish(alice, post)
    (applied,) = fake.received
    assert "https://t.co/" in applied.text
    assert "&amp;" in applied.text

    found = await platform.reconcile(alice, post)
    assert found is not None
    assert found.remote_id == applied.id
    assert found.url == f"https://x.com/alice/status/{applied.id}"

    # A blind retry is refused as a duplicate, and resolved to the same post.
    again = await platform.publish(alice, post)
    assert again.remote_id == applied.id
    assert len(fake.received) == 1


async def test_the_same_text_posted_before_the_first_attempt_is_a_clear_refusal(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    old = fake.add_tweet("alice", "Good morning", created_at=datetime.now(UTC) - timedelta(days=1))
    post = request("Good morning")
    assert await platform.reconcile(alice, post) is None

    with pytest.raises(PermanentError) as refused:
        await platform.publish(alice, post)
    assert not isinstance(refused.value, UnknownOutcomeError)
    assert "does not publish the same text twice" in refused.value.message
    assert old.id in refused.value.message
    assert fake.received == []


async def test_reconcile_tells_apart_posts_that_differ_in_a_link_or_the_reply_target(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    fake.add_tweet("alice", "Read https://example.com/one")
    parent = fake.add_tweet("alice", "Parent")
    fake.add_tweet("alice", "Same words", in_reply_to=parent.id)
    assert await platform.reconcile(alice, request("Read https://example.com/two")) is None
    assert await platform.reconcile(alice, request("Same words")) is None
    found = await platform.reconcile(alice, request("Same words", reply_to=parent.id))
    assert found is not None


async def test_reconcile_cannot_tell_when_it_cannot_read_back_to_the_first_attempt(
    fake: FakeX, alice: AccountRef, base_url: str, platform: XPlatform
) -> None:
    first_attempt = datetime.now(UTC) - timedelta(hours=1)
    for minute in range(250):
        fake.add_tweet(
            "alice", f"Busy bot {minute}", created_at=first_attempt + timedelta(seconds=minute * 10)
        )
    post = request("Never posted", first_attempt_at=first_attempt)

    shallow = make_platform(base_url, reconcile_max_pages=2)
    try:
        with pytest.raises(UnknownOutcomeError, match="reads no further back"):
            await shallow.reconcile(alice, post)
    finally:
        await shallow.aclose()
    assert await platform.reconcile(alice, post) is None  # three pages reach the first attempt


async def test_reconcile_finds_the_user_id_when_the_options_lack_it(
    fake: FakeX, platform: XPlatform
) -> None:
    ref = account_ref(fake, fake.issue_token("alice", DEFAULT_SCOPES), with_user_id=False)
    tweet = fake.add_tweet("alice", "Already there")
    found = await platform.reconcile(ref, request("Already there"))
    assert found is not None
    assert found.remote_id == tweet.id


async def test_reconcile_without_read_access_is_left_to_the_person(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    fake.client_enrolled = False
    with pytest.raises(UndecidableOutcomeError, match="client-not-enrolled"):
        await platform.reconcile(alice, request("Hello"))


def test_text_comparison_sees_through_xs_rewriting() -> None:
    ours = "Fish & chips <now> at https://example.com/menu, see example.org!"
    theirs = {
        "text": "Fish &amp; chips &lt;now&gt; at https://t.co/abc123, see https://t.co/def456! "
        "https://t.co/pic999",
        "entities": {
            "urls": [
                {"url": "https://t.co/abc123", "expanded_url": "https://example.com/menu"},
                {"url": "https://t.co/def456", "expanded_url": "http://example.org/"},
                {"url": "https://t.co/pic999", "media_key": "3_1"},
            ]
        },
    }
    their_text, their_links = x_text_form(theirs, has_media=True)
    our_text, our_links = our_text_form(ours)
    assert their_text == our_text
    assert [comparable_url(u or "") for u in their_links] == [comparable_url(u) for u in our_links]
    # Without entities, the trailing t.co link of a post with media is the media's.
    bare, links = x_text_form({"text": "Hi https://t.co/x1 https://t.co/m2"}, has_media=True)
    assert (bare, links) == ("Hi \x00", [None])


async def test_a_server_that_cannot_be_reached_before_sending_is_transient(fake: FakeX) -> None:
    adapter = make_platform(f"http://127.0.0.1:{free_port()}")
    ref = account_ref(fake, "token")
    try:
        with pytest.raises(TransientError, match="could not be reached"):
            await adapter.publish(ref, request("Hello"))
        with pytest.raises(TransientError):
            await adapter.fetch_account_stats(ref)
    finally:
        await adapter.aclose()


async def test_a_5xx_on_a_read_is_transient(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    fake.fail_next_read = 502
    with pytest.raises(TransientError) as failed:
        await platform.fetch_account_stats(alice)
    assert failed.value.http_status == 502
    assert (await platform.fetch_account_stats(alice)).followers == 42


# --- Metrics ---------------------------------------------------------------------------------


async def test_post_metrics_are_read_in_batches_of_100_with_private_numbers_when_recent(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    recent = [
        fake.add_tweet("alice", f"Post {n}", likes=n, retweets=2 * n, impressions=10 * n)
        for n in range(150)
    ]
    recent[3].replies, recent[3].quotes, recent[3].bookmarks = 5, 1, 4
    recent[3].url_link_clicks, recent[3].user_profile_clicks = 6, 2
    old = fake.add_tweet(
        "alice", "Old", created_at=datetime.now(UTC) - timedelta(days=60), likes=9, impressions=99
    )
    ids = [t.id for t in recent] + [old.id, "1234567890"]  # a deleted post has no numbers

    metrics = {m.remote_id: m for m in await platform.fetch_post_metrics(alice, ids)}

    assert set(metrics) == {t.id for t in recent} | {old.id}
    third = metrics[recent[3].id]
    assert (third.impressions, third.likes, third.reposts, third.replies, third.quotes) == (
        30,
        3,
        6,
        5,
        1,
    )
    assert dict(third.extra) == {"bookmarks": 4, "url_link_clicks": 6, "user_profile_clicks": 2}
    assert (metrics[old.id].likes, metrics[old.id].impressions) == (9, 99)
    assert "url_link_clicks" not in metrics[old.id].extra
    # 100 + 50 recent posts with private numbers, then the old (and the deleted) one.
    assert fake.metrics_fields == [
        "non_public_metrics,public_metrics",
        "non_public_metrics,public_metrics",
        "public_metrics",
    ]


async def test_account_stats_come_from_users_me(
    fake: FakeX, alice: AccountRef, platform: XPlatform
) -> None:
    await platform.publish(alice, request("One"))
    fake.add_tweet("alice", "Two")

    stats = await platform.fetch_account_stats(alice)

    assert (stats.followers, stats.following, stats.posts) == (42, 7, 2)
    assert platform.provides_metrics is True


async def test_the_daily_post_cap_defaults_to_the_free_tier(tmp_path: Path) -> None:
    settings = Settings.model_validate({"data_dir": tmp_path})
    assert settings.x_daily_post_cap == FREE_TIER_DAILY_POSTS == 17
    adapter = XPlatform(daily_post_cap=settings.x_daily_post_cap)
    assert adapter.daily_post_cap == 17
    await adapter.aclose()
