"""Notifications through the API: the in-app feed and unread counts, preferences, signed
webhooks with retries, a delivery log and automatic disabling, and the SSRF guard."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from postwizard.api.resources import resources_of
from postwizard.notifications.worker import SenderConfig
from tests.api_client import (
    ApiClient,
    Person,
    add_sandbox_account,
    invite,
    set_up_owner,
    sign_up_by_invitation,
)
from tests.notification_support import WebhookReceiver, eventually, sender_for
from tests.support.serving import serving


def feed_url(person: Person) -> str:
    return f"/api/v1/workspaces/{person.workspace_id}/notifications"


async def feed(api: ApiClient, person: Person) -> dict:
    response = await api.get(feed_url(person))
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


async def wait_for_feed(api: ApiClient, person: Person, count: int) -> dict:
    async def check() -> dict | None:
        body = await feed(api, person)
        return body if len(body["items"]) >= count else None

    return await eventually(check)


async def test_approvals_reach_admins_then_the_author_with_unread_counts(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    async with ApiClient.for_app(app) as editor_api:
        editor = await sign_up_by_invitation(
            editor_api, await invite(client, owner.workspace_id, "editor"), "ed@example.com"
        )
        editor = Person(editor.email, editor.password, editor.user_id, owner.workspace_id)
        posts = f"/api/v1/workspaces/{owner.workspace_id}/posts"
        created = await editor_api.post(
            posts, json={"text": "Fresh bread at 7!", "targets": [{"account_id": account}]}
        )
        post_id = created.json()["id"]
        live = resources_of(app).bus.subscribe(uuid.UUID(owner.workspace_id), None)
        first_live = asyncio.ensure_future(anext(live))
        await asyncio.sleep(0)
        assert (await editor_api.post(f"{posts}/{post_id}/submit")).status_code == 200

        owners_feed = await wait_for_feed(client, owner, 1)
        [needs_approval] = owners_feed["items"]
        assert needs_approval["type"] == "post.submitted"
        assert "Fresh bread at 7!" in needs_approval["body"]
        assert needs_approval["link"] == f"/posts/{post_id}"
        assert owners_feed["unread"] == 1
        assert (await feed(editor_api, editor))["items"] == []  # an editor approves nothing

        rejected = await client.post(f"{posts}/{post_id}/reject", json={"comment": "Add hours"})
        assert rejected.status_code == 200
        [rejection] = (await wait_for_feed(editor_api, editor, 1))["items"]
        assert rejection["type"] == "post.rejected"
        assert rejection["body"].endswith("was rejected: Add hours")

        # The bell hears about new notifications live, over the workspace's event stream.
        seen = []
        event = await asyncio.wait_for(first_live, 5)
        while event.type != "notification.created":
            seen.append(event.type)
            event = await asyncio.wait_for(anext(live), 5)
        assert event.data == {"user_id": owner.user_id, "type": "post.submitted"}
        await live.aclose()

    count = await client.get(f"{feed_url(owner)}/unread-count")
    assert count.json() == {"unread": 1}
    marked = await client.post(f"{feed_url(owner)}/read", json={"ids": [needs_approval["id"]]})
    assert marked.json() == {"unread": 0}
    assert (await feed(client, owner))["items"][0]["read_at"] is not None
    bad = await client.post(f"{feed_url(owner)}/read", json={"ids": ["not-a-uuid"]})
    assert bad.status_code == 422
    assert "ids" in bad.text


async def test_preferences_choose_what_appears_in_the_feed(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    defaults = (await client.get("/api/v1/notification-preferences")).json()
    published = next(p for p in defaults["items"] if p["event_type"] == "post.published")
    assert published == {
        "event_type": "post.published",
        "label": "A post was published",
        "in_app": True,
        "email": False,
        "web_push": False,
        "fcm": False,
    }
    assert defaults["email_available"] is False

    changed = await client.put(
        "/api/v1/notification-preferences",
        json={"items": [{"event_type": "post.published", "in_app": False}]},
    )
    assert changed.status_code == 200
    assert not next(p for p in changed.json()["items"] if p["event_type"] == "post.published")[
        "in_app"
    ]
    unknown = await client.put(
        "/api/v1/notification-preferences", json={"items": [{"event_type": "post.eaten"}]}
    )
    assert unknown.status_code == 422
    assert "event_type" in unknown.text

    bus = resources_of(app).bus
    workspace = uuid.UUID(owner.workspace_id)
    await bus.publish(workspace, "post.published", {"post_id": str(uuid.uuid4())})
    await bus.publish(
        workspace,
        "delivery.updated",
        {"delivery_id": "d1", "post_id": str(uuid.uuid4()), "state": "failed", "error": "Too long"},
    )
    await bus.publish(workspace, "delivery.updated", {"state": "published"})
    [failure] = (await wait_for_feed(client, owner, 1))["items"]
    await asyncio.sleep(0.2)  # the published event had time to arrive, too
    items = (await feed(client, owner))["items"]
    assert [n["type"] for n in items] == ["delivery.failed"]
    assert failure["body"] == "A post: Too long"


async def test_a_burst_of_events_gives_each_person_what_they_chose(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    """Publishing many posts at once: the intake records the burst together (one insert per
    table); each person's choices, the webhook and one broken event are handled as one by one."""
    app, client = both_app, both_client
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    posts = f"/api/v1/workspaces/{owner.workspace_id}/posts"
    texts = ["Rye on Monday", "Croissants on Tuesday"]
    post_ids = []
    for text in texts:
        created = await client.post(
            posts, json={"text": text, "targets": [{"account_id": account}]}
        )
        post_ids.append(created.json()["id"])
    async with ApiClient.for_app(app) as editor_api:
        editor = await sign_up_by_invitation(
            editor_api, await invite(client, owner.workspace_id, "editor"), "ed@example.com"
        )
        editor = Person(editor.email, editor.password, editor.user_id, owner.workspace_id)
        quiet = await editor_api.put(
            "/api/v1/notification-preferences",
            json={"items": [{"event_type": "post.published", "in_app": False}]},
        )
        assert quiet.status_code == 200
        hooks = f"/api/v1/workspaces/{owner.workspace_id}/webhooks"
        with serving(WebhookReceiver([200]).app()) as base:
            endpoint = await client.post(
                hooks, json={"url": f"{base}/hook", "events": ["post.published"]}
            )
        assert endpoint.status_code == 201, endpoint.text

        bus, workspace = resources_of(app).bus, uuid.UUID(owner.workspace_id)
        published = [post_ids[n % 2] for n in range(20)]
        for n, post_id in enumerate(published):
            await bus.publish(workspace, "post.published", {"post_id": post_id, "n": n})
            if n == 10:  # broken: it alone is lost, not the burst it arrived in
                await bus.publish(workspace, "post.published", {"post_id": "nope"})
        await bus.publish(
            workspace,
            "delivery.updated",
            {"post_id": post_ids[0], "state": "failed", "error": "Image too large"},
        )

        owners = (await wait_for_feed(client, owner, 21))["items"]
        editors = (await wait_for_feed(editor_api, editor, 1))["items"]
        await asyncio.sleep(0.2)  # nothing more arrives
        assert len((await feed(client, owner))["items"]) == 21
        assert [n["type"] for n in (await feed(editor_api, editor))["items"]] == ["delivery.failed"]
    assert editors[0]["body"] == "“Rye on Monday”: Image too large"
    bodies = sorted(n["body"] for n in owners if n["type"] == "post.published")
    assert bodies == sorted(f"“{texts[n % 2]}” was published." for n in range(20))
    log = (await client.get(f"{hooks}/{endpoint.json()['id']}/deliveries")).json()
    assert len(log) == 20
    assert {entry["event_type"] for entry in log} == {"post.published"}


