"""Through the whole engine: accounts on the X, Facebook Pages, Instagram, Threads and LinkedIn
fake servers connected through the connect API (each by its OAuth sign-in), plus a sandbox
account, and one scheduled post with an image to all six, published by the dispatcher once
each, at its time, with its image.

Instagram and Threads fetch media by URL, from the signed links PostWizard serves under its
public address, so here PostWizard answers on a real loopback socket at its `public_url` and
the fakes download the image from it, as the networks' servers would."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from postwizard.api.resources import resources_of
from postwizard.config import Settings
from postwizard.media.public_urls import PUBLIC_MEDIA_PATH, PublicMediaUrls
from postwizard.platforms.facebook import FacebookPlatform
from postwizard.platforms.instagram import InstagramPlatform
from postwizard.platforms.linkedin import LinkedInPlatform
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import Platform
from postwizard.platforms.threads import ThreadsPlatform
from postwizard.platforms.x import XPlatform
from postwizard.publishing.dispatcher import Dispatcher
from tests.api_client import ApiClient, add_sandbox_account, schedule_post, set_up_owner
from tests.fakes.graph import FakeGraph
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.threads import FakeThreads
from tests.fakes.x import FakeX
from tests.support.services import free_port
from tests.support.serving import serving
from tests.test_account_connect import authorize, callback, connected_id, start_oauth
from tests.test_dispatcher import Clock, make_dispatcher, run_round
from tests.test_media import image_file, upload

OAUTH_NETWORKS = ("x", "facebook", "instagram", "threads", "linkedin")
LINKEDIN_VERSION = "202610"
ALT_TEXT = "A sourdough loaf"


@pytest.fixture
def public_port() -> int:
    """Where PostWizard answers over a real socket: its public address, for media links."""
    return free_port()


@pytest.fixture
def public_url(public_port: int) -> str:
    return f"http://127.0.0.1:{public_port}"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], sqlite_url: str, public_url: str) -> Settings:
    return make_settings(database_url=sqlite_url, public_url=public_url)


def redirect_uri(public_url: str, network: str) -> str:
    return f"{public_url}/api/v1/oauth/{network}/callback"


@dataclass
class Networks:
    x: FakeX
    x_url: str
    graph: FakeGraph  # Facebook Pages and Instagram: one Graph API
    graph_url: str
    threads: FakeThreads
    threads_url: str
    linkedin: FakeLinkedIn
    linkedin_url: str


@pytest.fixture
def networks(public_url: str) -> Iterator[Networks]:
    x = FakeX(callback_urls=(redirect_uri(public_url, "x"),))
    x.add_user("alice", "Alice Example")
    x.check_after_secs = 0
    graph = FakeGraph()
    # One Facebook Page, with an Instagram professional account linked to it.
    graph.add_page("Alice's Bakery", username="alicesbakery", instagram="alicebakes")
    threads = FakeThreads()
    threads.add_user("alice", "Alice Example")
    threads.redirect_uris = [redirect_uri(public_url, "threads")]
    linkedin = FakeLinkedIn()
    linkedin.add_member("782bbtaQ", "Ada", "Lovelace")
    linkedin.redirect_uris = [redirect_uri(public_url, "linkedin")]
    with (
        serving(x.app()) as x_url,
        serving(graph.app()) as graph_url,
        serving(threads.app()) as threads_url,
        serving(linkedin.app()) as linkedin_url,
    ):
        yield Networks(x, x_url, graph, graph_url, threads, threads_url, linkedin, linkedin_url)


@pytest.fixture
def extra_platforms(networks: Networks) -> dict[Network, Platform]:
    """The real adapters as PostWizard's developer apps, pointed at the fake servers; Instagram
    and Threads accept media links on loopback (PostWizard's public address in this test)."""
    x, graph, threads, linkedin = networks.x, networks.graph, networks.threads, networks.linkedin
    return {
        Network.X: XPlatform(
            client_id=x.client_id,
            client_secret=x.client_secret,
            api_url=networks.x_url,
            authorize_url=f"{networks.x_url}/i/oauth2/authorize",
            media_poll_max_interval=0.01,
        ),
        Network.FACEBOOK: FacebookPlatform(
            app_id=graph.app_id,
            app_secret=graph.app_secret,
            graph_api_version=graph.version,
            graph_url=networks.graph_url,
            facebook_url=networks.graph_url,
        ),
        Network.INSTAGRAM: InstagramPlatform(
            app_id=graph.app_id,
            app_secret=graph.app_secret,
            graph_api_version=graph.version,
            graph_url=networks.graph_url,
            facebook_url=networks.graph_url,
            allow_private_media_urls=True,
            container_poll_interval=0.01,
        ),
        Network.THREADS: ThreadsPlatform(
            client_id=threads.client_id,
            client_secret=threads.client_secret,
            api_url=networks.threads_url,
            authorize_url=f"{networks.threads_url}/oauth/authorize",
            token_url=f"{networks.threads_url}/oauth/access_token",
            allow_private_media_urls=True,
            container_poll_interval=0.01,
        ),
        Network.LINKEDIN: LinkedInPlatform(
            client_id=linkedin.client_id,
            client_secret=linkedin.client_secret,
            version=LINKEDIN_VERSION,
            api_url=networks.linkedin_url,
            authorize_url=f"{networks.linkedin_url}/oauth/v2/authorization",
            token_url=f"{networks.linkedin_url}/oauth/v2/accessToken",
            media_poll_interval=0.01,
        ),
    }


@pytest.fixture
def public_app(app: FastAPI, public_port: int, public_url: str) -> Iterator[FastAPI]:
    """The test app (its lifespan already running) also answering on its public address."""
    with serving(app, port=public_port, lifespan="off") as url:
        assert url == public_url
        yield app


def publishing_dispatcher(app: FastAPI, clock: Clock) -> Dispatcher:
    """The test dispatcher with the signed media links the production one makes
    (`postwizard.app.dispatcher_for`), for the networks that fetch media by URL."""
    dispatcher = make_dispatcher(app, clock)
    held = resources_of(app)
    dispatcher.public_media_urls = PublicMediaUrls(
        held.secret_key, held.settings.effective_public_url
    )
    return dispatcher


async def connect_by_oauth(api: ApiClient, workspace_id: str, network: str) -> str:
    """Start connecting on PostWizard, approve on the network's authorize page, come back."""
    authorize_url = await start_oauth(api, workspace_id, network=network)
    code, state = await authorize(authorize_url, network)
    return connected_id(await callback(api, network, code=code, state=state))


@pytest.fixture
def when() -> datetime:
    return (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)


async def test_one_post_goes_out_once_to_each_network_at_its_time_with_its_image(
    public_app: FastAPI, client: ApiClient, networks: Networks, public_url: str, when: datetime
) -> None:
    owner = await set_up_owner(client)
    catalog = {n["id"]: n["connect"] for n in (await client.get("/api/v1/networks")).json()}
    assert {network: catalog[network] for network in OAUTH_NETWORKS} == dict.fromkeys(
        OAUTH_NETWORKS, "oauth"
    )
    accounts = {
        network: await connect_by_oauth(client, owner.workspace_id, network)
        for network in OAUTH_NETWORKS
    }
    accounts["sandbox"] = await add_sandbox_account(client, owner.workspace_id, "bakery")

    # JPEG, 4:3: an image every one of these networks takes (Instagram takes JPEG only).
    uploaded = await upload(
        client,
        owner.workspace_id,
        image_file("JPEG", (640, 480)),
        "loaf.jpg",
        "image/jpeg",
        alt_text=ALT_TEXT,
    )
    assert uploaded.status_code == 201, uploaded.text
    media = uploaded.json()
    # What PostWizard stores (images are re-encoded without metadata) is what it publishes.
    stored = await client.get(f"/api/v1/workspaces/{owner.workspace_id}/media/{media['id']}/file")
    assert stored.status_code == 200, stored.text
    digest = hashlib.sha256(stored.content).hexdigest()

    text = "Fresh sourdough at 8 — come early! https://example.org/bread"
    post_id = await schedule_post(
        client,
        owner.workspace_id,
        list(accounts.values()),
        when.isoformat(),
        text,
        media_ids=[media["id"]],
    )
    posts_url = f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}"

    clock = Clock(when - timedelta(seconds=1))
    dispatcher = publishing_dispatcher(public_app, clock)
    assert await run_round(dispatcher) == 0  # not before its time
    assert networks.graph.fetched_urls == []
    clock.now = when
    assert await run_round(dispatcher) == 6
    assert await run_round(dispatcher) == 0  # and nothing left to do
    deliveries = (await client.get(f"{posts_url}/deliveries")).json()
    assert {d["network"]: d["state"] for d in deliveries} == dict.fromkeys(
        [*OAUTH_NETWORKS, "sandbox"], "published"
    )
    assert all(d["remote_id"] for d in deliveries), deliveries
    assert (await client.get(posts_url)).json()["status"] == "published"
    remote_ids = {d["network"]: d["remote_id"] for d in deliveries}

    # X: one post, its image uploaded in chunks, with the alt text.
    (tweet,) = networks.x.received
    assert tweet.id == remote_ids["x"]
    assert tweet.sent_text == text
    (x_media_id,) = tweet.media_ids
    assert networks.x.media[x_media_id].sha256 == digest
    assert networks.x.media[x_media_id].alt_text == ALT_TEXT

    # Facebook: one Page post carrying the uploaded photo.
    (page_post,) = networks.graph.fb_received
    assert remote_ids["facebook"] == page_post.id
    assert page_post.message == text
    (photo_id,) = page_post.photo_ids
    assert networks.graph.photos[photo_id].sha256 == digest

    # Instagram: one post, from a container whose image Instagram downloaded from PostWizard's
    # signed public link.
    (ig_post,) = networks.graph.ig_received
    assert (ig_post.id, ig_post.caption, ig_post.media_type) == (
        remote_ids["instagram"],
        text,
        "IMAGE",
    )
    assert ig_post.container_id is not None
    container = networks.graph.containers[ig_post.container_id]
    assert container.sha256 == digest
    assert container.alt_text == ALT_TEXT
    assert container.url is not None
    assert container.url.startswith(f"{public_url}{PUBLIC_MEDIA_PATH}/")
    assert networks.graph.fetched_urls == [container.url]

    # Threads: one post, its image downloaded from PostWizard's public link too.
    (thread,) = networks.threads.received
    assert (thread.id, thread.text, thread.media_type) == (remote_ids["threads"], text, "IMAGE")
    assert thread.media_sha256 == [digest]
    assert thread.alt_texts == [ALT_TEXT]

    # LinkedIn: one post by the member, with the image uploaded through the Images API.
    (share,) = networks.linkedin.received
    assert share.urn == remote_ids["linkedin"]
    assert share.author == "urn:li:person:782bbtaQ"
    assert share.displayed == text
    assert networks.linkedin.media_sha256(share) == [digest]
    assert {v for _, path, v in networks.linkedin.requests if path.startswith("/rest/")} == {
        LINKEDIN_VERSION
    }

    # The sandbox: one post, no duplicate.
    record = (await client.get("/sandbox/v1/_record")).json()
    assert (record["posts"], record["duplicates"]) == (1, [])
