"""Contract tests of the Bluesky adapter against a fake PDS over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postwizard.platforms.bluesky import BlueskyPlatform, record_key
from postwizard.platforms.bluesky.record_key import tid_timestamp
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AuthExpiredError,
    ConnectError,
    FormConnector,
    MediaItem,
    PermanentError,
    Platform,
    PublishRequest,
    RateLimitedError,
    Refreshable,
    TokenExpiredError,
    TransientError,
    UnknownOutcomeError,
)
from tests.fakes.bluesky import FakeAccount, FakeBluesky
from tests.support.serving import serving

APP_PASSWORD = "abcd-efgh-ijkl-mnop"
ACCOUNT_PASSWORD = "account-password-1"
CREATE = "com.atproto.repo.createRecord"


@pytest.fixture
def fake() -> FakeBluesky:
    fake = FakeBluesky()
    fake.add_account("alice.test", display_name="Alice", followers=42, follows=7)
    fake.add_account("bob.test")
    return fake


@pytest.fixture
def alice(fake: FakeBluesky) -> FakeAccount:
    account = fake.find_account("alice.test")
    assert account is not None
    return account


@pytest.fixture
def pds_url(fake: FakeBluesky) -> Iterator[str]:
    with serving(fake.app) as url:
        fake.pds_url = url
        yield url


@pytest.fixture
async def platform(pds_url: str) -> AsyncIterator[BlueskyPlatform]:
    adapter = BlueskyPlatform(timeout=2.0, service_url=pds_url, plc_directory_url=f"{pds_url}/plc")
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def account(platform: BlueskyPlatform) -> AccountRef:
    connected = await platform.connect({"identifier": "alice.test", "app_password": APP_PASSWORD})
    return AccountRef(
        id=uuid.uuid4(),
        network=Network.BLUESKY,
        handle=connected.handle,
        credentials=connected.credentials,
        options=connected.options,
    )


def post(text: str, **changes: object) -> PublishRequest:
    request = PublishRequest(marker=uuid.uuid4().hex, text=text, first_attempt_at=datetime.now(UTC))
    return replace(request, **changes)  # type: ignore[arg-type]


def image(
    tmp_path: Path, name: str, size: int, *, width: int = 1200, height: int = 800
) -> MediaItem:
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(size - 8))
    return MediaItem(
        kind="image",
        mime_type="image/png",
        size_bytes=size,
        path=path,
        filename=name,
        alt_text=f"alt text of {name}",
        width=width,
        height=height,
    )


def rkey_of(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


# --- The adapter is what the engine expects ---------------------------------------------------


def test_adapter_implements_the_protocols() -> None:
    adapter: Platform = BlueskyPlatform()
    assert adapter.provides_metrics is True
    assert isinstance(adapter, Refreshable)
    assert isinstance(adapter, FormConnector)
    fields = {field.name: field for field in BlueskyPlatform.connect_fields}
    assert fields["app_password"].kind == "password"
    assert "App passwords" in fields["app_password"].help
    assert fields["service_url"].required is False


# --- Connecting -------------------------------------------------------------------------------


async def test_connect_signs_in_with_an_app_password(
    platform: BlueskyPlatform, alice: FakeAccount, pds_url: str
) -> None:
    connected = await platform.connect(
        {"identifier": "@Alice.test", "app_password": f" {APP_PASSWORD} ", "service_url": pds_url}
    )

    assert connected.remote_id == alice.did
    assert connected.handle == "alice.test"
    assert connected.display_name == "Alice"
    credentials = connected.credentials
    assert credentials["did"] == alice.did
    assert credentials["app_password"] == APP_PASSWORD
    assert credentials["pds_url"] == pds_url
    assert credentials["access_jwt"]
    assert credentials["refresh_jwt"]
    access_expiry = datetime.fromisoformat(credentials["access_expires_at"])
    assert timedelta(hours=1.9) < access_expiry - datetime.now(UTC) <= timedelta(hours=2)
    assert datetime.fromisoformat(credentials["refresh_expires_at"]) > access_expiry
    assert connected.limit_overrides == {}


async def test_connect_finds_the_accounts_own_pds_from_its_did_document(
    fake: FakeBluesky, alice: FakeAccount
) -> None:
    """The service people sign in to (bsky.social) is not where their repository lives: the
    DID document names the PDS, and posting goes there."""
    with serving(fake.app) as service_url, serving(fake.app) as pds_url:
        fake.pds_url = pds_url
        adapter = BlueskyPlatform(timeout=2.0, plc_directory_url=f"{service_url}/plc")
        try:
            connected = await adapter.connect(
                {
                    "identifier": "alice.test",
                    "app_password": APP_PASSWORD,
                    "service_url": service_url,
                }
            )
            ref = AccountRef(uuid.uuid4(), Network.BLUESKY, connected.handle, connected.credentials)
            published = await adapter.publish(ref, post("Hello from my own PDS"))
        finally:
            await adapter.aclose()

    service_port, pds_port = int(service_url.rsplit(":", 1)[1]), int(pds_url.rsplit(":", 1)[1])
    assert connected.credentials["pds_url"] == pds_url
    assert connected.options["service_url"] == service_url
    assert fake.calls_of("com.atproto.identity.resolveHandle") == [service_port]
    assert fake.calls_of("com.atproto.server.createSession") == [pds_port]
    assert fake.calls_of(CREATE) == [pds_port]
    assert published.remote_id.startswith(f"at://{alice.did}/app.bsky.feed.post/")


async def test_connect_accepts_a_did(platform: BlueskyPlatform, alice: FakeAccount) -> None:
    connected = await platform.connect({"identifier": alice.did, "app_password": APP_PASSWORD})
    assert connected.handle == "alice.test"
    assert connected.remote_id == alice.did


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"identifier": "", "app_password": APP_PASSWORD}, "identifier", "handle"),
        ({"identifier": "not a handle!", "app_password": APP_PASSWORD}, "identifier", "handle"),
        ({"identifier": "carol.test", "app_password": APP_PASSWORD}, "identifier", "No account"),
        ({"identifier": "alice.test", "app_password": ""}, "app_password", "app password"),
        (
            {"identifier": "alice.test", "app_password": "wrong-pass-word-xxxx"},
            "app_password",
            "did not accept",
        ),
        (
            {"identifier": "alice.test", "app_password": ACCOUNT_PASSWORD},
            "app_password",
            "account password",
        ),
        (
            {"identifier": "alice.test", "app_password": APP_PASSWORD, "service_url": "ftp://x"},
            "service_url",
            "URL",
        ),
    ],
)
async def test_connect_names_the_field_at_fault(
    platform: BlueskyPlatform, form: dict[str, str], field: str, words: str
) -> None:
    with pytest.raises(ConnectError) as raised:
        await platform.connect(form)
    assert raised.value.field == field
    assert words in raised.value.message


async def test_connect_refuses_the_account_password_and_ends_that_session(
    platform: BlueskyPlatform, fake: FakeBluesky
) -> None:
    with pytest.raises(ConnectError, match="app password"):
        await platform.connect({"identifier": "alice.test", "app_password": ACCOUNT_PASSWORD})
    assert fake.calls_of("com.atproto.server.deleteSession")
    assert fake.sessions == {}


async def test_connect_to_an_unreachable_server_names_the_service_url() -> None:
    from tests.support.services import free_port

    adapter = BlueskyPlatform(timeout=1.0)
    try:
        with pytest.raises(ConnectError) as raised:
            await adapter.connect(
                {
                    "identifier": "alice.test",
                    "app_password": APP_PASSWORD,
                    "service_url": f"http://127.0.0.1:{free_port()}",
                }
            )
    finally:
        await adapter.aclose()
    assert raised.value.field == "service_url"
    assert "Could not reach" in raised.value.message


async def test_connect_of_a_taken_down_account_names_the_identifier(
    platform: BlueskyPlatform, fake: FakeBluesky, alice: FakeAccount
) -> None:
    fake.take_down(alice.did)
    with pytest.raises(ConnectError) as raised:
        await platform.connect({"identifier": "alice.test", "app_password": APP_PASSWORD})
    assert raised.value.field == "identifier"
    assert "not active" in raised.value.message


# --- Publishing -------------------------------------------------------------------------------


async def test_publish_text_with_images_facets_and_language(
    platform: BlueskyPlatform,
    account: AccountRef,
    fake: FakeBluesky,
    alice: FakeAccount,
    tmp_path: Path,
) -> None:
    bob = fake.find_account("bob.test")
    assert bob is not None
    text = "Café ☕ 日本語 👨‍👩‍👧 with @bob.test and @nobody.test #launch https://example.com/a."
    request = post(
        text,
        media=[
            image(tmp_path, "one.png", 300_000),
            image(tmp_path, "two.png", 999_999, width=600, height=900),
        ],
        options={"language": "en"},
    )

    published = await platform.publish(account, request)

    rkey = record_key(request.marker, request.first_attempt_at)  # type: ignore[arg-type]
    assert published.remote_id == f"at://{alice.did}/app.bsky.feed.post/{rkey}"
    assert published.url == f"https://bsky.app/profile/alice.test/post/{rkey}"
    assert published.published_at is not None
    [stored] = fake.posts_of(alice.did)
    record = stored.value
    assert record["text"] == text
    assert record["langs"] == ["en"]
    encoded = text.encode()
    marked = {
        encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0]
        for f in record["facets"]
    }
    assert marked == {
        "@bob.test": {"$type": "app.bsky.richtext.facet#mention", "did": bob.did},
        "#launch": {"$type": "app.bsky.richtext.facet#tag", "tag": "launch"},
        "https://example.com/a": {
            "$type": "app.bsky.richtext.facet#link",
            "uri": "https://example.com/a",
        },
    }
    images = record["embed"]["images"]
    assert record["embed"]["$type"] == "app.bsky.embed.images"
    assert [item["alt"] for item in images] == ["alt text of one.png", "alt text of two.png"]
    assert [item["aspectRatio"] for item in images] == [
        {"width": 1200, "height": 800},
        {"width": 600, "height": 900},
    ]
    assert [item["image"]["size"] for item in images] == [300_000, 999_999]
    assert all(item["image"]["mimeType"] == "image/png" for item in images)
    assert fake.applied_creates == [published.remote_id]


async def test_a_link_without_images_gets_a_link_card(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky, alice: FakeAccount
) -> None:
    await platform.publish(account, post("Read this: https://example.com/story?id=7 now"))
    await platform.publish(
        account, post("No card: https://example.com/x", options={"link_card": False})
    )

    with_card, without_card = fake.posts_of(alice.did)
    assert with_card.value["embed"] == {
        "$type": "app.bsky.embed.external",
        "external": {
            "uri": "https://example.com/story?id=7",
            "title": "https://example.com/story?id=7",
            "description": "",
        },
    }
    assert "embed" not in without_card.value


async def test_replies_reference_the_parent_and_the_root_of_the_thread(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky
) -> None:
    first = await platform.publish(account, post("1/3 a thread"))
    second = await platform.publish(account, post("2/3", reply_to=first.remote_id))
    third = await platform.publish(account, post("3/3", reply_to=second.remote_id))

    first_ref = {"uri": first.remote_id, "cid": fake.record_at(first.remote_id).cid}
    second_ref = {"uri": second.remote_id, "cid": fake.record_at(second.remote_id).cid}
    assert fake.record_at(second.remote_id).value["reply"] == {
        "root": first_ref,
        "parent": first_ref,
    }
    assert fake.record_at(third.remote_id).value["reply"] == {
        "root": first_ref,
        "parent": second_ref,
    }


async def test_a_reply_to_a_deleted_post_is_refused(
    platform: BlueskyPlatform, account: AccountRef, alice: FakeAccount
) -> None:
    missing = f"at://{alice.did}/app.bsky.feed.post/3lbbbbbbbbbbb"
    with pytest.raises(PermanentError, match="no longer exists"):
        await platform.publish(account, post("late reply", reply_to=missing))


# --- Limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "media_sizes", "reason"),
    [
        ("x" * 301, [], "300"),
        ("👨‍👩‍👧‍👦" * 150, [], "3000 bytes"),  # 150 graphemes, 3,750 bytes
        ("five images", [1000] * 5, "at most 4"),
        ("too big", [1_000_001], "1,000,000 bytes"),
    ],
)
async def test_limits_are_enforced_before_calling(
    platform: BlueskyPlatform,
    account: AccountRef,
    fake: FakeBluesky,
    tmp_path: Path,
    text: str,
    media_sizes: list[int],
    reason: str,
) -> None:
    media = [image(tmp_path, f"{index}.png", size) for index, size in enumerate(media_sizes)]
    with pytest.raises(PermanentError, match=reason):
        await platform.publish(account, post(text, media=media))
    assert fake.calls_of("com.atproto.repo.uploadBlob") == []
    assert fake.calls_of(CREATE) == []


async def test_exactly_300_graphemes_of_emoji_and_combining_marks_are_accepted(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky, alice: FakeAccount
) -> None:
    text = "e\u0301" * 200 + "🇫🇷" * 100  # 300 graphemes, 1,200 bytes, 600 code points
    await platform.publish(account, post(text))
    assert [record.value["text"] for record in fake.posts_of(alice.did)] == [text]


async def test_the_servers_refusal_of_the_text_is_permanent_with_its_reason(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky
) -> None:
    fake.max_graphemes = 280  # a PDS with a stricter lexicon than PostWizard's table
    with pytest.raises(PermanentError, match="must not be longer than 280 graphemes") as raised:
        await platform.publish(account, post("y" * 290))
    assert raised.value.http_status == 400
    assert fake.applied_creates == []


async def test_the_servers_blob_size_limit_is_permanent(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky, tmp_path: Path
) -> None:
    item = image(tmp_path, "big.png", 1_200_000)
    understated = replace(item, size_bytes=900_000)  # what the media library believed
    with pytest.raises(PermanentError, match="too large"):
        await platform.publish(account, post("big", media=[understated]))
    assert fake.applied_creates == []


async def test_videos_are_refused_with_a_reason(
    platform: BlueskyPlatform, account: AccountRef, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 1000)
    video = MediaItem(
        kind="video", mime_type="video/mp4", size_bytes=1000, path=clip, filename="clip.mp4"
    )
    with pytest.raises(PermanentError, match="videos"):
        await platform.publish(account, post("a clip", media=[video]))


# --- Tokens -----------------------------------------------------------------------------------


async def test_expired_token_is_refreshed_and_the_post_goes_out(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky, alice: FakeAccount
) -> None:
    fake.expire_access_tokens()
    request = post("after a refresh")
    with pytest.raises(TokenExpiredError):
        await platform.publish(account, request)

    renewed = await platform.refresh(account)
    assert renewed["access_jwt"] != account.credentials["access_jwt"]
    assert renewed["refresh_jwt"] != account.credentials["refresh_jwt"]
    assert fake.calls_of("com.atproto.server.refreshSession")
    refreshed = replace(account, credentials={**account.credentials, **renewed})
    await platform.publish(refreshed, request)
    assert [record.value["text"] for record in fake.posts_of(alice.did)] == ["after a refresh"]


async def test_an_expired_refresh_token_falls_back_to_the_app_password(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky
) -> None:
    fake.expire_refresh_tokens()
    renewed = await platform.refresh(account)
    assert renewed["access_jwt"]
    assert len(fake.calls_of("com.atproto.server.createSession")) == 2  # connect + fallback
    await platform.publish(
        replace(account, credentials={**account.credentials, **renewed}), post("ok")
    )


async def test_needs_refresh_when_the_access_token_expires_within_minutes(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky
) -> None:
    now = datetime.now(UTC)
    assert platform.needs_refresh(account.credentials, now) is False
    assert platform.needs_refresh(account.credentials, now + timedelta(hours=1, minutes=56)) is True
    assert platform.needs_refresh({}, now) is True

    fake.access_ttl_s = 120  # a PDS handing out short-lived tokens
    short = await platform.refresh(account)
    assert platform.needs_refresh(short, now) is True


async def test_a_revoked_app_password_needs_reconnecting(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky, alice: FakeAccount
) -> None:
    fake.revoke_app_password(alice.did)
    with pytest.raises(AuthExpiredError) as publishing:
        await platform.publish(account, post("nope"))
    assert not isinstance(publishing.value, TokenExpiredError)
    with pytest.raises(AuthExpiredError, match="Reconnect") as refreshing:
        await platform.refresh(account)
    assert not isinstance(refreshing.value, TokenExpiredError)
    assert fake.applied_creates == []


async def test_a_taken_down_account_needs_reconnecting(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky, alice: FakeAccount
) -> None:
    fake.take_down(alice.did)
    with pytest.raises(AuthExpiredError, match="not active"):
        await platform.fetch_account_stats(account)
    with pytest.raises(AuthExpiredError):
        await platform.refresh(account)


async def test_refresh_when_the_pds_is_down_is_transient(
    account: AccountRef, fake: FakeBluesky
) -> None:
    from tests.support.services import free_port

    moved = replace(
        account, credentials={**account.credentials, "pds_url": f"http://127.0.0.1:{free_port()}"}
    )
    adapter = BlueskyPlatform(timeout=1.0)
    try:
        with pytest.raises(TransientError):
            await adapter.refresh(moved)
    finally:
        await adapter.aclose()


# --- Rate limits and server errors ------------------------------------------------------------


async def test_429_is_rate_limited_until_the_reset_time(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky
) -> None:
    fake.rate_limit_next, fake.rate_limit_reset_in_s = 1, 600
    with pytest.raises(RateLimitedError) as raised:
        await platform.publish(account, post("later"))
    assert 590 <= raised.value.retry_after <= 600
    assert fake.applied_creates == []


async def test_429_with_only_retry_after_is_honoured(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky
) -> None:
    fake.rate_limit_next, fake.rate_limit_reset_in_s = 1, 45
    fake.rate_limit_with_retry_after_only = True
    with pytest.raises(RateLimitedError) as raised:
        await platform.publish(account, post("later"))
    assert raised.value.retry_after == 45


async def test_a_5xx_that_created_nothing_is_retried_without_a_duplicate(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky, alice: FakeAccount
) -> None:
    fake.fail_next_creates = 1
    request = post("second time lucky")
    with pytest.raises(TransientError, match="503") as raised:
        await platform.publish(account, request)
    assert not isinstance(raised.value, UnknownOutcomeError)
    assert fake.applied_creates == []

    published = await platform.publish(account, request)
    assert fake.applied_creates == [published.remote_id]
    assert len(fake.posts_of(alice.did)) == 1


async def test_a_5xx_after_the_pds_applied_the_post_returns_the_post(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky, alice: FakeAccount
) -> None:
    fake.fail_next_creates_after_apply = 1
    request = post("the gateway lost the answer")
    published = await platform.publish(account, request)
    assert published.remote_id == fake.applied_creates[0]
    assert rkey_of(published.remote_id) == record_key(request.marker, request.first_attempt_at)  # type: ignore[arg-type]
    assert len(fake.posts_of(alice.did)) == 1


async def test_timeout_after_apply_is_unknown_then_reconciled_without_a_duplicate(
    account: AccountRef, fake: FakeBluesky, alice: FakeAccount, pds_url: str
) -> None:
    impatient = BlueskyPlatform(timeout=0.5, service_url=pds_url)
    try:
        fake.hang_next_create_s = 2.0
        request = post("did it go out?")
        with pytest.raises(UnknownOutcomeError):
            await impatient.publish(account, request)

        found = await impatient.reconcile(account, request)
        assert found is not None
        assert found.remote_id == fake.applied_creates[0]
        assert found.url == f"https://bsky.app/profile/alice.test/post/{rkey_of(found.remote_id)}"

        # A blind retry anyway: the same record key cannot make a second post.
        again = await impatient.publish(account, request)
    finally:
        await impatient.aclose()
    assert again.remote_id == found.remote_id
    assert fake.duplicate_creates == [found.remote_id]
    assert len(fake.applied_creates) == 1
    assert len(fake.posts_of(alice.did)) == 1


async def test_a_pds_that_names_the_existing_record_error_is_handled_too(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky, alice: FakeAccount
) -> None:
    fake.duplicate_key_status = 409
    request = post("once")
    first = await platform.publish(account, request)
    second = await platform.publish(account, request)
    assert second.remote_id == first.remote_id
    assert len(fake.posts_of(alice.did)) == 1


async def test_reconcile_says_none_only_when_the_record_is_certainly_absent(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky
) -> None:
    assert await platform.reconcile(account, post("never sent")) is None

    from tests.support.services import free_port

    gone = replace(
        account, credentials={**account.credentials, "pds_url": f"http://127.0.0.1:{free_port()}"}
    )
    with pytest.raises(UnknownOutcomeError):
        await platform.reconcile(gone, post("cannot tell"))


async def test_publish_without_a_first_attempt_time_is_refused(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky
) -> None:
    with pytest.raises(PermanentError, match="first attempt"):
        await platform.publish(account, post("x", first_attempt_at=None))
    assert fake.calls_of(CREATE) == []


# --- Record keys ------------------------------------------------------------------------------


def test_record_keys_are_stable_valid_tids_of_the_first_attempt() -> None:
    from atproto_client.models.string_formats import TID_RE  # type: ignore[import-untyped]

    first_attempt = datetime(2026, 11, 21, 9, 30, 15, 123456, tzinfo=UTC)
    key = record_key("delivery-1", first_attempt)
    assert key == record_key("delivery-1", first_attempt)
    assert TID_RE.match(key)
    assert tid_timestamp(key) == first_attempt
    others = {record_key(f"delivery-{n}", first_attempt) for n in range(2, 50)}
    assert key not in others
    assert len(others) > 40  # 10 bits of clock id: rare collisions at the same microsecond
    later = record_key("delivery-1", first_attempt + timedelta(microseconds=1))
    assert later > key  # TIDs sort by time


# --- Metrics ----------------------------------------------------------------------------------


async def test_post_metrics_are_read_25_posts_at_a_time(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky
) -> None:
    published = [await platform.publish(account, post(f"post {n}")) for n in range(30)]
    for number, item in enumerate(published):
        stored = fake.record_at(item.remote_id)
        stored.likes, stored.reposts, stored.replies, stored.quotes = number, 2, 3, 1

    metrics = await platform.fetch_post_metrics(account, [item.remote_id for item in published])

    assert len(fake.calls_of("app.bsky.feed.getPosts")) == 2
    assert [m.remote_id for m in metrics] == [item.remote_id for item in published]
    assert [m.likes for m in metrics] == list(range(30))
    assert {(m.reposts, m.replies, m.quotes, m.impressions) for m in metrics} == {(2, 3, 1, None)}


async def test_account_stats_come_from_the_profile(
    platform: BlueskyPlatform, account: AccountRef
) -> None:
    await platform.publish(account, post("one"))
    stats = await platform.fetch_account_stats(account)
    assert (stats.followers, stats.following, stats.posts) == (42, 7, 1)


async def test_metrics_and_stats_when_the_app_view_fails_are_transient(
    platform: BlueskyPlatform, account: AccountRef, fake: FakeBluesky
) -> None:
    fake.fail_next_reads = 2
    with pytest.raises(TransientError, match="502"):
        await platform.fetch_post_metrics(
            account, ["at://did:plc:x/app.bsky.feed.post/3lbbbbbbbbbbb"]
        )
    with pytest.raises(TransientError, match="502"):
        await platform.fetch_account_stats(account)
    assert (await platform.fetch_account_stats(account)).followers == 42


async def test_metrics_when_the_pds_is_unreachable_are_transient(
    platform: BlueskyPlatform, account: AccountRef
) -> None:
    from tests.support.services import free_port

    gone = replace(
        account, credentials={**account.credentials, "pds_url": f"http://127.0.0.1:{free_port()}"}
    )
    start = time.monotonic()
    with pytest.raises(TransientError):
        await platform.fetch_post_metrics(gone, ["at://did:plc:x/app.bsky.feed.post/3lbbbbbbbbbbb"])
    assert time.monotonic() - start < 2.0
