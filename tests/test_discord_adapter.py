"""Contract tests of the Discord webhook adapter against a fake webhook API on a loopback socket.

The fake (tests/fakes/discord.py) follows Discord's documented webhook routes, request
encodings, rate-limit headers and error bodies; its `messages` record is the independent
evidence of what was posted, and how many times."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from postwizard.platforms.discord import DISCORD_WEBHOOK_BASES, DiscordPlatform, parse_webhook_url
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    AuthExpiredError,
    ConnectError,
    FormConnector,
    MediaItem,
    PermanentError,
    PublishRequest,
    RateLimitedError,
    Refreshable,
    TokenExpiredError,
    TransientError,
    UndecidableOutcomeError,
    UnknownOutcomeError,
)
from tests.fakes.discord import FakeDiscord, FakeWebhook
from tests.support import adapter_tests
from tests.support.adapter_tests import engine_account, sha256_of
from tests.support.services import free_port
from tests.support.serving import serving

CLIENT_TIMEOUT_S = 1.0
HANG_S = 2.5  # longer than the client waits


@dataclass
class Scene:
    fake: FakeDiscord
    webhook: FakeWebhook
    base_url: str

    @property
    def webhook_url(self) -> str:
        return self.fake.url(self.base_url, self.webhook)


@pytest.fixture
def fake() -> FakeDiscord:
    return FakeDiscord(hang_seconds=HANG_S)


@pytest.fixture
def scene(fake: FakeDiscord) -> Iterator[Scene]:
    webhook = fake.add_webhook("Release notes")
    with serving(fake.app) as base_url:
        yield Scene(fake, webhook, base_url)


def platform_for(scene: Scene, max_rate_limit_wait: float = 5.0) -> DiscordPlatform:
    return DiscordPlatform(
        timeout=CLIENT_TIMEOUT_S,
        extra_webhook_bases=[scene.base_url],
        max_rate_limit_wait=max_rate_limit_wait,
    )


@pytest.fixture
async def discord(scene: Scene) -> AsyncIterator[DiscordPlatform]:
    platform = platform_for(scene)
    yield platform
    await platform.aclose()


@pytest.fixture
async def account(discord: DiscordPlatform, scene: Scene) -> AccountRef:
    return engine_account(
        await discord.connect({"webhook_url": scene.webhook_url}), Network.DISCORD
    )


def request(text: str, *media: MediaItem, **options: object) -> PublishRequest:
    """A delivery of its own (a fresh marker) with these media and per-network options."""
    return adapter_tests.request(
        text, marker=f"delivery-{uuid.uuid4()}", media=media, options=options
    )


def image(tmp_path: Path, name: str = "chart.png", alt: str = "Sales went up") -> MediaItem:
    path = tmp_path / name
    Image.new("RGB", (80, 40), "teal").save(path, format="PNG")
    return MediaItem(
        kind="image",
        mime_type="image/png",
        size_bytes=path.stat().st_size,
        path=path,
        filename=name,
        alt_text=alt,
        width=80,
        height=40,
    )


def video(tmp_path: Path, size: int = 1_500_000) -> MediaItem:
    path = tmp_path / "demo.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * (size // 256))
    return MediaItem(
        kind="video",
        mime_type="video/mp4",
        size_bytes=path.stat().st_size,
        path=path,
        filename="demo.mp4",
        alt_text="A short demo",
    )


# --- Connecting ------------------------------------------------------------------------------


async def test_connect_checks_the_webhook_and_keeps_where_it_posts(
    discord: DiscordPlatform, scene: Scene
) -> None:
    connected = await discord.connect({"webhook_url": f"  {scene.webhook_url}  "})

    assert isinstance(discord, FormConnector)
    assert [f.name for f in discord.connect_fields] == ["webhook_url"]
    assert connected.remote_id == scene.webhook.id
    assert connected.handle == connected.display_name == "Release notes"
    assert connected.credentials == {"webhook_url": scene.webhook_url}
    assert connected.options == {
        "webhook_id": scene.webhook.id,
        "guild_id": scene.webhook.guild_id,
        "channel_id": scene.webhook.channel_id,
    }
    assert scene.fake.reads_received == 1


async def test_connect_accepts_a_versioned_url_that_names_a_thread(
    discord: DiscordPlatform, scene: Scene
) -> None:
    versioned = (
        f"{scene.base_url}/api/v10/webhooks/{scene.webhook.id}/{scene.webhook.token}"
        "?thread_id=123456789012345678"
    )

    connected = await discord.connect({"webhook_url": versioned})

    assert connected.credentials == {"webhook_url": scene.webhook_url}
    assert connected.options["thread_id"] == "123456789012345678"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "https://example.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz",
        "https://discord.com.evil.example/api/webhooks/123456789012345678/abcdefghijklmnopqrst",
        "http://discord.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz",
        "https://discord.com/channels/123456789012345678/123456789012345678",
    ],
)
async def test_connect_refuses_what_is_not_a_discord_webhook_url_without_calling(
    discord: DiscordPlatform, scene: Scene, url: str
) -> None:
    with pytest.raises(ConnectError) as refused:
        await discord.connect({"webhook_url": url})

    assert refused.value.field == "webhook_url"
    assert "https://discord.com/api/webhooks/" in refused.value.message
    assert scene.fake.reads_received == 0


@pytest.mark.parametrize("base", DISCORD_WEBHOOK_BASES)
def test_every_discord_host_is_a_webhook_base(base: str) -> None:
    address = parse_webhook_url(
        f"{base}/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz0123",
        frozenset(DISCORD_WEBHOOK_BASES),
    )

    assert address is not None
    assert address.url == f"{base}/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz0123"


@pytest.mark.parametrize("change", ["delete", "rotate"])
async def test_connect_says_the_webhook_was_deleted_or_the_url_is_wrong(
    discord: DiscordPlatform, scene: Scene, change: str
) -> None:
    url = scene.webhook_url
    if change == "delete":
        scene.fake.delete_webhook(scene.webhook)
    else:
        scene.fake.rotate_token(scene.webhook)

    with pytest.raises(ConnectError) as refused:
        await discord.connect({"webhook_url": url})

    assert refused.value.field == "webhook_url"
    assert "deleted or the URL is wrong" in refused.value.message
    assert refused.value.http_status == (404 if change == "delete" else 401)


async def test_connect_refuses_a_webhook_that_cannot_post(
    discord: DiscordPlatform, scene: Scene
) -> None:
    follower = scene.fake.add_webhook("Announcements follower", type=2)

    with pytest.raises(ConnectError) as refused:
        await discord.connect({"webhook_url": scene.fake.url(scene.base_url, follower)})

    assert refused.value.field == "webhook_url"


async def test_connect_blames_no_field_when_discord_cannot_answer(scene: Scene) -> None:
    dead_base = f"http://127.0.0.1:{free_port()}"
    platform = DiscordPlatform(timeout=CLIENT_TIMEOUT_S, extra_webhook_bases=[dead_base])
    try:
        with pytest.raises(ConnectError) as refused:
            await platform.connect({"webhook_url": scene.fake.url(dead_base, scene.webhook)})
    finally:
        await platform.aclose()

    assert refused.value.field is None


# --- Publishing ------------------------------------------------------------------------------


async def test_a_message_is_posted_and_linked(
    discord: DiscordPlatform, scene: Scene, account: AccountRef
) -> None:
    published = await discord.publish(account, request("Version 2.0 is out <3 & more"))

    [message] = scene.fake.messages
    assert message.content == "Version 2.0 is out <3 & more"
    assert published.remote_id == message.id
    assert published.url == (
        f"https://discord.com/channels/{scene.webhook.guild_id}/"
        f"{scene.webhook.channel_id}/{message.id}"
    )
    assert published.published_at is not None
    assert abs(published.published_at - datetime.now(UTC)) < timedelta(minutes=1)


async def test_message_options_reach_discord(
    discord: DiscordPlatform, scene: Scene, account: AccountRef
) -> None:
    await discord.publish(
        account,
        request(
            "Changelog",
            username="PostWizard",
            avatar_url="https://example.com/avatar.png",
            embed={"title": "Read more", "url": "https://example.com/changelog"},
            link_preview=False,
            silent=True,
        ),
    )

    [message] = scene.fake.messages
    assert message.payload["username"] == "PostWizard"
    assert message.payload["avatar_url"] == "https://example.com/avatar.png"
    assert message.payload["embeds"] == [
        {"title": "Read more", "url": "https://example.com/changelog"}
    ]
    assert message.payload["flags"] == (1 << 2) | (1 << 12)


async def test_a_webhook_url_with_a_thread_posts_into_the_thread(
    discord: DiscordPlatform, scene: Scene
) -> None:
    thread_id = "223456789012345678"
    connected = await discord.connect({"webhook_url": f"{scene.webhook_url}?thread_id={thread_id}"})

    published = await discord.publish(
        engine_account(connected, Network.DISCORD), request("In the thread")
    )

    assert scene.fake.messages[0].channel_id == thread_id
    assert published.url is not None
    assert f"/{thread_id}/" in published.url


async def test_attachments_are_uploaded_with_their_alt_text(
    discord: DiscordPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    items = [image(tmp_path), video(tmp_path)]

    await discord.publish(account, request("Weekly numbers", *items))

    [message] = scene.fake.messages
    assert message.content == "Weekly numbers"
    assert [(a.filename, a.description, a.sha256) for a in message.attachments] == [
        ("chart.png", "Sales went up", sha256_of(items[0])),
        ("demo.mp4", "A short demo", sha256_of(items[1])),
    ]


async def test_an_attachment_without_text_is_posted(
    discord: DiscordPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    await discord.publish(account, request("", image(tmp_path)))

    [message] = scene.fake.messages
    assert "content" not in message.payload
    assert len(message.attachments) == 1


# --- Limits ----------------------------------------------------------------------------------


async def test_2000_characters_are_posted_and_2001_refused_before_sending(
    discord: DiscordPlatform, scene: Scene, account: AccountRef
) -> None:
    await discord.publish(account, request("x" * 2000))

    with pytest.raises(PermanentError) as refused:
        await discord.publish(account, request("x" * 2001))

    assert "the limit is 2000" in refused.value.message
    assert scene.fake.executes_received == 1


async def test_more_than_ten_attachments_are_refused_before_sending(
    discord: DiscordPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    items = [image(tmp_path, f"{n}.png") for n in range(11)]

    with pytest.raises(PermanentError) as refused:
        await discord.publish(account, request("Too many", *items))

    assert "at most 10 attachments" in refused.value.message
    assert scene.fake.executes_received == 0


async def test_attachments_over_10_mb_together_are_refused_before_sending(
    discord: DiscordPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    small = image(tmp_path)
    big = [
        MediaItem(
            kind="image",
            mime_type="image/png",
            size_bytes=6_000_000,
            path=small.path,
            filename=f"{n}.png",
        )
        for n in range(2)
    ]

    with pytest.raises(PermanentError) as refused:
        await discord.publish(account, request("Heavy", *big))

    assert "attachments per post" in refused.value.message
    assert scene.fake.executes_received == 0


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"username": "Discord Bot"}, 'username: Username cannot contain "discord"'),
        ({"embed": {"title": "t" * 300}}, "embeds.0.title: Must be 256 or fewer in length"),
    ],
)
async def test_an_invalid_form_body_names_the_field_at_fault(
    discord: DiscordPlatform,
    scene: Scene,
    account: AccountRef,
    options: dict[str, object],
    field: str,
) -> None:
    with pytest.raises(PermanentError) as refused:
        await discord.publish(account, request("Hello", **options))

    assert refused.value.message == f"Discord refused the message: {field}."
    assert refused.value.http_status == 400
    assert scene.fake.messages == []


# --- Rate limits -----------------------------------------------------------------------------


async def test_a_429_is_a_rate_limit_with_discords_retry_after(
    discord: DiscordPlatform, scene: Scene, account: AccountRef
) -> None:
    scene.fake.rate_limit_next_create(retry_after=0.5)

    with pytest.raises(RateLimitedError) as limited:
        await discord.publish(account, request("Hello"))

    assert limited.value.retry_after == 0.5
    assert scene.fake.messages == []


async def test_a_global_429_is_a_rate_limit_too(
    discord: DiscordPlatform, scene: Scene, account: AccountRef
) -> None:
    scene.fake.rate_limit_next_create(retry_after=0.25, is_global=True)

    with pytest.raises(RateLimitedError) as limited:
        await discord.publish(account, request("Hello"))

    assert limited.value.retry_after == 0.25
    assert "all requests" in limited.value.message


async def test_the_bucket_headers_make_the_adapter_wait_instead_of_hitting_429(
    scene: Scene,
) -> None:
    scene.fake.rate_limit, scene.fake.rate_window_s = 2, 1.0
    platform = platform_for(scene, max_rate_limit_wait=5.0)
    try:
        account = engine_account(
            await platform.connect({"webhook_url": scene.webhook_url}), Network.DISCORD
        )
        started = time.monotonic()
        for n in range(3):
            await platform.publish(account, request(f"Message {n}"))
        elapsed = time.monotonic() - started
    finally:
        await platform.aclose()

    assert [m.content for m in scene.fake.messages] == ["Message 0", "Message 1", "Message 2"]
    assert scene.fake.rate_limited_answers == 0
    assert elapsed >= 0.5  # the third waited for the bucket to reset


async def test_an_empty_bucket_that_resets_late_refuses_without_calling(scene: Scene) -> None:
    scene.fake.rate_limit, scene.fake.rate_window_s = 2, 5.0
    platform = platform_for(scene, max_rate_limit_wait=0.1)
    try:
        account = engine_account(
            await platform.connect({"webhook_url": scene.webhook_url}), Network.DISCORD
        )
        for n in range(2):
            await platform.publish(account, request(f"Message {n}"))
        with pytest.raises(RateLimitedError) as limited:
            await platform.publish(account, request("One too many"))
    finally:
        await platform.aclose()

    assert 3.0 < limited.value.retry_after <= 5.0
    assert scene.fake.executes_received == 2
    assert scene.fake.rate_limited_answers == 0


# --- Errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["delete", "rotate"])
async def test_a_deleted_webhook_means_the_account_needs_reconnecting(
    discord: DiscordPlatform, scene: Scene, account: AccountRef, change: str
) -> None:
    if change == "delete":
        scene.fake.delete_webhook(scene.webhook)
    else:
        scene.fake.rotate_token(scene.webhook)

    with pytest.raises(AuthExpiredError) as refused:
        await discord.publish(account, request("Hello"))

    assert "webhook was deleted" in refused.value.message
    assert account.credentials["webhook_url"] not in refused.value.message
    # A webhook URL cannot be refreshed: this is final, not a refresh case.
    assert not isinstance(refused.value, TokenExpiredError)
    assert not isinstance(discord, Refreshable)


@pytest.mark.parametrize("status", [500, 502])
async def test_a_server_error_after_sending_is_an_unknown_outcome(
    discord: DiscordPlatform, scene: Scene, account: AccountRef, status: int
) -> None:
    scene.fake.fail_next_create(status)

    with pytest.raises(UnknownOutcomeError) as unknown:
        await discord.publish(account, request("Hello"))

    assert unknown.value.http_status == status


async def test_an_unreachable_webhook_is_transient_because_nothing_was_sent(
    scene: Scene, account: AccountRef
) -> None:
    dead_base = f"http://127.0.0.1:{free_port()}"
    platform = DiscordPlatform(timeout=CLIENT_TIMEOUT_S, extra_webhook_bases=[dead_base])
    dead = AccountRef(
        id=account.id,
        network=Network.DISCORD,
        handle=account.handle,
        credentials={"webhook_url": scene.fake.url(dead_base, scene.webhook)},
        options=account.options,
    )
    try:
        with pytest.raises(TransientError):
            await platform.publish(dead, request("Hello"))
    finally:
        await platform.aclose()


async def test_a_timeout_after_discord_applied_the_message_is_never_resent(
    discord: DiscordPlatform, scene: Scene, account: AccountRef
) -> None:
    delivery = request("Exactly once, please")
    scene.fake.hang_after_next_create()

    with pytest.raises(UnknownOutcomeError):
        await discord.publish(account, delivery)

    # A webhook cannot tell whether it was posted: reconcile says so instead of guessing.
    with pytest.raises(UndecidableOutcomeError) as undecided:
        await discord.reconcile(account, delivery)

    assert "check" in undecided.value.message
    assert [m.content for m in scene.fake.messages] == ["Exactly once, please"]
    assert scene.fake.executes_received == 1


# --- Numbers ---------------------------------------------------------------------------------


async def test_a_webhook_gives_no_metrics_and_no_account_stats(
    discord: DiscordPlatform, account: AccountRef
) -> None:
    published = await discord.publish(account, request("Count me"))

    assert discord.provides_metrics is False
    assert await discord.fetch_post_metrics(account, [published.remote_id]) == []
    assert await discord.fetch_account_stats(account) == AccountStats()
