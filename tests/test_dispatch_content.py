"""What the dispatcher hands the network (media, per-network options) and how post states are
derived from deliveries in batches, also after a worker stopped before deriving them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from fastapi import FastAPI

from postwizard.accounts.credentials import decrypt_credentials, encrypt_credentials
from postwizard.accounts.models import SocialAccount
from postwizard.api.resources import resources_of
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    Published,
    PublishRequest,
    TransientError,
    UndecidableOutcomeError,
)
from postwizard.platforms.registry import PlatformRegistry
from postwizard.publishing.models import DeliveryState
from tests.api_client import ApiClient, add_sandbox_account, schedule_post, set_up_owner
from tests.support.wrapped_platform import WrappedPlatform
from tests.test_dispatcher import (
    Clock,
    delivery_of,
    make_dispatcher,
    run_round,
    sandbox_record,
    schedule,
    set_faults,
    when,  # noqa: F401 - fixture
)
from tests.test_media import image_file, upload


class Recording(WrappedPlatform):
    """Wraps the sandbox adapter and keeps every publish request it was given."""

    def __init__(self, inner: object) -> None:
        super().__init__(inner)
        self.requests: list[PublishRequest] = []

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        self.requests.append(request)
        return await self.inner.publish(account, request)


async def test_the_network_gets_the_posts_media_with_alt_text_and_the_targets_options(
    app: FastAPI,
    client: ApiClient,
    when: datetime,  # noqa: F811
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    picture = image_file("PNG", (40, 30))
    uploaded = await upload(
        client, owner.workspace_id, picture, "loaf.png", "image/png", alt_text="A sourdough loaf"
    )
    assert uploaded.status_code == 201, uploaded.text
    url = f"/api/v1/workspaces/{owner.workspace_id}/posts"
    post = (
        await client.post(
            url,
            json={
                "text": "Fresh bread!",
                "media_ids": [uploaded.json()["id"]],
                "targets": [{"account_id": account, "options": {"silent": True}}],
            },
        )
    ).json()
    assert "id" in post, post
    scheduled = await client.post(f"{url}/{post['id']}/schedule", json={"at": when.isoformat()})
    assert scheduled.status_code == 200, scheduled.text
    recording = Recording(resources_of(app).platforms.sandbox)
    registry = PlatformRegistry({Network.SANDBOX: recording})  # type: ignore[dict-item]
    await run_round(make_dispatcher(app, Clock(when), registry))
    (request,) = recording.requests
    (item,) = request.media
    assert (item.kind, item.mime_type, item.alt_text) == ("image", "image/png", "A sourdough loaf")
    assert (item.width, item.height) == (40, 30)
    assert item.path.read_bytes() == picture
    assert request.options == {"silent": True}
    assert request.first_attempt_at is not None
    assert (await delivery_of(app, post["id"])).state == DeliveryState.PUBLISHED
    record = (await client.get("/sandbox/v1/_record")).json()
    assert (record["posts"], record["duplicates"]) == (1, [])


async def test_a_post_whose_state_was_not_derived_before_a_stop_is_settled_by_the_next_worker(
    app: FastAPI,
    client: ApiClient,
    when: datetime,  # noqa: F811
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post_id = await schedule(client, owner, account, when)
    stopped = make_dispatcher(app, Clock(when))
    assert await stopped.dispatch_due() == 1
    await asyncio.gather(*stopped._in_flight)  # the call and its record, not the post's state
    assert (await delivery_of(app, post_id)).state == DeliveryState.PUBLISHED
    post_url = f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}"
    assert (await client.get(post_url)).json()["status"] == "scheduled"

    successor = make_dispatcher(app, Clock(when + timedelta(seconds=1)))
    stop = asyncio.Event()
    running = asyncio.create_task(successor.run(stop))
    for _ in range(50):
        if (await client.get(post_url)).json()["status"] == "published":
            break
        await asyncio.sleep(0.1)
    stop.set()
    await running
    assert (await client.get(post_url)).json()["status"] == "published"


async def test_post_states_follow_their_deliveries_after_each_round(
    app: FastAPI,
    client: ApiClient,
    when: datetime,  # noqa: F811
) -> None:
    owner = await set_up_owner(client)
    accounts = [await add_sandbox_account(client, owner.workspace_id, f"b{n}") for n in range(3)]
    together = await schedule_post(client, owner.workspace_id, accounts, when.isoformat())
    alone = await schedule(client, owner, accounts[0], when, "another")
    await run_round(make_dispatcher(app, Clock(when)))
    for post_id in (together, alone):
        post = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}")).json()
        assert post["status"] == "published"


class CannotCheck(Recording):
    """A network like Telegram or Discord: no idempotency key, posts cannot be read back."""

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        raise UndecidableOutcomeError("This network does not let PostWizard check its posts.")


async def test_an_outcome_no_one_can_check_is_left_to_the_person_never_reposted(
    app: FastAPI,
    client: ApiClient,
    when: datetime,  # noqa: F811
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post_id = await schedule(client, owner, account, when)
    await set_faults(client, seed=2, timeout_after_apply_rate=1.0, hang_seconds=5)
    registry = PlatformRegistry({Network.SANDBOX: CannotCheck(resources_of(app).platforms.sandbox)})  # type: ignore[dict-item]
    clock = Clock(when)
    dispatcher = make_dispatcher(app, clock, registry, call_timeout=timedelta(seconds=0.5))
    await run_round(dispatcher)
    await set_faults(client, seed=2)
    clock.now = (await delivery_of(app, post_id)).next_attempt_at
    await run_round(dispatcher)
    delivery = await delivery_of(app, post_id)
    assert delivery.state == DeliveryState.FAILED
    assert "mark it as published" in (delivery.last_error or "")
    for _ in range(3):  # it stays with the person: no more checks, no second post
        clock.now += timedelta(hours=1)
        assert await run_round(dispatcher) == 0
    record = await sandbox_record(client)
    assert (record["posts"], record["duplicates"]) == (1, [])

    base = f"/api/v1/workspaces/{owner.workspace_id}"
    (view,) = (await client.get(f"{base}/posts/{post_id}/deliveries")).json()
    assert (view["can_mark_published"], view["can_retry"]) == (True, True)
    bad = await client.post(f"{base}/deliveries/{view['id']}/mark-published", json={"url": "nope"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "url"
    marked = await client.post(
        f"{base}/deliveries/{view['id']}/mark-published",
        json={"url": "https://example.org/posts/1"},
    )
    assert marked.status_code == 200, marked.text
    assert (marked.json()["state"], marked.json()["remote_url"]) == (
        "published",
        "https://example.org/posts/1",
    )
    assert (await client.get(f"{base}/posts/{post_id}")).json()["status"] == "published"
    again = await client.post(f"{base}/deliveries/{view['id']}/mark-published", json={})
    assert again.status_code == 409


class Renewing(Recording):
    """A network whose tokens expire: every call wants fresh credentials first; the first
    renewal fails the way a network hiccup does, later ones answer without a refresh token."""

    def __init__(self, inner: object) -> None:
        super().__init__(inner)
        self.renewals = 0

    def needs_refresh(self, credentials: Mapping[str, str], now: datetime) -> bool:
        return credentials.get("generation") != str(self.renewals)

    async def refresh(self, account: AccountRef) -> Mapping[str, str]:
        self.renewals += 1
        if self.renewals == 1:
            raise TransientError("The network's token endpoint answered 503.")
        return {"generation": str(self.renewals), "refresh_token": ""}


async def test_a_failed_renewal_is_retried_not_taken_for_a_dead_token_and_never_erases_secrets(
    app: FastAPI,
    client: ApiClient,
    when: datetime,  # noqa: F811
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    held = resources_of(app)
    async with held.session_factory() as session:
        stored = await session.get(SocialAccount, uuid.UUID(account))
        assert stored is not None
        credentials = decrypt_credentials(held.secret_key, stored.credentials_encrypted)
        credentials["refresh_token"] = "keep-me"
        stored.credentials_encrypted = encrypt_credentials(held.secret_key, credentials)
        await session.commit()
    post_id = await schedule(client, owner, account, when)
    renewing = Renewing(held.platforms.sandbox)
    clock = Clock(when)
    dispatcher = make_dispatcher(app, clock, PlatformRegistry({Network.SANDBOX: renewing}))  # type: ignore[dict-item]
    await run_round(dispatcher)
    waiting = await delivery_of(app, post_id)
    assert waiting.state == DeliveryState.RETRY_WAIT
    assert "Could not renew access" in (waiting.last_error or "")
    listed = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/accounts")).json()
    assert listed["items"][0]["status"] == "connected"  # a hiccup is not a dead token
    clock.now = waiting.next_attempt_at
    await run_round(dispatcher)
    assert (await delivery_of(app, post_id)).state == DeliveryState.PUBLISHED
    async with held.session_factory() as session:
        stored = await session.get(SocialAccount, uuid.UUID(account))
        assert stored is not None
        renewed = decrypt_credentials(held.secret_key, stored.credentials_encrypted)
    assert renewed["generation"] == "2"
    assert renewed["refresh_token"] == "keep-me"  # the empty answer did not erase it
    assert renewed["token"] == credentials["token"]
