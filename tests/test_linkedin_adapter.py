"""Contract tests of the LinkedIn adapter against a fake LinkedIn on a loopback socket.

The fake (tests/fakes/linkedin.py) follows LinkedIn's documented OAuth, versioned REST API,
upload flows and error bodies, shows a post's commentary the way LinkedIn renders little text
(cut at an unescaped reserved character), and records in `received` every post it created."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from postwizard.platforms.linkedin import LinkedInPlatform
from postwizard.platforms.linkedin.api import retry_after_seconds
from postwizard.platforms.linkedin.little_text import escape_little_text, unescape_little_text
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
from tests.fakes.linkedin import MEMBER_SCOPES, FakeLinkedIn, displayed
from tests.support.adapter_tests import redirect_query, request, sha256_of
from tests.support.serving import serving

CLIENT_TIMEOUT_S = 1.0
REDIRECT_URI = "https://postwizard.example/api/v1/oauth/linkedin/callback"
MIB = 1024 * 1024


@pytest.fixture
def fake() -> FakeLinkedIn:
    server = FakeLinkedIn()
    member = server.add_member("782bbtaQ", "Ada", "Lovelace")
    server.add_organization(2414183, "Analytical Engines", "analytical-engines", {member.urn}, 900)
    server.add_organization(5515715, "Other Co", "other-co", set())
    server.redirect_uris = [REDIRECT_URI]
    return server


@pytest.fixture
def base_url(fake: FakeLinkedIn) -> Iterator[str]:
    with serving(fake.app()) as url:
        yield url


def make_platform(base_url: str, fake: FakeLinkedIn, **options: object) -> LinkedInPlatform:
    settings: dict[str, object] = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "version": "202610",
        "organization_pages": True,
        "api_url": base_url,
        "authorize_url": f"{base_url}/oauth/v2/authorization",
        "token_url": f"{base_url}/oauth/v2/accessToken",
        "timeout": CLIENT_TIMEOUT_S,
        "media_poll_interval": 0.01,
    }
    return LinkedInPlatform(**(settings | options))  # type: ignore[arg-type]


@pytest.fixture
async def platform(base_url: str, fake: FakeLinkedIn) -> AsyncIterator[LinkedInPlatform]:
    adapter = make_platform(base_url, fake)
    yield adapter
    await adapter.aclose()


def ref(author: str, credentials: dict[str, str]) -> AccountRef:
    return AccountRef(
        id=uuid.uuid4(),
        network=Network.LINKEDIN,
        handle=author,
        credentials=credentials,
        options={"author": author},
    )


@pytest.fixture
def ada(fake: FakeLinkedIn) -> AccountRef:
    return ref("urn:li:person:782bbtaQ", {"access_token": fake.issue_token("782bbtaQ")})


@pytest.fixture
def page(fake: FakeLinkedIn) -> AccountRef:
    return ref("urn:li:organization:2414183", {"access_token": fake.issue_token("782bbtaQ")})


def media_file(tmp_path: Path, name: str, *, size: int, kind: str = "image") -> MediaItem:
    block = hashlib.sha256(name.encode()).digest() * 32
    path = tmp_path / name
    path.write_bytes((block * (size // len(block) + 1))[:size])
    return MediaItem(
        kind="video" if kind == "video" else "image",
        mime_type="video/mp4" if kind == "video" else "image/png",
        size_bytes=size,
        path=path,
        filename=name,
        alt_text=f"{name} described",
        duration_seconds=12.0 if kind == "video" else None,
    )


# --- Connecting ------------------------------------------------------------------------------


async def test_one_sign_in_connects_the_member_and_the_pages_they_administer(
    fake: FakeLinkedIn, base_url: str, platform: LinkedInPlatform
) -> None:
    assert isinstance(platform, OAuthConnector)
    assert isinstance(platform, Refreshable)
    start = await platform.start_oauth({}, REDIRECT_URI, "st4te")
    url = urlsplit(start.authorize_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{base_url}/oauth/v2/authorization"
    query = parse_qs(url.query)
    assert query["scope"] == [
        "openid profile w_member_social w_organization_social r_organization_social "
        "rw_organization_admin"
    ]
    assert query["state"] == ["st4te"]

    back = await redirect_query(start.authorize_url, REDIRECT_URI)
    assert back["state"] == ["st4te"]
    accounts = list(await platform.finish_oauth(start.pending, back["code"][0], REDIRECT_URI))

    assert [(a.remote_id, a.handle, a.display_name) for a in accounts] == [
        ("urn:li:person:782bbtaQ", "Ada Lovelace", "Ada Lovelace"),
        ("urn:li:organization:2414183", "analytical-engines", "Analytical Engines"),
    ]
    assert accounts[1].options == {
        "author": "urn:li:organization:2414183",
        "kind": "organization",
        "member": "urn:li:person:782bbtaQ",
    }
    credentials = accounts[0].credentials
    assert credentials == accounts[1].credentials
    assert fake.tokens[credentials["access_token"]].member == "782bbtaQ"
    assert credentials["refresh_token"] in fake.refresh_tokens
    # Every versioned call carried the configured LinkedIn-Version.
    assert {v for _, path, v in fake.requests if path.startswith("/rest/")} == {"202610"}


async def test_without_page_access_only_the_member_is_connected(
    fake: FakeLinkedIn, base_url: str
) -> None:
    fake.app_scopes = MEMBER_SCOPES
    adapter = make_platform(base_url, fake, organization_pages=False)
    try:
        start = await adapter.start_oauth({}, REDIRECT_URI, "s")
        back = await redirect_query(start.authorize_url, REDIRECT_URI)
        accounts = list(await adapter.finish_oauth({}, back["code"][0], REDIRECT_URI))
    finally:
        await adapter.aclose()
    assert [a.remote_id for a in accounts] == ["urn:li:person:782bbtaQ"]
    assert not any(path.startswith("/rest/") for _, path, _ in fake.requests)


async def test_a_code_is_single_use_and_bound_to_its_redirect_uri(
    platform: LinkedInPlatform,
) -> None:
    start = await platform.start_oauth({}, REDIRECT_URI, "s")
    code = (await redirect_query(start.authorize_url, REDIRECT_URI))["code"][0]
    with pytest.raises(ConnectError, match="Start connecting again"):
        await platform.finish_oauth({}, code, REDIRECT_URI + "/elsewhere")
    with pytest.raises(ConnectError, match="does not match authorization code"):
        await platform.finish_oauth({}, code, REDIRECT_URI)


async def test_a_retired_version_is_an_actionable_error_at_connect(
    fake: FakeLinkedIn, base_url: str
) -> None:
    adapter = make_platform(base_url, fake, version="202401")
    try:
        start = await adapter.start_oauth({}, REDIRECT_URI, "s")
        back = await redirect_query(start.authorize_url, REDIRECT_URI)
        with pytest.raises(ConnectError) as caught:
            await adapter.finish_oauth({}, back["code"][0], REDIRECT_URI)
    finally:
        await adapter.aclose()
    assert "POSTWIZARD_LINKEDIN_VERSION" in caught.value.message
    assert "202401" in caught.value.message


# --- Renewing --------------------------------------------------------------------------------


def test_refresh_is_due_a_day_before_expiry_and_only_with_a_refresh_token(
    platform: LinkedInPlatform,
) -> None:
    now = datetime.now(UTC)
    soon = (now + timedelta(hours=3)).isoformat()
    later = (now + timedelta(days=30)).isoformat()
    assert platform.needs_refresh({"expires_at": soon, "refresh_token": "r"}, now)
    assert not platform.needs_refresh({"expires_at": later, "refresh_token": "r"}, now)
    assert not platform.needs_refresh({"expires_at": soon}, now)
    gone = (now - timedelta(days=1)).isoformat()
    assert not platform.needs_refresh(
        {"expires_at": soon, "refresh_token": "r", "refresh_expires_at": gone}, now
    )


async def test_an_expired_token_is_refreshed_and_the_post_then_goes_out(
    fake: FakeLinkedIn, platform: LinkedInPlatform, ada: AccountRef
) -> None:
    token = ada.credentials["access_token"]
    fake.expire(token)
    refresh_token = fake.issue_refresh_token("782bbtaQ")
    expired = ref(
        "urn:li:person:782bbtaQ",
        {
            "access_token": token,
            "refresh_token": refresh_token,
            "expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        },
    )
    with pytest.raises(TokenExpiredError):
        await platform.publish(expired, request("after renewal"))

    renewed = await platform.refresh(expired)
    assert renewed["access_token"] != token
    assert renewed["refresh_token"] == refresh_token
    await platform.publish(ref(expired.handle, {**expired.credentials, **renewed}), request("ok"))
    assert [p.displayed for p in fake.received] == ["ok"]


async def test_a_revoked_token_needs_reconnecting_even_with_a_refresh_token(
    fake: FakeLinkedIn, platform: LinkedInPlatform, ada: AccountRef
) -> None:
    fake.revoke(ada.credentials["access_token"])
    revoked = ref(ada.handle, {**ada.credentials, "refresh_token": "r"})
    with pytest.raises(AuthExpiredError) as caught:
        await platform.publish(revoked, request("x"))
    assert not isinstance(caught.value, TokenExpiredError)
    assert "revoked" in caught.value.message
    with pytest.raises(AuthExpiredError, match="invalid, expired or revoked"):
        await platform.refresh(revoked)


# --- Publishing ------------------------------------------------------------------------------


async def test_a_member_post_keeps_every_reserved_character_of_the_text(
    fake: FakeLinkedIn, platform: LinkedInPlatform, ada: AccountRef
) -> None:
    text = (
        "Launch (finally)! 50% off *today* for team_members @ the expo <3 ~ see "
        "https://en.wikipedia.org/wiki/Go_(game) {details} [soon] #launch #big_day \\o/ | end"
    )
    published = await platform.publish(ada, request(text))

    (post,) = fake.received
    assert post.displayed == text  # nothing cut off
    assert "#launch" in post.commentary  # hashtags stay clickable
    assert post.author == "urn:li:person:782bbtaQ"
    assert post.visibility == "PUBLIC"
    assert published.remote_id == post.urn
    assert published.url == f"https://www.linkedin.com/feed/update/{post.urn}/"


def test_unescaped_text_would_be_cut_where_linkedin_cuts_it() -> None:
    # The fake is strict about little text, so the test above can fail.
    assert displayed("Launch (finally)") == "Launch "
    assert unescape_little_text(escape_little_text("a_b (c) #tag")) == "a_b (c) #tag"


async def test_an_organization_post_with_several_images(
    fake: FakeLinkedIn, platform: LinkedInPlatform, page: AccountRef, tmp_path: Path
) -> None:
    images = [media_file(tmp_path, f"{n}.png", size=40_000 + n) for n in range(3)]
    await platform.publish(page, request("Our new office", media=images))

    (post,) = fake.received
    assert post.author == "urn:li:organization:2414183"
    assert fake.media_sha256(post) == [sha256_of(i) for i in images]
    assert [i["altText"] for i in post.content["multiImage"]["images"]] == [  # type: ignore[index]
        f"{n}.png described" for n in range(3)
    ]


async def test_a_video_is_uploaded_in_parts_and_posted_once_processed(
    fake: FakeLinkedIn, platform: LinkedInPlatform, page: AccountRef, tmp_path: Path
) -> None:
    fake.video_processing_polls = 3
    clip = media_file(tmp_path, "clip.mp4", size=9 * MIB + 123, kind="video")
    await platform.publish(page, request("Watch this", media=[clip]))

    (post,) = fake.received
    assert fake.media_sha256(post) == [sha256_of(clip)]
    parts = [path for method, path, _ in fake.requests if method == "PUT"]
    assert len(parts) == 3  # 4 MiB + 4 MiB + the rest


async def test_a_video_still_processing_is_retried_later(
    fake: FakeLinkedIn, base_url: str, page: AccountRef, tmp_path: Path
) -> None:
    fake.video_processing_polls = 10_000
    adapter = make_platform(base_url, fake, media_timeout=0.2)
    try:
        clip = media_file(tmp_path, "c.mp4", size=200_000, kind="video")
        with pytest.raises(TransientError, match="still processing"):
            await adapter.publish(page, request("slow", media=[clip]))
    finally:
        await adapter.aclose()
    assert fake.received == []


@pytest.mark.parametrize(
    ("text", "count", "kind", "size", "expected"),
    [
        pytest.param("x" * 3001, 0, "image", 0, "limit is 3000", id="text-over-3000"),
        pytest.param("two videos", 2, "video", 100_000, "video", id="two-videos"),
        pytest.param("big image", 1, "image", 6_000_000, "image", id="image-over-5-mb"),
        pytest.param("21 images", 21, "image", 1_000, "20", id="21-images"),
    ],
)
async def test_each_limit_is_enforced_before_anything_is_sent(
    fake: FakeLinkedIn,
    platform: LinkedInPlatform,
    ada: AccountRef,
    tmp_path: Path,
    text: str,
    count: int,
    kind: str,
    size: int,
    expected: str,
) -> None:
    items = [media_file(tmp_path, f"m{n}", size=size, kind=kind) for n in range(count)]
    with pytest.raises(PermanentError, match=expected):
        await platform.publish(ada, request(text, media=items))
    assert fake.requests == []


async def test_exactly_3000_characters_go_out(
    fake: FakeLinkedIn, platform: LinkedInPlatform, ada: AccountRef
) -> None:
    await platform.publish(ada, request("y" * 3000))
    assert len(fake.received[0].displayed) == 3000


async def test_a_retired_version_names_the_setting_and_the_value_sent(
    fake: FakeLinkedIn, base_url: str, ada: AccountRef
) -> None:
    adapter = make_platform(base_url, fake, version="202401")
    try:
        with pytest.raises(PermanentError) as caught:
            await adapter.publish(ada, request("stale version"))
    finally:
        await adapter.aclose()
    assert caught.value.http_status == 426
    assert "LinkedIn-Version: 202401" in caught.value.message
    assert "POSTWIZARD_LINKEDIN_VERSION" in caught.value.message
    assert fake.received == []


async def test_a_missing_version_is_just_as_clear(
    fake: FakeLinkedIn, base_url: str, ada: AccountRef
) -> None:
    adapter = make_platform(base_url, fake, version="")
    try:
        with pytest.raises(PermanentError, match="POSTWIZARD_LINKEDIN_VERSION") as caught:
            await adapter.publish(ada, request("no version"))
    finally:
        await adapter.aclose()
    assert caught.value.http_status == 400


async def test_posting_to_a_page_without_admin_rights_names_the_permission(
    fake: FakeLinkedIn, platform: LinkedInPlatform
) -> None:
    other = ref("urn:li:organization:5515715", {"access_token": fake.issue_token("782bbtaQ")})
    with pytest.raises(AuthExpiredError, match="w_organization_social"):
        await platform.publish(other, request("not my page"))
    member_only = ref(
        "urn:li:person:782bbtaQ",
        {"access_token": fake.issue_token("782bbtaQ", frozenset({"openid", "profile"}))},
    )
    with pytest.raises(AuthExpiredError, match="w_member_social"):
        await platform.publish(member_only, request("no write scope"))


async def test_a_429_without_headers_waits_until_the_daily_limit_resets(
    fake: FakeLinkedIn, platform: LinkedInPlatform, ada: AccountRef
) -> None:
    fake.rate_limit_next_create = True
    with pytest.raises(RateLimitedError) as caught:
        await platform.publish(ada, request("throttled"))
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    assert abs(caught.value.retry_after - ((midnight - now).total_seconds() + 60)) < 5
    assert retry_after_seconds({}, "Too many requests", now) == 300
    assert retry_after_seconds({"Retry-After": "42"}, "x", now) == 42


# --- Unknown outcomes --------------------------------------------------------------------------


async def test_a_timeout_after_posting_to_a_page_is_reconciled_without_a_duplicate(
    fake: FakeLinkedIn, platform: LinkedInPlatform, page: AccountRef
) -> None:
    fake.add_post(
        "urn:li:organization:2414183",
        escape_little_text("Same words (again)"),
        at=datetime.now(UTC) - timedelta(days=3),
    )
    delivery = request("Same words (again)")
    fake.hang_after_next_create = CLIENT_TIMEOUT_S + 2
    with pytest.raises(UnknownOutcomeError):
        await platform.publish(page, delivery)

    found = await platform.reconcile(page, delivery)

    (post,) = fake.received
    assert found is not None
    assert found.remote_id == post.urn  # not the older post with the same words


async def test_a_5xx_before_applying_is_reconciled_as_absent_then_posted_once(
    fake: FakeLinkedIn, platform: LinkedInPlatform, page: AccountRef
) -> None:
    delivery = request("Lost answer")
    fake.fail_next_create = 502
    with pytest.raises(UnknownOutcomeError):
        await platform.publish(page, delivery)
    assert await platform.reconcile(page, delivery) is None
    await platform.publish(page, delivery)
    assert [p.displayed for p in fake.received] == ["Lost answer"]


async def test_reconcile_pages_back_to_the_first_attempt(
    fake: FakeLinkedIn, platform: LinkedInPlatform, page: AccountRef
) -> None:
    first_attempt = datetime.now(UTC) - timedelta(minutes=20)
    target = fake.add_post("urn:li:organization:2414183", "needle", at=first_attempt)
    for n in range(120):
        fake.add_post(
            "urn:li:organization:2414183", f"post {n}", at=first_attempt + timedelta(seconds=n + 1)
        )
    found = await platform.reconcile(page, request("needle", first_attempt_at=first_attempt))
    assert found is not None
    assert found.remote_id == target.urn


async def test_a_member_post_cannot_be_looked_up_without_r_member_social(
    fake: FakeLinkedIn, platform: LinkedInPlatform, ada: AccountRef
) -> None:
    fake.fail_next_create_after_apply = 504
    delivery = request("member post")
    with pytest.raises(UnknownOutcomeError):
        await platform.publish(ada, delivery)
    with pytest.raises(UndecidableOutcomeError, match="r_member_social"):
        await platform.reconcile(ada, delivery)
    assert len(fake.received) == 1


# --- Measuring -------------------------------------------------------------------------------


async def test_page_post_statistics_and_followers(
    fake: FakeLinkedIn, platform: LinkedInPlatform, page: AccountRef
) -> None:
    published = await platform.publish(page, request("measure me"))
    fake.posts[published.remote_id].statistics = {
        "impressionCount": 5000,
        "uniqueImpressionsCount": 3100,
        "clickCount": 120,
        "likeCount": 80,
        "commentCount": 12,
        "shareCount": 9,
        "engagement": 0.044,
    }
    (metrics,) = await platform.fetch_post_metrics(page, [published.remote_id])
    stats = await platform.fetch_account_stats(page)

    assert (metrics.impressions, metrics.likes, metrics.replies, metrics.reposts) == (
        5000,
        80,
        12,
        9,
    )
    assert metrics.extra == {"clicks": 120, "unique_impressions": 3100, "engagement": 0.044}
    assert stats.followers == 900


async def test_member_posts_give_reactions_and_comments_where_allowed(
    fake: FakeLinkedIn, platform: LinkedInPlatform, ada: AccountRef
) -> None:
    published = await platform.publish(ada, request("hello network"))
    post = fake.posts[published.remote_id]
    post.reactions, post.comments = {"LIKE": 10, "PRAISE": 2}, 4

    with pytest.raises(PermanentError, match="r_member_social"):
        await platform.fetch_post_metrics(ada, [published.remote_id])

    reader = ref(
        ada.handle,
        {"access_token": fake.issue_token("782bbtaQ", MEMBER_SCOPES | {"r_member_social"})},
    )
    (metrics,) = await platform.fetch_post_metrics(reader, [published.remote_id])
    assert (metrics.likes, metrics.replies, metrics.impressions) == (12, 4, None)
    assert (await platform.fetch_account_stats(ada)).followers is None
