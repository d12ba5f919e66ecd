"""Contract tests of the Facebook Pages adapter against a fake Graph API on a loopback socket.

The fake (tests/fakes/graph.py) follows the documented Graph API endpoints and error bodies;
its `fb_received` list is the independent record of every Page post it created, which is how
these tests prove that an unknown outcome never turns into a duplicate."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from postwizard.platforms.facebook import FACEBOOK_SCOPES, FacebookPlatform
from postwizard.platforms.meta.errors import retry_after_seconds
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
    UndecidableOutcomeError,
    UnknownOutcomeError,
)
from tests.fakes.graph import FakeGraph, FakePage, RateLimitFault
from tests.support.adapter_tests import authorize_in_browser, request, sha256_of
from tests.support.serving import serving

REDIRECT_URI = "https://postwizard.example/api/v1/oauth/facebook/callback"
CLIENT_TIMEOUT_S = 1.0


@pytest.fixture
def fake() -> FakeGraph:
    server = FakeGraph()
    server.add_page("Alice's Bakery", username="alicesbakery", followers_count=1234)
    server.add_page("Side Project")
    return server


@pytest.fixture
def bakery(fake: FakeGraph) -> FakePage:
    return next(iter(fake.pages.values()))


@pytest.fixture
def base_url(fake: FakeGraph) -> Iterator[str]:
    with serving(fake.app()) as url:
        yield url


def make_platform(fake: FakeGraph, base_url: str, **overrides: str) -> FacebookPlatform:
    return FacebookPlatform(
        app_id=overrides.get("app_id", fake.app_id),
        app_secret=overrides.get("app_secret", fake.app_secret),
        graph_api_version=fake.version,
        graph_url=base_url,
        facebook_url=base_url,
        timeout=CLIENT_TIMEOUT_S,
    )


@pytest.fixture
async def platform(fake: FakeGraph, base_url: str) -> AsyncIterator[FacebookPlatform]:
    adapter = make_platform(fake, base_url)
    yield adapter
    await adapter.aclose()


@pytest.fixture
def page_token(fake: FakeGraph, bakery: FakePage) -> str:
    return fake.page_token(bakery.id, " ".join(FACEBOOK_SCOPES))


@pytest.fixture
def account(bakery: FakePage, page_token: str) -> AccountRef:
    return AccountRef(
        id=uuid.uuid4(),
        network=Network.FACEBOOK,
        handle="@alicesbakery",
        credentials={"access_token": page_token},
        options={"page_id": bakery.id},
    )


def photo(tmp_path: Path, name: str, *, size: int = 30_000, alt: str = "") -> MediaItem:
    path = tmp_path / name
    path.write_bytes(hashlib.sha256(name.encode()).digest() * (size // 32))
    return MediaItem(
        kind="image",
        mime_type="image/jpeg",
        size_bytes=path.stat().st_size,
        path=path,
        filename=name,
        alt_text=alt,
    )


def creates(fake: FakeGraph) -> list[tuple[str, str]]:
    return [r for r in fake.requests if r[0] == "POST"]


# --- Connecting ------------------------------------------------------------------------------


async def test_facebook_login_connects_every_granted_page_with_its_page_token(
    fake: FakeGraph, base_url: str, platform: FacebookPlatform
) -> None:
    assert isinstance(platform, OAuthConnector)
    assert not isinstance(platform, Refreshable)  # Page tokens have no refresh: reconnect
    start = await platform.start_oauth({}, REDIRECT_URI, "st4te")

    url = urlsplit(start.authorize_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{base_url}/v23.0/dialog/oauth"
    assert parse_qs(url.query) == {
        "client_id": [fake.app_id],
        "redirect_uri": [REDIRECT_URI],
        "state": ["st4te"],
        "response_type": ["code"],
        "scope": ["pages_show_list,pages_manage_posts,pages_read_engagement,read_insights"],
        "auth_type": ["rerequest"],
    }
    assert start.pending == {}  # the app secret is a setting, never carried in the state
    code, state = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    assert state == "st4te"

    connected = await platform.finish_oauth(start.pending, code, REDIRECT_URI)

    assert [(c.handle, c.display_name) for c in connected] == [
        ("@alicesbakery", "Alice's Bakery"),
        ("Side Project", "Side Project"),
    ]
    for account, page in zip(connected, fake.pages.values(), strict=True):
        assert account.remote_id == page.id
        assert account.options["page_id"] == page.id
        assert account.options["user_id"] == fake.user_id
        token = fake.tokens[account.credentials["access_token"]]
        # A Page token from a long-lived user token: it does not expire with time.
        assert (token.kind, token.page_id, token.long_lived) == ("page", page.id, True)
        assert token.scopes == set(FACEBOOK_SCOPES)


async def test_pages_are_read_across_result_pages_and_only_chosen_ones_connect(
    fake: FakeGraph, platform: FacebookPlatform
) -> None:
    third = fake.add_page("Third Page", username="third")
    fake.pages_chosen = [p.id for p in fake.pages.values() if p.name != "Side Project"]
    fake.accounts_page_size = 1
    start = await platform.start_oauth({}, REDIRECT_URI, "s")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)

    connected = await platform.finish_oauth(start.pending, code, REDIRECT_URI)

    assert [c.display_name for c in connected] == ["Alice's Bakery", third.name]


async def test_pages_on_which_the_person_cannot_create_content_are_left_out(
    fake: FakeGraph, platform: FacebookPlatform
) -> None:
    fake.pages_chosen = [fake.add_page("Analyst only", tasks=("ANALYZE",)).id]
    start = await platform.start_oauth({}, REDIRECT_URI, "s")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)

    with pytest.raises(ConnectError, match="create content"):
        await platform.finish_oauth(start.pending, code, REDIRECT_URI)


async def test_a_declined_permission_is_named(fake: FakeGraph, platform: FacebookPlatform) -> None:
    fake.declined_scopes = {"pages_manage_posts"}
    start = await platform.start_oauth({}, REDIRECT_URI, "s")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)

    with pytest.raises(ConnectError, match="pages_manage_posts, which was not granted"):
        await platform.finish_oauth(start.pending, code, REDIRECT_URI)


async def test_a_code_is_exchanged_once_and_only_with_the_same_redirect_uri(
    platform: FacebookPlatform,
) -> None:
    start = await platform.start_oauth({}, REDIRECT_URI, "s")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    with pytest.raises(ConnectError, match="redirect_uri is identical"):
        await platform.finish_oauth(start.pending, code, REDIRECT_URI + "/other")
    code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
    await platform.finish_oauth(start.pending, code, REDIRECT_URI)

    with pytest.raises(ConnectError, match="has been used"):
        await platform.finish_oauth(start.pending, code, REDIRECT_URI)


async def test_the_code_exchange_needs_the_right_app_secret(fake: FakeGraph, base_url: str) -> None:
    adapter = make_platform(fake, base_url, app_secret="not-the-secret")
    try:
        start = await adapter.start_oauth({}, REDIRECT_URI, "s")
        code, _ = await authorize_in_browser(start.authorize_url, REDIRECT_URI)
        with pytest.raises(ConnectError, match="client secret"):
            await adapter.finish_oauth(start.pending, code, REDIRECT_URI)
    finally:
        await adapter.aclose()


async def test_without_a_meta_app_connecting_says_which_settings_to_set(
    fake: FakeGraph, base_url: str
) -> None:
    adapter = make_platform(fake, base_url, app_id="", app_secret="")
    try:
        with pytest.raises(ConnectError, match="POSTWIZARD_META_APP_ID"):
            await adapter.start_oauth({}, REDIRECT_URI, "s")
    finally:
        await adapter.aclose()


# --- Publishing ------------------------------------------------------------------------------


async def test_text_with_a_link_goes_to_the_page_feed(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef
) -> None:
    published = await platform.publish(
        account, request("Fresh bread today!", options={"link": "https://bakery.example/menu"})
    )

    (post,) = fake.fb_received
    assert (post.message, post.link) == ("Fresh bread today!", "https://bakery.example/menu")
    assert published.remote_id == post.id
    assert published.url == f"https://www.facebook.com/{post.id}"


async def test_one_photo_is_streamed_to_the_photos_edge_with_its_alt_text(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef, tmp_path: Path
) -> None:
    item = photo(tmp_path, "loaf.jpg", alt="A sourdough loaf")

    published = await platform.publish(account, request("Our loaf", media=[item]))

    (post,) = fake.fb_received
    (stored,) = (fake.photos[i] for i in post.photo_ids)
    assert (stored.sha256, stored.size, stored.published) == (
        sha256_of(item),
        item.size_bytes,
        True,
    )
    assert stored.alt_text == "A sourdough loaf"
    assert (post.message, published.remote_id) == ("Our loaf", post.id)


async def test_several_photos_are_uploaded_unpublished_then_attached_to_one_post(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef, tmp_path: Path
) -> None:
    items = [photo(tmp_path, f"p{n}.jpg") for n in range(3)]

    published = await platform.publish(account, request("Three loaves", media=items))

    (post,) = fake.fb_received
    assert published.remote_id == post.id
    assert [fake.photos[i].sha256 for i in post.photo_ids] == [sha256_of(i) for i in items]
    assert all(not fake.photos[i].published for i in post.photo_ids)


async def test_a_video_goes_to_the_videos_edge_with_the_text_as_description(
    fake: FakeGraph,
    platform: FacebookPlatform,
    account: AccountRef,
    bakery: FakePage,
    tmp_path: Path,
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"v" * 200_000)
    clip = MediaItem("video", "video/mp4", path.stat().st_size, path, "clip.mp4")

    published = await platform.publish(account, request("Behind the scenes", media=[clip]))

    (post,) = fake.fb_received
    assert post.message == "Behind the scenes"
    assert published.remote_id == post.video_id
    assert fake.videos[published.remote_id][1] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert published.url == f"https://www.facebook.com/{bakery.id}/videos/{post.video_id}"


@pytest.mark.parametrize(
    ("text", "count", "reply_to", "reason"),
    [
        ("x" * 63_207, 0, None, "63206"),
        ("Too many", 11, None, "at most 10"),
        ("A reply", 0, "123_456", "no reply chains"),
    ],
)
async def test_what_facebook_would_refuse_is_refused_before_anything_is_sent(
    fake: FakeGraph,
    platform: FacebookPlatform,
    account: AccountRef,
    tmp_path: Path,
    text: str,
    count: int,
    reply_to: str | None,
    reason: str,
) -> None:
    items = [photo(tmp_path, f"{n}.jpg", size=1024) for n in range(count)]

    with pytest.raises(PermanentError, match=reason):
        await platform.publish(account, request(text, media=items, reply_to=reply_to))

    assert creates(fake) == []


async def test_a_business_use_case_rate_limit_waits_what_meta_says(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef
) -> None:
    fake.rate_limit_next_create = RateLimitFault(code=80001, regain_minutes=7)

    with pytest.raises(RateLimitedError) as caught:
        await platform.publish(account, request("Hello"))

    assert caught.value.retry_after == 7 * 60
    assert fake.fb_received == []


def test_rate_limit_waits_come_from_the_usage_headers() -> None:
    buc = '{"1": [{"type": "pages", "estimated_time_to_regain_access": 3}, {"type": "x", "estimated_time_to_regain_access": 12}]}'
    assert retry_after_seconds({"X-Business-Use-Case-Usage": buc}) == 12 * 60
    assert (
        retry_after_seconds(
            {"X-Business-Use-Case-Usage": '{"1": [{"estimated_time_to_regain_access": 0}]}'}
        )
        == 60
    )
    assert retry_after_seconds({"X-App-Usage": '{"call_count": 100}'}) == 600  # no time given


async def test_an_expired_or_invalidated_page_token_needs_a_reconnect(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef, page_token: str
) -> None:
    fake.expire_token(page_token)
    with pytest.raises(AuthExpiredError, match="expired") as caught:
        await platform.publish(account, request("Hello"))
    # Not a TokenExpiredError: nothing can renew a Page token without the person.
    assert not isinstance(caught.value, TokenExpiredError)

    fake.tokens[page_token].expired = False
    fake.invalidate_token(page_token)
    with pytest.raises(AuthExpiredError, match="password was changed"):
        await platform.publish(account, request("Hello"))
    assert fake.fb_received == []


async def test_a_removed_permission_is_named(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef, page_token: str
) -> None:
    fake.revoke_permission(page_token, "pages_manage_posts")

    with pytest.raises(AuthExpiredError, match="pages_manage_posts permission is missing"):
        await platform.publish(account, request("Hello"))


async def test_every_call_carries_the_appsecret_proof(
    fake: FakeGraph, base_url: str, account: AccountRef
) -> None:
    adapter = make_platform(fake, base_url, app_secret="another-apps-secret")
    try:
        with pytest.raises(PermanentError, match="appsecret_proof"):
            await adapter.publish(account, request("Hello"))
    finally:
        await adapter.aclose()
    assert fake.fb_received == []


# --- Unknown outcomes and reconcile ----------------------------------------------------------


async def test_a_server_error_on_create_is_an_unknown_outcome_then_reconcile_decides(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef
) -> None:
    fake.fail_next_create = 500
    sent = request("Opening hours changed")

    with pytest.raises(UnknownOutcomeError):
        await platform.publish(account, sent)
    assert await platform.reconcile(account, sent) is None  # certainly not there

    await platform.publish(account, sent)
    assert [p.message for p in fake.fb_received] == ["Opening hours changed"]


async def test_a_timeout_after_the_post_was_made_is_found_by_reconcile_not_posted_twice(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef
) -> None:
    fake.hang_after_next_create = CLIENT_TIMEOUT_S * 3
    sent = request("Croissants are back")

    with pytest.raises(UnknownOutcomeError, match="may or may not"):
        await platform.publish(account, sent)
    found = await platform.reconcile(account, sent)

    (post,) = fake.fb_received
    assert found is not None
    assert found.remote_id == post.id
    assert found.url == f"https://www.facebook.com/{post.id}"


async def test_reconcile_looks_only_since_the_first_attempt_and_pages_back(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef, bakery: FakePage
) -> None:
    now = datetime.now(UTC)
    fake.add_post(bakery.id, "Same words", created_time=now - timedelta(days=2))
    for n in range(150):  # more than one page of results
        fake.add_post(bakery.id, f"other {n}", created_time=now - timedelta(seconds=n))
    mine = fake.add_post(bakery.id, "Same words", created_time=now - timedelta(minutes=30))

    found = await platform.reconcile(
        account, request("Same words", first_attempt_at=now - timedelta(hours=1))
    )
    assert found is not None
    assert found.remote_id == mine.id
    assert await platform.reconcile(account, request("Never posted", first_attempt_at=now)) is None
    with pytest.raises(UndecidableOutcomeError):
        await platform.reconcile(account, request("", first_attempt_at=now))


# --- Numbers ---------------------------------------------------------------------------------


async def test_post_metrics_combine_insights_and_summaries(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef, bakery: FakePage
) -> None:
    post = fake.add_post(bakery.id, "Popular", created_time=datetime.now(UTC))
    post.reactions, post.comments, post.shares = 40, 6, 3
    post.views, post.reach, post.clicks = 900, 700, 55
    quiet = fake.add_post(bakery.id, "Quiet", created_time=datetime.now(UTC))

    metrics = await platform.fetch_post_metrics(account, [post.id, f"{bakery.id}_404", quiet.id])

    popular, silent = metrics  # the deleted post is left out
    assert (popular.remote_id, popular.impressions, popular.likes) == (post.id, 900, 40)
    assert (popular.replies, popular.reposts) == (6, 3)
    assert popular.extra == {"reach": 700, "clicks": 55, "reactions_by_type": {"like": 40}}
    assert (silent.likes, silent.reposts, silent.impressions) == (0, 0, 0)


async def test_a_video_without_post_insights_does_not_stop_the_other_posts_numbers(
    fake: FakeGraph, platform: FacebookPlatform, account: AccountRef, tmp_path: Path
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"v" * 1000)
    clip = MediaItem("video", "video/mp4", path.stat().st_size, path, "clip.mp4")
    video = await platform.publish(account, request("A video", media=[clip]))
    text = await platform.publish(account, request("A text"))

    metrics = await platform.fetch_post_metrics(account, [video.remote_id, text.remote_id])

    assert [m.remote_id for m in metrics] == [text.remote_id]


async def test_account_stats_are_the_page_followers(
    platform: FacebookPlatform, account: AccountRef
) -> None:
    stats = await platform.fetch_account_stats(account)

    assert stats.followers == 1234
