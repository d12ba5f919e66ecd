"""Through the whole engine: accounts on the Mastodon, Bluesky, Telegram and Discord fake
servers connected through the API (OAuth for Mastodon, forms for the others), one scheduled
post with an image to all four, published by the dispatcher once each, at its time, with its
media, and its numbers collected afterwards where the network gives any; and an expired Bluesky session renewed by the engine without bothering anyone."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from postwizard.accounts.credentials import decrypt_credentials
from postwizard.api.resources import resources_of
from postwizard.platforms.bluesky import BlueskyPlatform
from postwizard.platforms.discord import DiscordPlatform
from postwizard.platforms.mastodon.platform import MastodonPlatform
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import Platform
from postwizard.platforms.telegram import TelegramPlatform
from postwizard.publishing.models import DeliveryState
from tests.api_client import ApiClient, schedule_post, set_up_owner
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord import FakeDiscord, FakeWebhook
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeBot, FakeTelegram
from tests.support.serving import serving
from tests.test_account_connect import (
    accounts_url,
    authorize,
    callback,
    connected_id,
    start_oauth,
    stored_account,
)
from tests.test_dispatcher import Clock, delivery_of, make_dispatcher, run_round
from tests.test_media import image_file, upload
from tests.test_metric_collection import make_collector

APP_PASSWORD = "abcd-efgh-ijkl-mnop"


@dataclass
class Networks:
    mastodon: FakeMastodon
    mastodon_url: str
    bluesky: FakeBluesky
    bluesky_url: str
    telegram: FakeTelegram
    telegram_url: str
    bot: FakeBot
    discord: FakeDiscord
    discord_url: str
    webhook: FakeWebhook


@pytest.fixture
def networks() -> Iterator[Networks]:
    mastodon = FakeMastodon(domain="fake.social")
    mastodon.add_account("alice", "Alice Example")
    bluesky = FakeBluesky()
    bluesky.add_account("alice.test", display_name="Alice", app_password=APP_PASSWORD)
    telegram = FakeTelegram()
    bot = telegram.add_bot()
    channel = telegram.add_chat("channel", "Bakery News", username="bakery_news")
    telegram.set_member(channel, bot, "administrator", can_post_messages=True)
    discord = FakeDiscord()
    webhook = discord.add_webhook("Bakery")
    with (
        serving(mastodon.app()) as mastodon_url,
        serving(bluesky.app) as bluesky_url,
        serving(telegram.app) as telegram_url,
        serving(discord.app) as discord_url,
    ):
        bluesky.pds_url = bluesky_url
        yield Networks(
            mastodon,
            mastodon_url,
            bluesky,
            bluesky_url,
            telegram,
            telegram_url,
            bot,
            discord,
            discord_url,
            webhook,
        )


@pytest.fixture
def extra_platforms(networks: Networks) -> dict[Network, Platform]:
    """The real adapters, pointed at the fake servers where a network has a fixed host."""
    return {
        Network.MASTODON: MastodonPlatform(),
        Network.BLUESKY: BlueskyPlatform(
            service_url=networks.bluesky_url, plc_directory_url=f"{networks.bluesky_url}/plc"
        ),
        Network.TELEGRAM: TelegramPlatform(api_url=networks.telegram_url),
        Network.DISCORD: DiscordPlatform(extra_webhook_bases=[networks.discord_url]),
    }


async def connect(api: ApiClient, workspace_id: str, network: str, **fields: str) -> str:
    answer = await api.post(
        f"{accounts_url(workspace_id)}/connect/{network}", json={"fields": fields}
    )
    assert answer.status_code == 201, answer.text
    account_id: str = answer.json()["id"]
    return account_id


async def connect_all(api: ApiClient, workspace_id: str, networks: Networks) -> dict[str, str]:
    code, state = await authorize(await start_oauth(api, workspace_id, networks.mastodon_url))
    return {
        "mastodon": connected_id(await callback(api, code=code, state=state)),
        "bluesky": await connect(
            api, workspace_id, "bluesky", identifier="alice.test", app_password=APP_PASSWORD
        ),
        "telegram": await connect(
            api, workspace_id, "telegram", bot_token=networks.bot.token, chat_id="@bakery_news"
        ),
        "discord": await connect(
            api,
            workspace_id,
            "discord",
            webhook_url=networks.discord.url(networks.discord_url, networks.webhook),
        ),
    }


@pytest.fixture
def when() -> datetime:
    return (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)


async def test_one_post_goes_out_once_to_each_network_at_its_time_with_its_image_and_numbers(
    app: FastAPI, client: ApiClient, networks: Networks, when: datetime
) -> None:
    owner = await set_up_owner(client)
    accounts = await connect_all(client, owner.workspace_id, networks)
    picture = image_file("PNG", (64, 48))
    uploaded = await upload(
        client, owner.workspace_id, picture, "loaf.png", "image/png", alt_text="A sourdough loaf"
    )
    assert uploaded.status_code == 201, uploaded.text
    text = "Fresh sourdough at 8 — come early! https://example.org/bread"
    post_id = await schedule_post(
        client,
        owner.workspace_id,
        list(accounts.values()),
        when.isoformat(),
        text,
        media_ids=[uploaded.json()["id"]],
    )
    posts_url = f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}"

    clock = Clock(when - timedelta(seconds=1))
    dispatcher = make_dispatcher(app, clock)
    assert await run_round(dispatcher) == 0  # not before its time
    clock.now = when
    assert await run_round(dispatcher) == 4
    assert await run_round(dispatcher) == 0  # and nothing left to do
    deliveries = (await client.get(f"{posts_url}/deliveries")).json()
    assert {d["network"]: d["state"] for d in deliveries} == {
        "mastodon": "published",
        "bluesky": "published",
        "telegram": "published",
        "discord": "published",
    }
    assert all(d["remote_id"] for d in deliveries)
    assert (await client.get(posts_url)).json()["status"] == "published"

    digest = hashlib.sha256(picture).hexdigest()
    (status,) = networks.mastodon.received
    assert status.text == text
    (media_id,) = status.media_ids
    assert networks.mastodon.media[media_id].sha256 == digest
    assert networks.mastodon.media[media_id].description == "A sourdough loaf"

    did = networks.bluesky.find_account("alice.test").did  # type: ignore[union-attr]
    (record,) = networks.bluesky.posts_of(did)
    assert record.value["text"] == text
    (image,) = record.value["embed"]["images"]
    assert image["alt"] == "A sourdough loaf"
    assert networks.bluesky.duplicate_creates == []

    (message,) = networks.telegram.posts
    assert message.method == "sendPhoto"
    assert [f.sha256 for f in message.files] == [digest]

    (webhook_message,) = networks.discord.messages
    assert webhook_message.content == text
    assert [a.sha256 for a in webhook_message.attachments] == [digest]

    # The audience reacts; the collector reads the numbers at the schedule's first step.
    status.favourites_count, status.reblogs_count = 7, 2
    record.likes, record.reposts = 5, 1
    collector = make_collector(app, Clock(when + timedelta(minutes=3)))
    assert await collector.collect_due() >= 2
    metrics = (await client.get(f"{posts_url}/metrics")).json()
    by_network = {d["network"]: d for d in metrics["deliveries"]}
    assert (
        by_network["mastodon"]["metrics"]["likes"],
        by_network["mastodon"]["metrics"]["reposts"],
    ) == (7, 2)
    assert (
        by_network["bluesky"]["metrics"]["likes"],
        by_network["bluesky"]["metrics"]["reposts"],
    ) == (5, 1)
    # Telegram and Discord give bots and webhooks no numbers: said, not shown as zeros.
    assert by_network["telegram"]["provides_metrics"] is False
    assert by_network["telegram"]["metrics"] is None
    assert by_network["discord"]["provides_metrics"] is False


async def test_an_expired_bluesky_session_is_renewed_by_the_engine_and_the_post_goes_out(
    app: FastAPI, client: ApiClient, networks: Networks, when: datetime
) -> None:
    owner = await set_up_owner(client)
    account_id = await connect(
        client, owner.workspace_id, "bluesky", identifier="alice.test", app_password=APP_PASSWORD
    )
    secret_key = resources_of(app).secret_key
    before = decrypt_credentials(
        secret_key, (await stored_account(app, account_id)).credentials_encrypted
    )
    networks.bluesky.expire_access_tokens()
    post_id = await schedule_post(client, owner.workspace_id, [account_id], when.isoformat())
    clock = Clock(when)
    dispatcher = make_dispatcher(app, clock)
    for _ in range(3):  # refused with an expired token, renewed, published
        await run_round(dispatcher)
        if (await delivery_of(app, post_id)).state == DeliveryState.PUBLISHED:
            break
        clock.now = (await delivery_of(app, post_id)).next_attempt_at
    assert (await delivery_of(app, post_id)).state == DeliveryState.PUBLISHED
    after = decrypt_credentials(
        secret_key, (await stored_account(app, account_id)).credentials_encrypted
    )
    assert after["access_jwt"] != before["access_jwt"]
    assert after["app_password"] == before["app_password"]  # kept, never erased
    account = (await client.get(f"{accounts_url(owner.workspace_id)}/{account_id}")).json()
    assert account["status"] == "connected"
    did = networks.bluesky.find_account("alice.test").did  # type: ignore[union-attr]
    assert len(networks.bluesky.posts_of(did)) == 1