def verify(secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """An independent receiver-side check, as docs/webhooks.md shows it."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - timestamp) <= tolerance_s
    return fresh and hmac.compare_digest(expected, parts["v1"])


async def test_webhook_is_signed_retried_with_backoff_and_logged(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    app, client = both_app, both_client
    owner = await set_up_owner(client)
    receiver = WebhookReceiver([500, 200])
    hooks = f"/api/v1/workspaces/{owner.workspace_id}/webhooks"
    with serving(receiver.app()) as base:
        created = await client.post(
            hooks, json={"url": f"{base}/hook", "events": ["post.published"]}
        )
        assert created.status_code == 201, created.text
        endpoint = created.json()
        secret = endpoint["secret"]
        assert secret.startswith("whsec_")
        assert "secret" not in (await client.get(hooks)).json()[0]

        await resources_of(app).bus.publish(
            uuid.UUID(owner.workspace_id), "post.published", {"post_id": str(uuid.uuid4())}
        )
        log_url = f"{hooks}/{endpoint['id']}/deliveries"

        async def queued() -> list | None:
            return (await client.get(log_url)).json() or None

        await eventually(queued)
        config = SenderConfig(backoff=(timedelta(seconds=30), timedelta(minutes=5)))
        sender = sender_for(app, config)
        try:
            start = datetime.now().astimezone()
            assert await sender.work_once(start) == 1
            [waiting] = (await client.get(log_url)).json()
            assert waiting["state"] == "pending"
            assert waiting["last_status_code"] == 500
            due = datetime.fromisoformat(waiting["next_attempt_at"])
            assert due == start + timedelta(seconds=30)
            assert await sender.work_once(start + timedelta(seconds=10)) == 0  # not yet due
            assert await sender.work_once(start + timedelta(seconds=31)) == 1
        finally:
            await sender.aclose()

    [delivered] = (await client.get(log_url)).json()
    assert delivered["state"] == "delivered"
    assert [a["status_code"] for a in delivered["log"]] == [500, 200]
    assert "answer 500" in delivered["log"][0]["error"]
    assert len(receiver.received) == 2
    call = receiver.received[-1]
    assert verify(secret, call.headers["postwizard-signature"], call.body)
    assert not verify("whsec_wrong", call.headers["postwizard-signature"], call.body)
    payload = json.loads(call.body)
    assert payload["type"] == "post.published"
    assert payload["workspace_id"] == owner.workspace_id
    assert call.headers["postwizard-event"] == "post.published"
    # Both calls were the same event: a receiver de-duplicates by its id.
    assert json.loads(receiver.received[0].body)["id"] == payload["id"]


async def test_failing_webhook_is_disabled_and_admins_are_told(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    receiver = WebhookReceiver([503])
    hooks = f"/api/v1/workspaces/{owner.workspace_id}/webhooks"
    with serving(receiver.app()) as base:
        endpoint = (
            await client.post(hooks, json={"url": f"{base}/hook", "events": ["post.failed"]})
        ).json()
        for _ in range(2):
            test = await client.post(f"{hooks}/{endpoint['id']}/test")
            assert test.status_code == 202
            assert test.json()["event_type"] == "webhook.test"
        sender = sender_for(
            app, SenderConfig(backoff=(timedelta(seconds=1),), disable_after_failures=3)
        )
        try:
            now = datetime.now().astimezone()
            assert await sender.work_once(now) == 2
            assert await sender.work_once(now + timedelta(seconds=2)) == 2
            assert await sender.work_once(now + timedelta(seconds=5)) == 0  # disabled: no calls
        finally:
            await sender.aclose()
    assert len(receiver.received) == 3
    [disabled] = (await client.get(hooks)).json()
    assert disabled["enabled"] is False
    assert "3 failed calls in a row" in disabled["disabled_reason"]
    log = (await client.get(f"{hooks}/{endpoint['id']}/deliveries")).json()
    assert sorted(a["status_code"] for d in log for a in d["log"]) == [503, 503, 503]
    assert {d["state"] for d in log} == {"failed", "pending"}
    [told] = (await wait_for_feed(client, owner, 1))["items"]
    assert told["type"] == "webhook.disabled"
    assert told["link"] == "/settings/webhooks"

    enabled = await client.patch(f"{hooks}/{endpoint['id']}", json={"enabled": True})
    assert enabled.json()["enabled"] is True
    assert enabled.json()["consecutive_failures"] == 0


async def test_webhook_input_is_checked(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    hooks = f"/api/v1/workspaces/{owner.workspace_id}/webhooks"
    private = await client.post(
        hooks, json={"url": "http://10.0.0.5/hook", "events": ["post.failed"]}
    )
    assert private.status_code == 422
    assert private.json()["error"]["fields"][0]["field"] == "url"
    assert "private" in private.json()["error"]["message"]
    metadata = await client.post(
        hooks, json={"url": "http://169.254.169.254/latest", "events": ["post.failed"]}
    )
    assert metadata.status_code == 422
    not_http = await client.post(
        hooks, json={"url": "ftp://example.com/x", "events": ["post.failed"]}
    )
    assert not_http.status_code == 422
    assert "url" in not_http.text
    unknown = await client.post(
        hooks, json={"url": "https://example.com/x", "events": ["post.eaten"]}
    )
    assert unknown.status_code == 422
    assert "events" in unknown.text
    assert (await client.get(hooks)).json() == []


async def test_admins_hear_when_posts_are_due_and_no_worker_runs(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    posts = f"/api/v1/workspaces/{owner.workspace_id}/posts"
    post = await client.post(posts, json={"text": "Due", "targets": [{"account_id": account}]})
    scheduled = await client.post(f"{posts}/{post.json()['id']}/schedule", json={"now": True})
    assert scheduled.status_code == 200, scheduled.text
    intake = app.state.notifications.intake  # the test app runs no worker at all
    # Half past the next hour: due for a while, and both checks fall in the same hour.
    later = datetime.now(UTC).replace(minute=30, second=0) + timedelta(hours=1)
    await intake.check_publishing_health(later)
    await intake.check_publishing_health(later + timedelta(minutes=1))  # once an hour at most
    [stalled] = (await wait_for_feed(client, owner, 1))["items"]
    assert stalled["type"] == "publishing.stalled"
    assert "no worker is running" in stalled["body"]
    assert stalled["link"] == "/publishing"
