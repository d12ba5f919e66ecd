"""Signed, expiring public media links (`/media/public/<token>`), through HTTP: what Instagram's
and Threads' servers fetch, without signing in; and the dispatcher handing them to adapters."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI

from postwizard.api.resources import resources_of
from postwizard.media.public_urls import DEFAULT_LIFETIME, PublicMediaUrls
from postwizard.media.storage import media_key
from postwizard.platforms.networks import Network
from postwizard.platforms.registry import PlatformRegistry
from postwizard.publishing.dispatcher import Dispatcher
from tests.api_client import ApiClient, add_sandbox_account, set_up_owner
from tests.test_dispatch_content import Recording
from tests.test_dispatcher import Clock, run_round, when  # noqa: F401 - fixture
from tests.test_media import image_file, upload

JPEG = b"\xff\xd8\xff\xe0" + b"bread" * 1000


async def stored(app: FastAPI, data: bytes, extension: str = "jpg") -> str:
    key = media_key(hashlib.sha256(data).hexdigest(), extension)
    await resources_of(app).media_storage.put(key, data)
    return key


def signer(app: FastAPI, **options: object) -> PublicMediaUrls:
    held = resources_of(app)
    return PublicMediaUrls(held.secret_key, held.settings.effective_public_url, **options)  # type: ignore[arg-type]


def path_of(url: str) -> str:
    return urlsplit(url).path


async def test_a_signed_link_serves_the_file_to_anyone_until_it_expires(
    app: FastAPI, client: ApiClient
) -> None:
    key = await stored(app, JPEG)
    url = signer(app).url_for(key, "image/jpeg")
    assert url.startswith(resources_of(app).settings.effective_public_url + "/media/public/")

    answer = await client.get(path_of(url))  # no session: networks do not sign in

    assert answer.status_code == 200, answer.text
    assert answer.content == JPEG
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "private"
    head = await client.head(path_of(url))
    assert (head.status_code, head.content) == (200, b"")


async def test_a_tampered_or_foreign_link_is_not_found(app: FastAPI, client: ApiClient) -> None:
    key = await stored(app, JPEG)
    other = await stored(app, b"\xff\xd8\xff\xe0" + b"secret" * 1000)
    token = path_of(signer(app).url_for(key, "image/jpeg")).rsplit("/", 1)[1]
    payload, signature = token.split(".")
    other_payload = path_of(signer(app).url_for(other, "image/jpeg")).rsplit("/", 1)[1]
    foreign = PublicMediaUrls("another-instance-secret-" * 2, "https://x.example")

    for bad in (
        f"{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}",
        f"{other_payload.split('.')[0]}.{signature}",  # another file's name, this signature
        f"{payload}.",
        "not-a-token",
        path_of(foreign.url_for(other, "image/jpeg")).rsplit("/", 1)[1],
    ):
        answer = await client.get(f"/media/public/{bad}")
        assert answer.status_code == 404, (bad, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
        assert b"secret" not in answer.content


async def test_an_expired_link_is_gone_but_a_forged_expired_one_is_not_told_apart(
    app: FastAPI, client: ApiClient
) -> None:
    key = await stored(app, JPEG)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    expired = signer(app, clock=lambda: two_hours_ago).url_for(key, "image/jpeg")
    forged = PublicMediaUrls(
        "another-instance-secret-" * 2, "https://x.example", clock=lambda: two_hours_ago
    )

    answer = await client.get(path_of(expired))
    assert answer.status_code == 410
    assert answer.json()["error"]["code"] == "link_expired"
    assert (await client.get(path_of(forged.url_for(key, "image/jpeg")))).status_code == 404


async def test_a_link_to_a_file_no_longer_stored_is_not_found(
    app: FastAPI, client: ApiClient
) -> None:
    key = await stored(app, JPEG)
    url = signer(app).url_for(key, "image/jpeg")
    await resources_of(app).media_storage.delete(key)

    assert (await client.get(path_of(url))).status_code == 404


def test_links_last_an_hour_by_default() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    urls = PublicMediaUrls("s" * 40, "https://pw.example/", clock=lambda: now)
    key = media_key("ab" * 32, "jpg")

    opened = urls.open(urls.token_for(key, "image/jpeg"))

    assert (opened.storage_key, opened.mime_type) == (key, "image/jpeg")
    assert opened.expires_at == now + DEFAULT_LIFETIME == now + timedelta(hours=1)
    assert urls.url_for(key, "image/jpeg").startswith("https://pw.example/media/public/")


async def test_the_dispatcher_hands_networks_a_public_link_that_serves_the_media(
    app: FastAPI,
    client: ApiClient,
    when: datetime,  # noqa: F811
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    picture = image_file("PNG", (40, 30))
    uploaded = await upload(client, owner.workspace_id, picture, "loaf.png", "image/png")
    url = f"/api/v1/workspaces/{owner.workspace_id}/posts"
    post = (
        await client.post(
            url,
            json={
                "text": "Fresh bread!",
                "media_ids": [uploaded.json()["id"]],
                "targets": [{"account_id": account}],
            },
        )
    ).json()
    await client.post(f"{url}/{post['id']}/schedule", json={"at": when.isoformat()})
    held = resources_of(app)
    recording = Recording(held.platforms.sandbox)
    dispatcher = Dispatcher(
        held.session_factory,
        PlatformRegistry({Network.SANDBOX: recording}),  # type: ignore[dict-item]
        held.bus,
        held.secret_key,
        clock=Clock(when),
        media_storage=held.media_storage,
        public_media_urls=PublicMediaUrls(held.secret_key, held.settings.effective_public_url),
    )

    await run_round(dispatcher)

    (request,) = recording.requests
    (item,) = request.media
    assert item.public_url is not None
    assert item.public_url.startswith(held.settings.effective_public_url + "/media/public/")
    fetched = await ApiClient.for_app(app).get(path_of(item.public_url))
    assert (fetched.status_code, fetched.content) == (200, picture)
    assert fetched.headers["content-type"] == "image/png"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_public_links_only_read(app: FastAPI, client: ApiClient, method: str) -> None:
    key = await stored(app, JPEG)
    url = signer(app).url_for(key, "image/jpeg")

    answer = await client.request(method, path_of(url))

    assert answer.status_code in (403, 405)
    assert await resources_of(app).media_storage.exists(key)
