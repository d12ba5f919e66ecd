"""Web Push through the API: browsers subscribe, a real event (a post submitted for approval)
becomes an encrypted, VAPID-signed push that a local fake push service verifies and the
browser's own keys decrypt; gone subscriptions are forgotten, failures retried, preferences
honoured; malformed or unsafe subscriptions are refused naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from cryptography.fernet import InvalidToken
from fastapi import FastAPI

from postwizard.api.resources import resources_of
from postwizard.app import create_app
from postwizard.cli.keys import reencrypt_all
from postwizard.config import Settings
from postwizard.notifications import web_push
from postwizard.notifications.worker import SenderConfig
from tests.api_client import ApiClient, Person, add_sandbox_account, set_up_owner
from tests.fakes.web_push import Browser, FakePushService
from tests.notification_support import eventually, sender_for
from tests.support.serving import serving

SUBSCRIPTIONS = "/api/v1/push/subscriptions"


async def application_server_key(api: ApiClient) -> str:
    answer = await api.get("/api/v1/push/web-push-key")
    assert answer.status_code == 200, answer.text
    key: str = answer.json()["public_key"]
    return key


async def subscribe(api: ApiClient, endpoint: str, browser: Browser) -> dict:
    answer = await api.post(
        SUBSCRIPTIONS,
        json={"endpoint": endpoint, "keys": {"p256dh": browser.p256dh, "auth": browser.auth}},
        headers={"User-Agent": f"Browser {browser.name}"},
    )
    assert answer.status_code == 201, answer.text
    body: dict = answer.json()
    return body


async def submit_a_post(api: ApiClient, owner: Person, account: str, text: str) -> str:
    """A real event: the post waits for approval, and admins (the owner) are told."""
    posts = f"/api/v1/workspaces/{owner.workspace_id}/posts"
    created = await api.post(posts, json={"text": text, "targets": [{"account_id": account}]})
    assert created.status_code == 201, created.text
    post_id: str = created.json()["id"]
    submitted = await api.post(f"{posts}/{post_id}/submit")
    assert submitted.status_code == 200, submitted.text
    feed = f"/api/v1/workspaces/{owner.workspace_id}/notifications"

    async def told() -> bool:  # the intake has written the notification (and its pushes)
        items = (await api.get(feed)).json()["items"]
        return any(n["link"] == f"/posts/{post_id}" for n in items)

    await eventually(told)
    return post_id


async def test_every_subscribed_browser_gets_the_push_encrypted_and_signed(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    app, client = both_app, both_client
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    key = await application_server_key(client)
    assert key == await application_server_key(client)  # generated once, then kept
    laptop, phone = Browser("laptop"), Browser("phone")
    service = FakePushService(key)
    with serving(service.app()) as base:
        service.origin = base
        first = await subscribe(client, service.add(laptop), laptop)
        await subscribe(client, service.add(phone), phone)
        assert first["kind"] == "web_push"
        assert first["user_agent"] == "Browser laptop"
        listed = (await client.get(SUBSCRIPTIONS)).json()
        assert [s["target"] for s in listed] == [f"{base}/push/laptop", f"{base}/push/phone"]

        post_id = await submit_a_post(client, owner, account, "Fresh bread at 7!")
        sender = sender_for(app)
        try:
            assert await sender.work_once() == 2
        finally:
            await sender.aclose()
    assert service.refused == []
    assert sorted(push.browser for push in service.received) == ["laptop", "phone"]
    for push in service.received:
        assert push.payload == {
            "title": "A post needs approval",
            "body": "“Fresh bread at 7!” is waiting for your approval.",
            "link": f"/posts/{post_id}",
            "type": "post.submitted",
        }
    assert all(s["last_success_at"] for s in (await client.get(SUBSCRIPTIONS)).json())


async def test_gone_subscriptions_are_forgotten_and_failures_retried(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    service = FakePushService(await application_server_key(client))
    expired, flaky = Browser("expired"), Browser("flaky")
    with serving(service.app()) as base:
        service.origin = base
        await subscribe(client, service.add(expired, [410]), expired)
        await subscribe(client, service.add(flaky, [500, 201]), flaky)
        await submit_a_post(client, owner, account, "Croissants")
        sender = sender_for(app, SenderConfig(backoff=(timedelta(seconds=30),)))
        try:
            now = datetime.now().astimezone()
            assert await sender.work_once(now) == 2
            assert await sender.work_once(now + timedelta(seconds=10)) == 0  # not due yet
            assert await sender.work_once(now + timedelta(seconds=31)) == 1  # only the flaky one
        finally:
            await sender.aclose()
    assert service.calls == {"expired": 1, "flaky": 2}
    assert [push.browser for push in service.received] == ["flaky"]
    assert [s["target"] for s in (await client.get(SUBSCRIPTIONS)).json()] == [f"{base}/push/flaky"]


async def test_no_push_for_an_event_turned_off_and_none_after_unsubscribing(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    prefs = (await client.get("/api/v1/notification-preferences")).json()
    submitted = next(p for p in prefs["items"] if p["event_type"] == "post.submitted")
    published = next(p for p in prefs["items"] if p["event_type"] == "post.published")
    assert (submitted["web_push"], published["web_push"]) == (True, False)  # as email
    assert prefs["fcm_available"] is False
    changed = await client.put(
        "/api/v1/notification-preferences",
        json={"items": [{"event_type": "post.submitted", "web_push": False}]},
    )
    assert changed.status_code == 200, changed.text

    service = FakePushService(await application_server_key(client))
    browser = Browser("laptop")
    with serving(service.app()) as base:
        service.origin = base
        subscription = await subscribe(client, service.add(browser), browser)
        await submit_a_post(client, owner, account, "Quiet, please")
        sender = sender_for(app)
        try:
            assert await sender.work_once() == 0
            await client.put(
                "/api/v1/notification-preferences",
                json={"items": [{"event_type": "post.submitted", "web_push": True}]},
            )
            await submit_a_post(client, owner, account, "Queued, then unsubscribed")
            removed = await client.delete(f"{SUBSCRIPTIONS}/{subscription['id']}")
            assert removed.status_code == 204
            assert await sender.work_once() == 1  # the queued push is dropped, not sent
        finally:
            await sender.aclose()
    assert service.received == []
    assert (await client.get(SUBSCRIPTIONS)).json() == []
    again = await client.delete(f"{SUBSCRIPTIONS}/{subscription['id']}")
    assert again.status_code == 404


@pytest.fixture
async def strict_app(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> AsyncIterator[FastAPI]:
    """The app as shipped: no private-network target allowed."""
    application = create_app(make_settings(database_url=sqlite_url, private_network_allowlist=""))
    async with application.router.lifespan_context(application):
        yield application


async def test_malformed_or_unsafe_subscriptions_are_refused_naming_the_field(
    strict_app: FastAPI,
) -> None:
    browser = Browser("laptop")
    good_keys = {"p256dh": browser.p256dh, "auth": browser.auth}
    async with ApiClient.for_app(strict_app) as api:
        await set_up_owner(api)
        cases = [
            ({"endpoint": "https://127.0.0.1/push/x", "keys": good_keys}, "endpoint", "loopback"),
            ({"endpoint": "https://10.0.0.5/push/x", "keys": good_keys}, "endpoint", "private"),
            ({"endpoint": "http://push.example.com/x", "keys": good_keys}, "endpoint", "https"),
            ({"endpoint": "not a url", "keys": good_keys}, "endpoint", "https"),
            (
                {"endpoint": "https://push.example.com/x", "keys": {**good_keys, "p256dh": "%%%"}},
                "keys.p256dh",
                "P-256",
            ),
            (
                {
                    "endpoint": "https://push.example.com/x",
                    "keys": {**good_keys, "p256dh": browser.p256dh[:40]},
                },
                "keys.p256dh",
                "bytes",
            ),
            (
                {"endpoint": "https://push.example.com/x", "keys": {**good_keys, "auth": "AAAA"}},
                "keys.auth",
                "16 bytes",
            ),
            ({"endpoint": "https://push.example.com/x", "keys": {"p256dh": "x"}}, "keys.auth", ""),
        ]
        for body, field, words in cases:
            answer = await api.post(SUBSCRIPTIONS, json=body)
            assert answer.status_code == 422, (body, answer.text)
            error = answer.json()["error"]
            assert [f["field"] for f in error["fields"]] == [field], error
            assert words in error["message"], error
        bad_token = await api.post("/api/v1/push/fcm-tokens", json={"token": "has spaces " * 3})
        assert bad_token.status_code == 422
        assert bad_token.json()["error"]["fields"][0]["field"] == "token"
        assert (await api.get(SUBSCRIPTIONS)).json() == []


async def test_rotating_the_secret_key_keeps_the_vapid_key(app: FastAPI, client: ApiClient) -> None:
    """Browsers subscribed with the instance's public key; after `rotate-key` the same key pair
    must still sign, or every subscription would silently stop working."""
    await set_up_owner(client)
    before = await application_server_key(client)
    held = resources_of(app)
    new_key = "a-brand-new-instance-secret-" + "n" * 32
    async with held.session_factory() as session:
        rotation = await reencrypt_all(session, held.secret_key, new_key)
        await session.commit()
    assert rotation.counts["instance key pairs (Web Push VAPID)"] == 1
    async with held.session_factory() as session:
        assert (await web_push.vapid_keys(session, new_key)).public_key == before
        with pytest.raises(InvalidToken):
            await web_push.vapid_keys(session, held.secret_key)
