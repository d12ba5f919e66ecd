"""The dispatcher against the sandbox network: on time, never twice, never lost (SQLite and
PostgreSQL). Each test drives the dispatcher step by step with a clock it controls."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.api.resources import resources_of
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import AccountRef, Published, PublishRequest
from postwizard.platforms.registry import PlatformRegistry
from postwizard.publishing.dispatcher import Dispatcher, DispatcherConfig
from postwizard.publishing.models import Attempt, AttemptOutcome, Delivery, DeliveryState
from postwizard.publishing.policy import RetryPolicy
from tests.api_client import ApiClient, Person, add_sandbox_account, schedule_post, set_up_owner
from tests.support.wrapped_platform import WrappedPlatform


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def make_dispatcher(
    app: FastAPI, clock: Clock, platforms: PlatformRegistry | None = None, **config: object
) -> Dispatcher:
    held = resources_of(app)
    return Dispatcher(
        held.session_factory,
        platforms or held.platforms,
        held.bus,
        held.secret_key,
        clock=clock,
        config=DispatcherConfig(**config),  # type: ignore[arg-type]
        media_storage=held.media_storage,
    )


async def run_round(dispatcher: Dispatcher) -> int:
    claimed = await dispatcher.dispatch_due()
    await dispatcher.drain()
    return claimed


async def schedule(
    api: ApiClient, owner: Person, account: str, when: datetime, text: str = "Fresh bread!"
) -> str:
    return await schedule_post(api, owner.workspace_id, [account], when.isoformat(), text)


async def delivery_of(app: FastAPI, post_id: str) -> Delivery:
    async with resources_of(app).session_factory() as session:
        return (
            await session.scalars(select(Delivery).where(Delivery.post_id == uuid.UUID(post_id)))
        ).one()


async def attempts_of(app: FastAPI, delivery_id: uuid.UUID) -> list[Attempt]:
    async with resources_of(app).session_factory() as session:
        statement = (
            select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.number)
        )
        return list(await session.scalars(statement))


async def sandbox_record(api: ApiClient) -> dict:  # type: ignore[type-arg]
    record: dict = (await api.get("/sandbox/v1/_record")).json()  # type: ignore[type-arg]
    return record


async def set_faults(api: ApiClient, **faults: object) -> None:
    response = await api.put("/sandbox/v1/_faults", json=faults)
    assert response.status_code == 200, response.text


@pytest.fixture
def when() -> datetime:
    return (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)


async def test_a_post_goes_out_at_its_time_not_before(
    both_app: FastAPI, both_client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    post_id = await schedule(both_client, owner, account, when)
    clock = Clock(when - timedelta(seconds=1))
    dispatcher = make_dispatcher(both_app, clock)
    assert await run_round(dispatcher) == 0
    clock.now = when
    assert await run_round(dispatcher) == 1
    delivery = await delivery_of(both_app, post_id)
    assert delivery.state == DeliveryState.PUBLISHED
    assert delivery.remote_id
    post = (
        await both_client.get(f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}")
    ).json()
    assert post["status"] == "published"
    record = await sandbox_record(both_client)
    assert record["posts"] == 1
    assert record["duplicates"] == []
    assert [a.outcome for a in await attempts_of(both_app, delivery.id)] == [
        AttemptOutcome.PUBLISHED
    ]


async def test_rate_limited_delivery_waits_for_retry_after_then_publishes(
    app: FastAPI, client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post_id = await schedule(client, owner, account, when)
    await set_faults(client, seed=1, rate_limit_rate=1.0)
    clock = Clock(when)
    dispatcher = make_dispatcher(app, clock)
    await run_round(dispatcher)
    waiting = await delivery_of(app, post_id)
    assert waiting.state == DeliveryState.RETRY_WAIT
    assert waiting.next_attempt_at >= when + timedelta(seconds=1)
    await set_faults(client, seed=1)
    assert await run_round(dispatcher) == 0  # not before its time
    clock.now = waiting.next_attempt_at
    await run_round(dispatcher)
    assert (await delivery_of(app, post_id)).state == DeliveryState.PUBLISHED
    assert (await sandbox_record(client))["posts"] == 1


async def test_timeout_after_the_network_applied_is_reconciled_not_reposted(
    both_app: FastAPI, both_client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    post_id = await schedule(both_client, owner, account, when)
    await set_faults(both_client, seed=2, timeout_after_apply_rate=1.0, hang_seconds=5)
    clock = Clock(when)
    dispatcher = make_dispatcher(both_app, clock, call_timeout=timedelta(seconds=0.5))
    await run_round(dispatcher)
    unknown = await delivery_of(both_app, post_id)
    assert unknown.state == DeliveryState.UNKNOWN
    await set_faults(both_client, seed=2)
    clock.now = unknown.next_attempt_at
    await run_round(dispatcher)
    delivery = await delivery_of(both_app, post_id)
    assert delivery.state == DeliveryState.PUBLISHED
    outcomes = [a.outcome for a in await attempts_of(both_app, delivery.id)]
    assert outcomes == [AttemptOutcome.UNKNOWN, AttemptOutcome.RECONCILED_FOUND]
    record = await sandbox_record(both_client)
    assert (record["posts"], record["duplicates"]) == (1, [])


class CrashAfterPublish(WrappedPlatform):
    """The network accepts the post, then the worker "dies" before it can record it."""

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        await self.inner.publish(account, request)
        raise RuntimeError("worker killed right after the network accepted the post")


async def test_crash_between_network_and_commit_does_not_post_twice(
    both_app: FastAPI, both_client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    post_id = await schedule(both_client, owner, account, when)
    held = resources_of(both_app)
    crashing = PlatformRegistry(
        {held.platforms.sandbox.network: CrashAfterPublish(held.platforms.sandbox)}
    )  # type: ignore[dict-item]
    clock = Clock(when)
    await run_round(make_dispatcher(both_app, clock, crashing))
    stuck = await delivery_of(both_app, post_id)
    assert stuck.state == DeliveryState.CLAIMED  # the dead worker's lease
    assert [a.outcome for a in await attempts_of(both_app, stuck.id)] == [AttemptOutcome.PENDING]

    successor = make_dispatcher(both_app, clock)
    assert await run_round(successor) == 0  # the lease still holds
    clock.now = when + timedelta(minutes=3)
    assert await run_round(successor) == 1
    delivery = await delivery_of(both_app, post_id)
    assert delivery.state == DeliveryState.PUBLISHED
    outcomes = [a.outcome for a in await attempts_of(both_app, delivery.id)]
    assert outcomes == [AttemptOutcome.UNKNOWN, AttemptOutcome.RECONCILED_FOUND]
    record = await sandbox_record(both_client)
    assert (record["posts"], record["duplicates"]) == (1, [])


class StallAfterPublish(WrappedPlatform):
    """The network accepts the post; the answer reaches the worker only once `go` is set (a
    worker that stalled past its lease)."""

    def __init__(self, inner: object) -> None:
        super().__init__(inner)
        self.applied = 0
        self.both_applied = asyncio.Event()
        self.go = asyncio.Event()

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        published = await self.inner.publish(account, request)
        self.applied += 1
        if self.applied == 2:
            self.both_applied.set()
        await self.go.wait()
        return published


async def test_outcomes_recorded_together_after_a_takeover_record_nothing(
    both_app: FastAPI, both_client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(both_client)
    accounts = [
        await add_sandbox_account(both_client, owner.workspace_id, handle)
        for handle in ("bakery", "florist")
    ]
    post_ids = [await schedule(both_client, owner, account, when) for account in accounts]
    stalling = StallAfterPublish(resources_of(both_app).platforms.sandbox)
    clock = Clock(when)
    stale = make_dispatcher(
        both_app,
        clock,
        PlatformRegistry({Network.SANDBOX: stalling}),  # type: ignore[dict-item]
    )
    assert await stale.dispatch_due() == 2
    await stalling.both_applied.wait()
    clock.now = when + timedelta(minutes=3)  # the stale worker's leases ran out
    assert await run_round(make_dispatcher(both_app, clock)) == 2  # reconciled: both found
    stalling.go.set()
    await stale.drain()  # its two outcomes arrive together, for deliveries it no longer holds
    for post_id in post_ids:
        delivery = await delivery_of(both_app, post_id)
        assert delivery.state == DeliveryState.PUBLISHED
        outcomes = [a.outcome for a in await attempts_of(both_app, delivery.id)]
        # The successor's reading of the stale call, not the stale worker's late "published".
        assert outcomes == [AttemptOutcome.UNKNOWN, AttemptOutcome.RECONCILED_FOUND]
    record = await sandbox_record(both_client)
    assert (record["posts"], record["duplicates"]) == (2, [])


async def test_a_post_settled_while_its_outcome_commits_is_settled_again(
    both_app: FastAPI, both_client: ApiClient, when: datetime
) -> None:
    """The settle loop may run between an outcome's recording and its commit: it then sees
    the old states, so the post must be settled again after the commit (not a minute later
    by the sweep)."""
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    post_id = await schedule(both_client, owner, account, when)
    dispatcher = make_dispatcher(both_app, Clock(when))
    plan_collections = dispatcher._plan_collections
    settled_in_between = []

    async def settle_first(session: AsyncSession) -> None:
        settled_in_between.append(set(dispatcher._dirty_posts))
        await dispatcher.settle_posts()  # its own session: the outcome is not committed yet
        await plan_collections(session)

    dispatcher._plan_collections = settle_first  # type: ignore[method-assign]
    assert await run_round(dispatcher) == 1
    assert settled_in_between  # the hook ran inside the recording transaction
    assert (await delivery_of(both_app, post_id)).state == DeliveryState.PUBLISHED
    post = await both_client.get(f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}")
    assert post.json()["status"] == "published"


async def test_claims_resume_when_outcomes_waiting_for_a_slow_commit_are_recorded(
    both_app: FastAPI, both_client: ApiClient, when: datetime
) -> None:
    """Finished calls whose outcomes wait for the commit fill the dispatcher up to its bound;
    once they are recorded, it claims again (no call ended meanwhile to wake it)."""
    owner = await set_up_owner(both_client)
    accounts = [
        await add_sandbox_account(both_client, owner.workspace_id, handle)
        for handle in ("bakery", "florist", "grocer")
    ]
    post_ids = [await schedule(both_client, owner, account, when) for account in accounts]
    dispatcher = make_dispatcher(both_app, Clock(when), concurrency=1)
    plan_collections = dispatcher._plan_collections
    database_back = asyncio.Event()

    async def slow_commit(session: AsyncSession) -> None:
        await database_back.wait()
        await plan_collections(session)

    dispatcher._plan_collections = slow_commit  # type: ignore[method-assign]
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    try:
        for _ in range(250):  # two calls made, both outcomes waiting: the bound is reached
            if (await sandbox_record(both_client))["posts"] == 2:
                break
            await asyncio.sleep(0.02)
        assert (await sandbox_record(both_client))["posts"] == 2
        database_back.set()
        for _ in range(250):
            states = {(await delivery_of(both_app, post_id)).state for post_id in post_ids}
            if states == {DeliveryState.PUBLISHED}:
                break
            await asyncio.sleep(0.02)
        assert states == {DeliveryState.PUBLISHED}
    finally:
        database_back.set()
        stop.set()
        dispatcher.wake()
        await asyncio.wait_for(running, 10)
    record = await sandbox_record(both_client)
    assert (record["posts"], record["duplicates"]) == (3, [])


async def test_revoked_access_fails_the_delivery_and_flags_the_account(
    app: FastAPI, client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post_id = await schedule(client, owner, account, when)
    assert (await client.delete("/sandbox/v1/accounts/bakery/token")).status_code == 204
    await run_round(make_dispatcher(app, Clock(when)))
    delivery = await delivery_of(app, post_id)
    assert delivery.state == DeliveryState.FAILED
    assert "Reconnect the account" in (delivery.last_error or "")
    accounts = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/accounts")).json()[
        "items"
    ]
    assert accounts[0]["status"] == "needs_reconnect"
    post = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}")).json()
    assert post["status"] == "failed"

    base = f"/api/v1/workspaces/{owner.workspace_id}"
    [failed] = (await client.get(f"{base}/posts/{post_id}/deliveries")).json()
    assert failed["can_retry"] is False  # reconnect first
    assert (await client.post(f"{base}/deliveries/{failed['id']}/retry")).json()["error"][
        "code"
    ] == "needs_reconnect"
    reconnected = await client.post(f"{base}/accounts/{account}/reconnect")
    assert reconnected.json()["status"] == "connected"
    assert (await client.post(f"{base}/deliveries/{failed['id']}/retry")).status_code == 200
    await run_round(make_dispatcher(app, Clock(datetime.now(UTC) + timedelta(seconds=1))))
    [published] = (await client.get(f"{base}/posts/{post_id}/deliveries")).json()
    assert published["state"] == "published"
    # Links point at this PostWizard's /sandbox, not at the in-process address.
    assert published["remote_url"].startswith("http://127.0.0.1:8000/sandbox/@bakery/")


async def test_after_a_long_outage_overdue_posts_are_missed_not_published(
    app: FastAPI, client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    slightly_late = await schedule(client, owner, account, when, text="a bit late")
    far_too_late = await schedule(
        client, owner, account, when - timedelta(minutes=30), text="too late"
    )
    # 5 h 45 min after the first was due (inside the 6-hour cutoff), 6 h 15 min after the second.
    clock = Clock(when + timedelta(hours=5, minutes=45))
    await run_round(make_dispatcher(app, clock))
    assert (await delivery_of(app, slightly_late)).state == DeliveryState.PUBLISHED
    missed = await delivery_of(app, far_too_late)
    assert missed.state == DeliveryState.MISSED
    assert "Reschedule" in (missed.last_error or "")
    assert (await sandbox_record(client))["posts"] == 1


async def test_post_shows_each_attempt_and_a_missed_delivery_can_be_retried(
    app: FastAPI, client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post_id = await schedule(client, owner, account, when)
    await run_round(make_dispatcher(app, Clock(when + timedelta(hours=7))))
    base = f"/api/v1/workspaces/{owner.workspace_id}"
    [missed] = (await client.get(f"{base}/posts/{post_id}/deliveries")).json()
    assert (missed["state"], missed["can_retry"], missed["account_name"]) == (
        "missed",
        True,
        "Bakery",
    )
    retried = await client.post(f"{base}/deliveries/{missed['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["state"] == "scheduled"
    again = await client.post(f"{base}/deliveries/{missed['id']}/retry")
    assert again.status_code == 409
    await run_round(make_dispatcher(app, Clock(datetime.now(UTC) + timedelta(seconds=1))))
    [published] = (await client.get(f"{base}/posts/{post_id}/deliveries")).json()
    assert published["state"] == "published"
    assert [a["outcome"] for a in published["attempts"]] == ["published"]
    assert published["remote_url"]


async def test_health_alerts_when_posts_are_due_and_no_worker_runs(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    url = f"/api/v1/workspaces/{owner.workspace_id}/posts"
    post = (
        await client.post(url, json={"text": "Now!", "targets": [{"account_id": account}]})
    ).json()
    await client.post(f"{url}/{post['id']}/schedule", json={"now": True})
    health = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/publishing/health")).json()
    assert (health["queue_depth"], health["due_not_started"], health["workers"]) == (1, 1, [])
    assert "no publishing worker is running" in health["alert"]
    metrics = (await client.get("/metrics")).text
    assert "postwizard_publishing_due_not_started 1.0" in metrics
    assert "postwizard_publishing_live_workers 0.0" in metrics

    dispatcher = make_dispatcher(app, Clock(datetime.now(UTC) + timedelta(seconds=1)))
    await dispatcher.beat(datetime.now(UTC))
    await run_round(dispatcher)
    health = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/publishing/health")).json()
    assert health["alert"] is None
    assert [w["alive"] for w in health["workers"]] == [True]
    assert health["due_not_started"] == 0


async def test_daily_post_cap_waits_without_calling_the_network(
    app: FastAPI, client: ApiClient, when: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postwizard.publishing import dispatcher as dispatcher_module

    monkeypatch.setitem(dispatcher_module.DAILY_POST_CAPS, Network.SANDBOX, 2)
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    posts = [
        await schedule(client, owner, account, when + timedelta(seconds=n), text=f"Loaf {n}")
        for n in range(3)
    ]
    clock = Clock(when + timedelta(seconds=5))
    dispatcher = make_dispatcher(app, clock)
    for _ in range(3):
        await run_round(dispatcher)
    states = [(await delivery_of(app, post_id)).state for post_id in posts]
    assert states == [DeliveryState.PUBLISHED, DeliveryState.PUBLISHED, DeliveryState.RETRY_WAIT]
    waiting = await delivery_of(app, posts[2])
    first = await delivery_of(app, posts[0])
    assert first.published_at is not None
    assert waiting.next_attempt_at == first.published_at + timedelta(hours=24)
    assert "2 posts per 24 hours" in (waiting.last_error or "")
    assert await attempts_of(app, waiting.id) == []
    assert (await sandbox_record(client))["posts"] == 2


class Gate(WrappedPlatform):
    """Holds each publish call until the test releases it."""

    def __init__(self, inner: object) -> None:
        super().__init__(inner)
        self.calls: asyncio.Queue[asyncio.Event] = asyncio.Queue()

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        go = asyncio.Event()
        await self.calls.put(go)
        await go.wait()
        return await self.inner.publish(account, request)


async def test_a_slow_worker_makes_no_call_once_its_lease_ran_out(
    app: FastAPI, client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    await schedule(client, owner, account, when, "first")
    await schedule(client, owner, account, when, "second")
    clock = Clock(when)
    gate = Gate(resources_of(app).platforms.sandbox)
    slow = make_dispatcher(app, clock, PlatformRegistry({Network.SANDBOX: gate}))  # type: ignore[dict-item]
    successor = make_dispatcher(app, clock)
    assert await slow.dispatch_due() == 2
    first = await asyncio.wait_for(gate.calls.get(), 5)
    clock.now = (
        when + RetryPolicy().lease + timedelta(seconds=1)
    )  # the slow worker is alive, just late
    first.set()
    await asyncio.sleep(0.2)
    assert gate.calls.empty()  # it did not call for the second delivery on an expired lease
    assert await run_round(successor) == 1
    await slow.drain()
    record = await sandbox_record(client)
    assert (record["posts"], record["duplicates"]) == (2, [])


async def test_losing_access_while_reconciling_fails_the_delivery_and_flags_the_account(
    app: FastAPI, client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post_id = await schedule(client, owner, account, when)
    await set_faults(client, seed=1, error_rate=1.0)
    clock = Clock(when)
    dispatcher = make_dispatcher(app, clock)
    await run_round(dispatcher)
    assert (await delivery_of(app, post_id)).state == DeliveryState.UNKNOWN
    await set_faults(client, seed=1)
    assert (await client.delete("/sandbox/v1/accounts/bakery/token")).status_code == 204
    clock.now = (await delivery_of(app, post_id)).next_attempt_at
    await run_round(dispatcher)
    delivery = await delivery_of(app, post_id)
    assert delivery.state == DeliveryState.FAILED
    accounts = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/accounts")).json()[
        "items"
    ]
    assert accounts[0]["status"] == "needs_reconnect"


def test_a_lease_shorter_than_two_calls_is_refused() -> None:
    from pydantic import ValidationError

    from postwizard.config import Settings

    with pytest.raises(ValidationError, match="lease_seconds"):
        Settings(lease_seconds=30, call_timeout_seconds=30)


async def posts_of(client: ApiClient, owner: Person) -> list[dict]:  # type: ignore[type-arg]
    items: list[dict] = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/posts")).json()[
        "items"
    ]  # type: ignore[type-arg]
    return items


async def test_a_recurring_post_goes_out_each_time_until_its_count(
    app: FastAPI, client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    await schedule_post(
        client,
        owner.workspace_id,
        [account],
        when.isoformat(),
        "Weekly bread news",
        recurrence="FREQ=WEEKLY;COUNT=3",
    )
    clock = Clock(when)
    dispatcher = make_dispatcher(app, clock)
    for week in range(3):
        clock.now = when + timedelta(weeks=week)
        assert await run_round(dispatcher) == 1
    posts = await posts_of(client, owner)
    assert [p["status"] for p in posts] == ["published", "published", "published"]
    assert [p["scheduled_at"] for p in posts] == [
        (when + timedelta(weeks=w)).isoformat().replace("+00:00", "Z") for w in range(3)
    ]
    clock.now = when + timedelta(weeks=3)
    assert await run_round(dispatcher) == 0  # COUNT=3 reached: the series ends
    assert (await sandbox_record(client))["posts"] == 3


async def test_an_evergreen_post_is_queued_again_after_it_is_published(
    app: FastAPI, client: ApiClient, when: datetime
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    await schedule_post(
        client,
        owner.workspace_id,
        [account],
        when.isoformat(),
        "Our classic loaf",
        evergreen_every_days=30,
    )
    await run_round(make_dispatcher(app, Clock(when)))
    first, second = await posts_of(client, owner)
    assert (first["status"], first["evergreen_every_days"]) == ("published", None)
    assert (second["status"], second["evergreen_every_days"]) == ("scheduled", 30)
    assert second["scheduled_at"] == (when + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert second["text"] == "Our classic loaf"
