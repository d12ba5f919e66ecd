"""Contract tests of the Mastodon adapter against a fake Mastodon server on a loopback socket.

The fake (tests/fakes/mastodon.py) follows the documented REST API and error bodies; its
`received` list is the independent record of every status it created, which is how these tests
prove that an unknown outcome never turns into a duplicate."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI

from postwizard.platforms.limits import limits_for
from postwizard.platforms.mastodon import DEFAULT_SCOPES, MastodonPlatform
from postwizard.platforms.mastodon.instance_url import normalize_instance_url
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AuthExpiredError,
    ConnectError,
    MediaItem,
    OAuthConnector,
    PermanentError,
    PublishRequest,
    RateLimitedError,
    Refreshable,
    TokenExpiredError,
    TransientError,
    UnknownOutcomeError,
)
from tests.fakes.mastodon import MIB, FakeMastodon, RateLimitFault
from tests.support.adapter_tests import authorize_in_browser, request, sha256_of, write_file
from tests.support.services import free_port
from tests.support.serving import serving

CLIENT_TIMEOUT_S = 1.0
REDIRECT_URI = "https://postwizard.example/api/v1/oauth/mastodon/callback"


@pytest.fixture
def fake() -> FakeMastodon:
    server = FakeMastodon(domain="fake.social")
    server.add_account("alice", "Alice Example", followers_count=42, following_count=7)
    server.add_account("bob", "Bob")
    return server


@pytest.fixture
def base_url(fake: FakeMastodon) -> Iterator[str]:
    with serving(fake.app()) as url:
        yield url


@pytest.fixture
async def platform() -> AsyncIterator[MastodonPlatform]:
    adapter = MastodonPlatform(
        timeout=CLIENT_TIMEOUT_S, website="https://postwizard.example", media_poll_interval=0.01
    )
    yield adapter
    await adapter.aclose()


def account_ref(base_url: str, token: str, account_id: str = "100") -> AccountRef:
    return AccountRef(
        id=uuid.uuid4(),
        network=Network.MASTODON,
        handle="@alice@fake.social",
        credentials={"access_token": token},
        options={"instance_url": base_url, "account_id": account_id},
    )


@pytest.fixture
def alice(fake: FakeMastodon, base_url: str) -> AccountRef:
    return account_ref(base_url, fake.issue_token("alice", DEFAULT_SCOPES))


def image(tmp_path: Path, name: str, *, size: int = 20_000, alt: str = "") -> MediaItem:
    path = write_file(tmp_path / name, size, seed=name.encode())
    return MediaItem(
        kind="image",
        mime_type="image/png",
        size_bytes=size,
        path=path,
        filename=name,
        alt_text=alt,
    )


def video(tmp_path: Path, *, size: int = 3 * MIB) -> MediaItem:
    path = write_file(tmp_path / "clip.mp4", size, seed=b"video")
    return MediaItem(
        kind="video", mime_type="video/mp4", size_bytes=size, path=path, filename="clip.mp4"
    )


# --- Connecting ------------------------------------------------------------------------------


async def test_connect_registers_the_app_and_reads_the_account_and_its_server(
    fake: FakeMastodon, base_url: str, platform: MastodonPlatform
) -> None:
    fake.max_characters = 1000
    fake.characters_reserved_per_url = 30
    fake.image_size_limit = 8 * MIB
    assert isinstance(platform, OAuthConnector)

    start = await platform.start_oauth({"instance_url": base_url + "/"}, REDIRECT_URI, "st4te")

    (app,) = fake.apps.values()
    assert app.name == "PostWizard"
    assert app.website == "https://postwizard.example"
    assert app.redirect_uris == [REDIRECT_URI]
    assert app.scopes == set(DEFAULT_SCOPES.split())
    assert start.pending == {
        "instance_url": base_url,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "scopes": DEFAULT_SCOPES,
    }
    url = urlsplit(start.authorize_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{base_url}/oauth/authorize"
    assert parse_qs(url.query) == {
        "response_type": ["code"],
        "client_id": [app.client_id],
        "redirect_uri": [REDIRECT_URI],
        "scope": [DEFAULT_SCOPES],
        "state": ["st4te"],
    }

    code, state = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    assert state == "st4te"
    connected = await platform.finish_oauth(start.pending, code, REDIRECT_URI)

    assert connected.remote_id == fake.account("alice").id
    assert connected.handle == "@alice@fake.social"
    assert connected.display_name == "Alice Example"
    assert connected.options == {
        "instance_url": base_url,
        "account_id": connected.remote_id,
        "domain": "fake.social",
    }
    token = connected.credentials["access_token"]
    assert fake.tokens[token].scopes == set(DEFAULT_SCOPES.split())
    assert connected.credentials["client_id"] == app.client_id
    assert dict(connected.limit_overrides) == {
        "max_characters": 1000,
        "max_media_attachments": 4,
        "characters_reserved_per_url": 30,
        "image_size_limit": 8 * MIB,
        "video_size_limit": 99 * MIB,
    }
    limits = limits_for(Network.MASTODON, connected.limit_overrides)
    assert (limits.max_text_length, limits.characters_per_url) == (1000, 30)
    assert limits.max_image_bytes == 8 * MIB

    # The stored credentials are enough to publish.
    ref = AccountRef(
        id=uuid.uuid4(),
        network=Network.MASTODON,
        handle=connected.handle,
        credentials=connected.credentials,
    )
    published = await platform.publish(ref, request("Hello from PostWizard"))
    assert fake.statuses[published.remote_id].app_name == "PostWizard"


async def test_connect_reads_older_servers_limits_from_the_v1_instance(
    fake: FakeMastodon, base_url: str, platform: MastodonPlatform
) -> None:
    fake.has_v2_instance = False
    fake.max_characters = 5000
    start = await platform.start_oauth({"instance_url": base_url}, REDIRECT_URI, "s")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)

    connected = await platform.finish_oauth(start.pending, code, REDIRECT_URI)

    assert connected.handle == "@alice@fake.social"
    assert connected.limit_overrides["max_characters"] == 5000
    assert limits_for(Network.MASTODON, connected.limit_overrides).max_text_length == 5000


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("mastodon.social", "https://mastodon.social"),
        ("  https://Mastodon.Social/  ", "https://mastodon.social"),
        ("https://mastodon.social/@alice", "https://mastodon.social"),
        ("@alice@fosstodon.org", "https://fosstodon.org"),
        ("https://social.example:8443", "https://social.example:8443"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("bücher.social", "https://xn--bcher-kva.social"),
    ],
)
def test_instance_addresses_are_normalised(typed: str, expected: str) -> None:
    assert normalize_instance_url(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "mastodon",
        "ftp://mastodon.social",
        "http://mastodon.social",  # plain http only on loopback
        "https://user:secret@mastodon.social",
        "exa mple.social",
        "https://mastodon.social:99999",
        "https://",
    ],
)
async def test_garbage_instance_addresses_are_refused_on_the_field(
    typed: str, platform: MastodonPlatform
) -> None:
    with pytest.raises(ConnectError) as refused:
        await platform.start_oauth({"instance_url": typed}, REDIRECT_URI, "s")
    assert refused.value.field == "instance_url"
    assert refused.value.message


async def test_an_unreachable_server_is_the_instance_fields_fault(
    platform: MastodonPlatform,
) -> None:
    with pytest.raises(ConnectError) as refused:
        await platform.start_oauth(
            {"instance_url": f"http://127.0.0.1:{free_port()}"}, REDIRECT_URI, "s"
        )
    assert refused.value.field == "instance_url"
    assert "could not be reached" in refused.value.message


async def test_a_server_that_is_not_mastodon_is_the_instance_fields_fault(
    platform: MastodonPlatform,
) -> None:
    with serving(FastAPI()) as url, pytest.raises(ConnectError) as refused:
        await platform.start_oauth({"instance_url": url}, REDIRECT_URI, "s")
    assert refused.value.field == "instance_url"
    assert "does not look like a Mastodon server" in refused.value.message


async def test_a_refused_authorization_code_asks_to_start_again(
    fake: FakeMastodon, base_url: str, platform: MastodonPlatform
) -> None:
    start = await platform.start_oauth({"instance_url": base_url}, REDIRECT_URI, "s")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    await platform.finish_oauth(start.pending, code, REDIRECT_URI)

    with pytest.raises(ConnectError) as refused:  # a code works once
        await platform.finish_oauth(start.pending, code, REDIRECT_URI)
    assert refused.value.field is None
    assert "invalid_grant" in refused.value.message
    assert "Start connecting again" in refused.value.message


# --- Publishing ------------------------------------------------------------------------------


async def test_publishes_text_with_images_alt_text_and_options(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform, tmp_path: Path
) -> None:
    photos = [
        image(tmp_path, "one.png", alt="A red square"),
        image(tmp_path, "two.png", size=300_000, alt="A blue circle"),
    ]
    published = await platform.publish(
        alice,
        request(
            "Spring is here https://example.com/a/very/long/path/that/goes/on #garden",
            media=photos,
            options={
                "visibility": "unlisted",
                "spoiler_text": "Flowers",
                "language": "en",
                "sensitive": True,
            },
            marker="delivery-42",
        ),
    )

    (status,) = fake.received
    assert published.remote_id == status.id
    assert published.url == f"https://fake.social/@alice/{status.id}"
    assert published.published_at is not None
    assert status.text.startswith("Spring is here https://example.com/a/very/long/path")
    assert (status.visibility, status.spoiler_text, status.language, status.sensitive) == (
        "unlisted",
        "Flowers",
        "en",
        True,
    )
    uploaded = [fake.media[media_id] for media_id in status.media_ids]
    assert [m.description for m in uploaded] == ["A red square", "A blue circle"]
    assert [m.sha256 for m in uploaded] == [sha256_of(p.path) for p in photos]
    assert [m.size for m in uploaded] == [20_000, 300_000]
    assert [r["idempotency_key"] for r in fake.create_requests] == ["delivery-42"]


async def test_a_video_is_published_once_the_server_has_processed_it(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform, tmp_path: Path
) -> None:
    fake.video_processing_polls = 3
    clip = video(tmp_path)

    published = await platform.publish(alice, request("Watch this", media=[clip]))

    (status,) = fake.received
    assert published.remote_id == status.id
    (media_id,) = status.media_ids
    assert fake.media[media_id].sha256 == sha256_of(clip.path)
    polls = [path for method, path in fake.requests if path == f"/api/v1/media/{media_id}"]
    assert len(polls) == 4  # three 206 answers, then 200


async def test_media_still_processing_after_the_bound_is_transient(
    fake: FakeMastodon, alice: AccountRef, tmp_path: Path
) -> None:
    fake.video_processing_polls = 1_000_000
    adapter = MastodonPlatform(media_poll_interval=0.01, media_processing_timeout=0.3)
    try:
        with pytest.raises(TransientError, match="still processing"):
            await adapter.publish(alice, request("Watch this", media=[video(tmp_path)]))
    finally:
        await adapter.aclose()
    assert fake.received == []


async def test_a_thread_replies_to_the_previous_status(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    first = await platform.publish(alice, request("1/2 A thread", marker="d-1"))
    second = await platform.publish(
        alice, request("2/2 The end", marker="d-2", reply_to=first.remote_id)
    )

    assert fake.statuses[second.remote_id].in_reply_to_id == first.remote_id
    assert fake.statuses[first.remote_id].replies_count == 1

    with pytest.raises(PermanentError, match="no longer exists"):
        await platform.publish(alice, request("3/2 Lost", marker="d-3", reply_to="999"))


# --- Limits ----------------------------------------------------------------------------------


async def test_text_over_the_instance_limit_is_refused_with_the_servers_reason(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    with pytest.raises(PermanentError) as refused:
        await platform.publish(alice, request("x" * 501))
    assert refused.value.http_status == 422
    assert "Text character limit of 500 exceeded" in refused.value.message

    # Links count 23 characters whatever their length, so this 700-character text fits.
    long_link = "https://example.com/" + "a" * 300
    text = "y" * 450 + " " + long_link + " " + long_link
    await platform.publish(alice, request(text, marker="d-2"))
    assert fake.received_texts() == [text]


async def test_the_content_warning_counts_against_the_limit(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    with pytest.raises(PermanentError, match="character limit of 500"):
        await platform.publish(alice, request("z" * 490, options={"spoiler_text": "eleven char"}))
    assert fake.received == []


async def test_media_limits_are_refused_with_the_servers_reason(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform, tmp_path: Path
) -> None:
    five = [image(tmp_path, f"p{i}.png") for i in range(5)]
    with pytest.raises(PermanentError, match="Cannot attach more than 4 files"):
        await platform.publish(alice, request("Five", media=five, marker="d-1"))

    with pytest.raises(PermanentError, match="Cannot attach a video to a post"):
        await platform.publish(
            alice, request("Mixed", media=[image(tmp_path, "p.png"), video(tmp_path)], marker="d-2")
        )

    fake.image_size_limit = 100_000
    with pytest.raises(PermanentError) as too_large:
        await platform.publish(
            alice, request("Big", media=[image(tmp_path, "big.png", size=200_000)], marker="d-3")
        )
    assert "image 1 (big.png)" in too_large.value.message
    assert "File file size must be less than" in too_large.value.message

    odd = MediaItem(
        kind="image",
        mime_type="image/x-icon",
        size_bytes=10,
        path=write_file(tmp_path / "a.ico", 10),
        filename="a.ico",
    )
    with pytest.raises(PermanentError, match="File content type is invalid"):
        await platform.publish(alice, request("Icon", media=[odd], marker="d-4"))
    assert fake.received == []


async def test_an_unknown_visibility_is_refused_before_anything_is_uploaded(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform, tmp_path: Path
) -> None:
    with pytest.raises(PermanentError, match="no visibility 'friends'"):
        await platform.publish(
            alice,
            request("Hi", media=[image(tmp_path, "p.png")], options={"visibility": "friends"}),
        )
    assert fake.requests == []


# --- Failures --------------------------------------------------------------------------------


async def test_a_revoked_token_needs_reconnecting(
    fake: FakeMastodon, base_url: str, platform: MastodonPlatform
) -> None:
    token = fake.issue_token("alice", DEFAULT_SCOPES)
    ref = account_ref(base_url, token)
    fake.revoke(token)

    with pytest.raises(AuthExpiredError) as publish_refused:
        await platform.publish(ref, request("Hello"))
    with pytest.raises(AuthExpiredError) as stats_refused:
        await platform.fetch_account_stats(ref)

    # Mastodon tokens never expire with time: nothing to refresh, the person must reconnect.
    for refused in (publish_refused, stats_refused):
        assert not isinstance(refused.value, TokenExpiredError)
        assert refused.value.http_status == 401
        assert "The access token was revoked" in refused.value.message
    assert not isinstance(platform, Refreshable)
    assert fake.received == []


async def test_a_token_without_the_scope_needs_reconnecting(
    fake: FakeMastodon, base_url: str, platform: MastodonPlatform
) -> None:
    ref = account_ref(base_url, fake.issue_token("alice", "read"))
    with pytest.raises(AuthExpiredError, match="outside the authorized scopes"):
        await platform.publish(ref, request("Hello"))


async def test_rate_limit_reset_time_becomes_retry_after(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    fake.rate_limit_next_create = RateLimitFault(reset_in_s=120)
    with pytest.raises(RateLimitedError) as limited:
        await platform.publish(alice, request("Hello", marker="d-1"))
    assert 115 <= limited.value.retry_after <= 120

    fake.rate_limit_next_create = RateLimitFault(reset_in_s=30, retry_after_s=300)
    with pytest.raises(RateLimitedError) as limited:
        await platform.publish(alice, request("Hello", marker="d-2"))
    assert limited.value.retry_after == 300
    assert fake.received == []


async def test_a_5xx_on_create_is_unknown_and_reconcile_proves_absence(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    fake.add_status("alice", "An older post", created_at=datetime.now(UTC) - timedelta(days=2))
    fake.fail_next_create = 503
    post = request("Hello, world")

    with pytest.raises(UnknownOutcomeError) as unknown:
        await platform.publish(alice, post)
    assert unknown.value.http_status == 503

    assert await platform.reconcile(alice, post) is None  # certain: the window was read
    published = await platform.publish(alice, post)
    assert [s.id for s in fake.received] == [published.remote_id]


async def test_an_answer_lost_after_the_server_applied_is_found_by_reconcile(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    fake.hang_after_next_create = CLIENT_TIMEOUT_S * 3
    post = request("Hello @bob@other.example, see https://example.com/x #news")

    with pytest.raises(UnknownOutcomeError, match="may or may not have been published"):
        await platform.publish(alice, post)
    (applied,) = fake.received

    found = await platform.reconcile(alice, post)
    assert found is not None
    assert found.remote_id == applied.id
    assert found.url == f"https://fake.social/@alice/{applied.id}"

    # Even a blind retry could not duplicate it: the Idempotency-Key returns the first status.
    again = await platform.publish(alice, post)
    assert again.remote_id == applied.id
    assert len(fake.received) == 1
    assert [r["idempotency_key"] for r in fake.create_requests] == ["delivery-1", "delivery-1"]


async def assert_reconcile_finds_it_once_its_answer_is_lost(
    fake: FakeMastodon, platform: MastodonPlatform, alice: AccountRef, post: PublishRequest
) -> None:
    """Publish `post`, the server applying it but its answer never arriving: reconcile must
    find the status the server created."""
    fake.hang_after_next_create = CLIENT_TIMEOUT_S * 3
    with pytest.raises(UnknownOutcomeError):
        await platform.publish(alice, post)
    found = await platform.reconcile(alice, post)
    assert found is not None
    assert found.remote_id == fake.received[0].id


async def test_reconcile_compares_the_exact_source_text(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    post = request("Thanks @bob@one.example!")
    # Rendered as HTML, both read "Thanks @bob!": only the source tells them apart.
    fake.add_status("alice", "Thanks @bob@two.example!")
    assert await platform.reconcile(alice, post) is None

    await assert_reconcile_finds_it_once_its_answer_is_lost(fake, platform, alice, post)


async def test_reconcile_without_a_source_endpoint_compares_the_rendered_html(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    fake.has_source = False
    text = (
        "Big <news> & 'quotes' for @bob@other.example:\n"
        "https://example.com/a/really/long/link/that/mastodon/shortens?x=1\n\n"
        "#Release day"
    )
    post = request(text)
    fake.add_status("alice", "Something else entirely")
    assert await platform.reconcile(alice, post) is None

    await assert_reconcile_finds_it_once_its_answer_is_lost(fake, platform, alice, post)


async def test_reconcile_ignores_the_same_text_posted_before_the_first_attempt(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    fake.add_status("alice", "Good morning", created_at=datetime.now(UTC) - timedelta(days=1))
    assert await platform.reconcile(alice, request("Good morning")) is None


async def test_reconcile_cannot_tell_when_it_cannot_read_back_to_the_first_attempt(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    first_attempt = datetime.now(UTC) - timedelta(hours=1)
    for minute in range(100):
        fake.add_status(
            "alice",
            f"Busy bot {minute}",
            created_at=first_attempt + timedelta(minutes=minute * 0.5),
        )
    post = request("Never posted", first_attempt_at=first_attempt)

    shallow = MastodonPlatform(reconcile_max_pages=2)
    try:
        with pytest.raises(UnknownOutcomeError, match="reads no further back"):
            await shallow.reconcile(alice, post)
    finally:
        await shallow.aclose()
    assert await platform.reconcile(alice, post) is None  # it reads on to the start of the history


async def test_reconcile_finds_the_account_id_when_the_options_lack_it(
    fake: FakeMastodon, base_url: str, platform: MastodonPlatform
) -> None:
    token = fake.issue_token("alice", DEFAULT_SCOPES)
    ref = account_ref(base_url, token, account_id="")
    status = fake.add_status("alice", "Already there")
    found = await platform.reconcile(ref, request("Already there"))
    assert found is not None
    assert found.remote_id == status.id


async def test_a_server_that_cannot_be_reached_before_sending_is_transient(
    platform: MastodonPlatform,
) -> None:
    ref = account_ref(f"http://127.0.0.1:{free_port()}", "token")
    with pytest.raises(TransientError, match="could not be reached"):
        await platform.publish(ref, request("Hello"))
    with pytest.raises(TransientError):
        await platform.fetch_account_stats(ref)


async def test_a_5xx_on_a_read_is_transient(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    fake.fail_next_read = 502
    with pytest.raises(TransientError) as failed:
        await platform.fetch_account_stats(alice)
    assert failed.value.http_status == 502
    assert (await platform.fetch_account_stats(alice)).followers == 42


# --- Metrics ---------------------------------------------------------------------------------


async def test_post_metrics_are_read_in_batches(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    statuses = [
        fake.add_status("alice", f"Post {n}", favourites_count=n, reblogs_count=2 * n)
        for n in range(25)
    ]
    statuses[3].replies_count, statuses[3].quotes_count = 5, 1
    ids = [s.id for s in statuses] + ["404404"]  # a deleted status has no numbers

    metrics = {m.remote_id: m for m in await platform.fetch_post_metrics(alice, ids)}

    assert set(metrics) == {s.id for s in statuses}
    third = metrics[statuses[3].id]
    assert (third.likes, third.reposts, third.replies, third.quotes) == (3, 6, 5, 1)
    assert third.impressions is None  # Mastodon counts no views
    assert [path for _, path in fake.requests].count("/api/v1/statuses") == 2  # 20 + 6 ids


async def test_post_metrics_fall_back_to_one_by_one_on_older_servers(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    fake.has_batch_statuses = False
    statuses = [fake.add_status("alice", f"Post {n}", favourites_count=n) for n in range(3)]
    ids = [s.id for s in statuses] + ["404404"]

    for _ in range(2):
        metrics = await platform.fetch_post_metrics(alice, ids)
        assert sorted((m.remote_id, m.likes) for m in metrics) == [
            (s.id, n) for n, s in enumerate(statuses)
        ]
    # The batch endpoint was tried once; afterwards the adapter remembers it is missing.
    assert [path for _, path in fake.requests].count("/api/v1/statuses") == 1


async def test_account_stats_come_from_verify_credentials(
    fake: FakeMastodon, alice: AccountRef, platform: MastodonPlatform
) -> None:
    await platform.publish(alice, request("One"))
    fake.add_status("alice", "Two")

    stats = await platform.fetch_account_stats(alice)

    assert (stats.followers, stats.following, stats.posts) == (42, 7, 2)
    assert platform.provides_metrics is True
