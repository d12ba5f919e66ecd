"""Contract tests of the Telegram adapter against a fake Bot API server on a loopback socket.

The fake (tests/fakes/telegram.py) follows the Bot API's documented methods, parameter encodings
and error bodies; its `posts` record is the independent evidence of what was posted, and how
many times."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

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
from postwizard.platforms.telegram import TelegramPlatform
from tests.fakes.telegram import FakeBot, FakeChat, FakeTelegram
from tests.support import adapter_tests
from tests.support.adapter_tests import engine_account, sha256_of
from tests.support.services import free_port
from tests.support.serving import serving

CLIENT_TIMEOUT_S = 1.0
HANG_S = 2.5  # longer than the client waits


@dataclass
class Scene:
    fake: FakeTelegram
    bot: FakeBot
    channel: FakeChat
    base_url: str


@pytest.fixture
def scene() -> Iterator[Scene]:
    """A bot that is an admin with the Post Messages right in the public channel @pw_news."""
    fake = FakeTelegram(hang_seconds=HANG_S)
    bot = fake.add_bot()
    channel = fake.add_chat("channel", "PostWizard News", username="pw_news", member_count=1234)
    fake.set_member(channel, bot, "administrator", can_post_messages=True)
    with serving(fake.app) as base_url:
        yield Scene(fake, bot, channel, base_url)


@pytest.fixture
async def telegram(scene: Scene) -> AsyncIterator[TelegramPlatform]:
    platform = TelegramPlatform(api_url=scene.base_url, timeout=CLIENT_TIMEOUT_S)
    yield platform
    await platform.aclose()


@pytest.fixture
async def account(telegram: TelegramPlatform, scene: Scene) -> AccountRef:
    connected = await telegram.connect({"bot_token": scene.bot.token, "chat_id": "@pw_news"})
    return engine_account(connected, Network.TELEGRAM)


def request(text: str, *media: MediaItem, **options: object) -> PublishRequest:
    """A delivery of its own (a fresh marker) with these media and per-network options."""
    return adapter_tests.request(
        text, marker=f"delivery-{uuid.uuid4()}", media=media, options=options
    )


def photo(tmp_path: Path, name: str = "photo.png", color: str = "orange") -> MediaItem:
    path = tmp_path / name
    Image.new("RGB", (64, 48), color).save(path, format="PNG")
    return MediaItem(
        kind="image",
        mime_type="image/png",
        size_bytes=path.stat().st_size,
        path=path,
        filename=name,
        alt_text="An orange square",
        width=64,
        height=48,
    )


def video(tmp_path: Path, name: str = "clip.mp4", size: int = 300_000) -> MediaItem:
    path = tmp_path / name
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * (size // 256))
    return MediaItem(
        kind="video",
        mime_type="video/mp4",
        size_bytes=path.stat().st_size,
        path=path,
        filename=name,
        width=640,
        height=360,
        duration_seconds=4.2,
    )


def creates(fake: FakeTelegram) -> list[str]:
    """The create calls the fake received, applied or not."""
    return [m for m in fake.requests if m.lower().startswith("send")]


# --- Connecting ------------------------------------------------------------------------------


async def test_connect_to_a_channel_where_the_bot_may_post(
    telegram: TelegramPlatform, scene: Scene
) -> None:
    connected = await telegram.connect({"bot_token": scene.bot.token, "chat_id": "@pw_news"})

    assert isinstance(telegram, FormConnector)
    assert [f.name for f in telegram.connect_fields] == ["bot_token", "chat_id"]
    assert connected.remote_id == str(scene.channel.id)
    assert connected.handle == "@pw_news"
    assert connected.display_name == "PostWizard News"
    assert connected.credentials == {"bot_token": scene.bot.token}
    assert connected.options["chat_id"] == scene.channel.id
    assert connected.options["chat_type"] == "channel"
    assert connected.options["bot_username"] == scene.bot.username
    assert [m.lower() for m in scene.fake.requests] == ["getme", "getchat", "getchatmember"]


@pytest.mark.parametrize("typed", ["pw_news", "https://t.me/pw_news", "  @PW_NEWS  "])
async def test_connect_understands_the_ways_people_write_a_channel(
    telegram: TelegramPlatform, scene: Scene, typed: str
) -> None:
    connected = await telegram.connect({"bot_token": scene.bot.token, "chat_id": typed})

    assert connected.remote_id == str(scene.channel.id)


async def test_connect_to_a_private_group_by_its_numeric_id(
    telegram: TelegramPlatform, scene: Scene
) -> None:
    group = scene.fake.add_chat("supergroup", "Team room", member_count=12)
    scene.fake.set_member(group, scene.bot, "member")

    connected = await telegram.connect({"bot_token": scene.bot.token, "chat_id": str(group.id)})

    assert connected.handle == "Team room"
    assert connected.options["chat_username"] is None


@pytest.mark.parametrize("token", ["", "not-a-token", "12345:short"])
async def test_connect_refuses_what_cannot_be_a_bot_token_without_asking_telegram(
    telegram: TelegramPlatform, scene: Scene, token: str
) -> None:
    with pytest.raises(ConnectError) as refused:
        await telegram.connect({"bot_token": token, "chat_id": "@pw_news"})

    assert refused.value.field == "bot_token"
    assert "@BotFather" in refused.value.message
    assert scene.fake.requests == []


async def test_connect_refuses_a_revoked_token(telegram: TelegramPlatform, scene: Scene) -> None:
    scene.fake.revoke(scene.bot)

    with pytest.raises(ConnectError) as refused:
        await telegram.connect({"bot_token": scene.bot.token, "chat_id": "@pw_news"})

    assert refused.value.field == "bot_token"
    assert "revoked" in refused.value.message
    assert scene.bot.token not in refused.value.message


@pytest.mark.parametrize("chat", ["@nobody_here", "-1009999999999"])
async def test_connect_refuses_a_chat_telegram_does_not_know(
    telegram: TelegramPlatform, scene: Scene, chat: str
) -> None:
    with pytest.raises(ConnectError) as refused:
        await telegram.connect({"bot_token": scene.bot.token, "chat_id": chat})

    assert refused.value.field == "chat_id"
    assert "add the bot" in refused.value.message


async def test_connect_refuses_what_cannot_be_a_chat(
    telegram: TelegramPlatform, scene: Scene
) -> None:
    with pytest.raises(ConnectError) as refused:
        await telegram.connect({"bot_token": scene.bot.token, "chat_id": "my channel!"})

    assert refused.value.field == "chat_id"
    assert scene.fake.requests == []


@pytest.mark.parametrize(
    ("status", "rights"),
    [("member", {}), ("administrator", {"can_post_messages": False}), ("left", {})],
)
async def test_connect_explains_that_the_bot_must_be_an_admin_who_may_post(
    telegram: TelegramPlatform, scene: Scene, status: str, rights: dict[str, bool]
) -> None:
    scene.fake.set_member(scene.channel, scene.bot, status, **rights)

    with pytest.raises(ConnectError) as refused:
        await telegram.connect({"bot_token": scene.bot.token, "chat_id": "@pw_news"})

    assert refused.value.field == "chat_id"
    assert "admin with the Post Messages right" in refused.value.message


async def test_connect_refuses_a_group_the_bot_was_removed_from(
    telegram: TelegramPlatform, scene: Scene
) -> None:
    group = scene.fake.add_chat("supergroup", "Open group", username="open_group")
    scene.fake.set_member(group, scene.bot, "kicked")

    with pytest.raises(ConnectError) as refused:
        await telegram.connect({"bot_token": scene.bot.token, "chat_id": "@open_group"})

    assert refused.value.field == "chat_id"
    assert "Add the bot to the group" in refused.value.message


async def test_connect_gives_the_new_id_of_a_group_that_became_a_supergroup(
    telegram: TelegramPlatform, scene: Scene
) -> None:
    group = scene.fake.add_chat("group", "Old group")
    scene.fake.set_member(group, scene.bot, "member")
    supergroup = scene.fake.migrate(group)

    with pytest.raises(ConnectError) as refused:
        await telegram.connect({"bot_token": scene.bot.token, "chat_id": str(group.id)})

    assert refused.value.field == "chat_id"
    assert str(supergroup.id) in refused.value.message


async def test_connect_blames_no_field_when_telegram_cannot_answer(scene: Scene) -> None:
    unreachable = TelegramPlatform(
        api_url=f"http://127.0.0.1:{free_port()}", timeout=CLIENT_TIMEOUT_S
    )
    try:
        with pytest.raises(ConnectError) as refused:
            await unreachable.connect({"bot_token": scene.bot.token, "chat_id": "@pw_news"})
    finally:
        await unreachable.aclose()

    assert refused.value.field is None


# --- Publishing ------------------------------------------------------------------------------


async def test_text_is_posted_exactly_as_typed(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef
) -> None:
    text = "Prices: 1 < 2 & 3 > 0, <b>not bold</b> &amp; not an entity. https://example.com"

    published = await telegram.publish(account, request(text))

    [post] = scene.fake.posts
    assert post.method == "sendMessage"
    assert post.text == text
    assert "parse_mode" not in post.params
    assert published.remote_id == f"{scene.channel.id}:{post.message_ids[0]}"
    assert published.url == f"https://t.me/pw_news/{post.message_ids[0]}"
    assert published.published_at is not None
    assert abs(published.published_at - datetime.now(UTC)) < timedelta(minutes=1)


async def test_link_preview_off_and_silent_posts_reach_telegram(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef
) -> None:
    await telegram.publish(
        account, request("Read https://example.com", link_preview=False, silent=True)
    )
    await telegram.publish(account, request("With a preview https://example.com"))

    quiet, loud = scene.fake.posts
    assert quiet.params["link_preview_options"] == {"is_disabled": True}
    assert quiet.params["disable_notification"] is True
    assert "link_preview_options" not in loud.params
    assert "disable_notification" not in loud.params


async def test_a_reply_names_the_message_it_answers(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef
) -> None:
    first = await telegram.publish(account, request("1/2 A thread"))

    await telegram.publish(
        account,
        PublishRequest(marker="second", text="2/2 continued", reply_to=first.remote_id),
    )

    reply = scene.fake.posts[1]
    assert reply.params["reply_parameters"]["message_id"] == scene.fake.posts[0].message_ids[0]


async def test_posts_in_a_private_chat_have_no_public_link(
    telegram: TelegramPlatform, scene: Scene
) -> None:
    private = scene.fake.add_chat("channel", "Members only")
    scene.fake.set_member(private, scene.bot, "administrator", can_post_messages=True)
    connected = await telegram.connect({"bot_token": scene.bot.token, "chat_id": str(private.id)})

    published = await telegram.publish(
        engine_account(connected, Network.TELEGRAM), request("Hello members")
    )

    assert published.url is None
    assert published.remote_id.startswith(f"{private.id}:")


async def test_one_photo_is_uploaded_with_its_caption(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    image = photo(tmp_path)

    published = await telegram.publish(account, request("Look at this", image))

    [post] = scene.fake.posts
    assert post.method == "sendPhoto"
    assert post.text == "Look at this"
    assert [(f.part, f.filename, f.sha256) for f in post.files] == [
        ("photo", "photo.png", sha256_of(image))
    ]
    assert published.url == f"https://t.me/pw_news/{post.message_ids[0]}"


async def test_one_video_is_uploaded_whole(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    clip = video(tmp_path, size=2_000_000)

    await telegram.publish(account, request("", clip))

    [post] = scene.fake.posts
    assert post.method == "sendVideo"
    assert post.files[0].sha256 == sha256_of(clip)
    assert post.files[0].size == clip.size_bytes
    assert post.params["supports_streaming"] == "true"
    assert post.params["duration"] == "4"


async def test_several_attachments_go_out_as_one_album_with_the_caption_first(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    items = [photo(tmp_path, "a.png", "red"), video(tmp_path), photo(tmp_path, "b.png", "blue")]

    published = await telegram.publish(account, request("Our week in pictures", *items))

    [post] = scene.fake.posts
    assert post.method == "sendMediaGroup"
    assert len(post.message_ids) == 3
    assert post.text == "Our week in pictures"
    assert [f.sha256 for f in post.files] == [sha256_of(item) for item in items]
    assert published.remote_id == f"{scene.channel.id}:{post.message_ids[0]}"


# --- Limits ----------------------------------------------------------------------------------


async def test_text_of_4096_characters_is_accepted_and_4097_refused_before_sending(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef
) -> None:
    await telegram.publish(account, request("🙂" * 4096))

    with pytest.raises(PermanentError) as refused:
        await telegram.publish(account, request("a" * 4097))

    assert "4096" in refused.value.message
    assert len(scene.fake.posts) == 1
    assert len(creates(scene.fake)) == 1


async def test_a_caption_over_1024_characters_is_refused_before_sending(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    with pytest.raises(PermanentError) as refused:
        await telegram.publish(account, request("a" * 1025, photo(tmp_path)))

    assert "1024 characters of caption" in refused.value.message
    assert creates(scene.fake) == []


async def test_more_than_ten_attachments_are_refused_before_sending(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    items = [photo(tmp_path, f"{n}.png") for n in range(11)]

    with pytest.raises(PermanentError) as refused:
        await telegram.publish(account, request("Too many", *items))

    assert "at most 10 attachments" in refused.value.message
    assert creates(scene.fake) == []


async def test_a_photo_over_10_mb_is_refused_before_sending(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    small = photo(tmp_path)
    huge = MediaItem(
        kind="image",
        mime_type=small.mime_type,
        size_bytes=10_000_001,
        path=small.path,
        filename=small.filename,
    )

    with pytest.raises(PermanentError) as refused:
        await telegram.publish(account, request("Big", huge))

    assert "up to 10,000,000 bytes" in refused.value.message
    assert creates(scene.fake) == []


async def test_a_file_telegram_cannot_read_as_a_photo_is_a_permanent_refusal(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a picture at all")
    item = MediaItem(
        kind="image",
        mime_type="image/png",
        size_bytes=broken.stat().st_size,
        path=broken,
        filename="broken.png",
    )

    with pytest.raises(PermanentError) as refused:
        await telegram.publish(account, request("Oops", item))

    assert refused.value.message == "Telegram refused the message: IMAGE_PROCESS_FAILED."
    assert refused.value.http_status == 400
    assert scene.fake.posts == []


# --- Errors ----------------------------------------------------------------------------------


async def test_flood_control_is_a_rate_limit_with_telegrams_retry_after(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef
) -> None:
    scene.fake.rate_limit_next_create(retry_after=5)

    with pytest.raises(RateLimitedError) as limited:
        await telegram.publish(account, request("Hello"))

    assert limited.value.retry_after == 5
    assert scene.fake.posts == []
    await telegram.publish(account, request("Hello"))
    assert len(scene.fake.posts) == 1


async def test_a_revoked_token_means_the_account_needs_reconnecting(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef
) -> None:
    scene.fake.revoke(scene.bot)

    with pytest.raises(AuthExpiredError) as refused:
        await telegram.publish(account, request("Hello"))

    # Bot tokens do not expire and cannot be refreshed: this is final, not a refresh case.
    assert not isinstance(refused.value, TokenExpiredError)
    assert not isinstance(telegram, Refreshable)
    assert refused.value.http_status == 401
    assert "@BotFather" in refused.value.message
    assert scene.bot.token not in refused.value.message


async def test_a_kicked_bot_means_the_account_needs_reconnecting(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef
) -> None:
    scene.fake.set_member(scene.channel, scene.bot, "kicked")

    with pytest.raises(AuthExpiredError) as refused:
        await telegram.publish(account, request("Hello"))

    assert refused.value.http_status == 403
    assert "bot was kicked from the channel chat" in refused.value.message


async def test_a_bot_that_lost_its_post_right_needs_reconnecting(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef
) -> None:
    scene.fake.set_member(scene.channel, scene.bot, "administrator", can_post_messages=False)

    with pytest.raises(AuthExpiredError) as refused:
        await telegram.publish(account, request("Hello"))

    assert "need administrator rights" in refused.value.message
    assert scene.fake.posts == []


@pytest.mark.parametrize("status", [500, 502])
async def test_a_server_error_after_a_create_is_an_unknown_outcome(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef, status: int
) -> None:
    scene.fake.fail_next_create(status)

    with pytest.raises(UnknownOutcomeError) as unknown:
        await telegram.publish(account, request("Hello"))

    assert unknown.value.http_status == status


async def test_a_server_error_on_a_read_is_transient(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef
) -> None:
    scene.fake.fail_next_read(500)

    with pytest.raises(TransientError):
        await telegram.fetch_account_stats(account)

    assert await telegram.fetch_account_stats(account) == AccountStats(followers=1234)


async def test_an_unreachable_api_is_transient_because_nothing_was_sent(
    account: AccountRef,
) -> None:
    unreachable = TelegramPlatform(
        api_url=f"http://127.0.0.1:{free_port()}", timeout=CLIENT_TIMEOUT_S
    )
    try:
        with pytest.raises(TransientError):
            await unreachable.publish(account, request("Hello"))
    finally:
        await unreachable.aclose()


async def test_a_timeout_after_telegram_applied_the_post_is_never_resent(
    telegram: TelegramPlatform, scene: Scene, account: AccountRef
) -> None:
    delivery = request("Exactly once, please")
    scene.fake.hang_after_next_create()

    with pytest.raises(UnknownOutcomeError) as unknown:
        await telegram.publish(account, delivery)
    assert scene.bot.token not in unknown.value.message

    # The Bot API cannot tell whether it was posted: reconcile says so instead of guessing.
    with pytest.raises(UndecidableOutcomeError) as undecided:
        await telegram.reconcile(account, delivery)

    assert "check" in undecided.value.message
    assert len(scene.fake.posts) == 1
    assert scene.fake.posts[0].text == "Exactly once, please"
    assert len(creates(scene.fake)) == 1


# --- Numbers ---------------------------------------------------------------------------------


async def test_telegram_gives_no_post_metrics_and_members_as_followers(
    telegram: TelegramPlatform, account: AccountRef
) -> None:
    published = await telegram.publish(account, request("Count me"))

    assert telegram.provides_metrics is False
    assert await telegram.fetch_post_metrics(account, [published.remote_id]) == []
    assert await telegram.fetch_account_stats(account) == AccountStats(followers=1234)
