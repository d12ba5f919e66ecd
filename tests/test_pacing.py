"""Pacing: token buckets for the networks' posting rates and concurrency caps per network and
per account, through the dispatcher against the sandbox network."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from postwizard.api.resources import resources_of
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import AccountRef, Published, PublishRequest
from postwizard.platforms.registry import PlatformRegistry
from postwizard.publishing.models import DeliveryState
from postwizard.publishing.pacing import NetworkPacing, Rate, TokenBucket
from tests.api_client import ApiClient, add_sandbox_account, set_up_owner
from tests.support.wrapped_platform import WrappedPlatform
from tests.test_dispatcher import (
    Clock,
    attempts_of,
    delivery_of,
    make_dispatcher,
    run_round,
    sandbox_record,
    schedule,
    when,  # noqa: F401 - fixture
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(Rate(calls=6, seconds=60, burst=3), time)
    for _ in range(3):
        assert bucket.wait_time() == 0
        bucket.take()
    assert bucket.wait_time() == 10.0  # one call per 10 s
    time.now += 10
    assert bucket.wait_time() == 0
    time.now += 3600  # refilled, but never beyond the burst
    for _ in range(3):
        bucket.take()
    assert bucket.wait_time() > 0


@given(
    calls=st.integers(1, 50),
    seconds=st.floats(0.5, 3600),
    burst=st.integers(1, 20),
    gaps=st.lists(st.floats(0, 120), min_size=1, max_size=60),
)
def test_a_bucket_never_allows_more_than_burst_plus_rate(
    calls: int, seconds: float, burst: int, gaps: list[float]
) -> None:
    time = FakeTime()
    rate = Rate(calls=calls, seconds=seconds, burst=burst)
    bucket = TokenBucket(rate, time)
    start = time.now
    taken = 0
    for gap in gaps:
        time.now += gap
        while bucket.wait_time() == 0:
            bucket.take()
            taken += 1
    elapsed = time.now - start
    assert taken <= burst + elapsed * rate.per_second + 1e-6


async def test_posts_beyond_the_accounts_rate_wait_in_the_queue_without_a_call(
    app: FastAPI,
    client: ApiClient,
    when: datetime,  # noqa: F811
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    posts = [await schedule(client, owner, account, when, text=f"Loaf {n}") for n in range(3)]
    clock = Clock(when)
    pacing = {Network.SANDBOX: NetworkPacing(per_account=Rate(calls=2, seconds=3600))}
    dispatcher = make_dispatcher(app, clock, pacing=pacing)
    await run_round(dispatcher)
    deliveries = [await delivery_of(app, post_id) for post_id in posts]
    states = sorted(d.state for d in deliveries)
    assert states == sorted([DeliveryState.PUBLISHED] * 2 + [DeliveryState.RETRY_WAIT])
    (waiting,) = [d for d in deliveries if d.state == DeliveryState.RETRY_WAIT]
    # One call per 30 minutes once the burst of 2 is spent.
    assert timedelta(minutes=29) <= waiting.next_attempt_at - when <= timedelta(minutes=31)
    assert "rate limit" in (waiting.last_error or "")
    assert await attempts_of(app, waiting.id) == []
    assert (await sandbox_record(client))["posts"] == 2


class Counting(WrappedPlatform):
    """Wraps the sandbox adapter and records the most calls in flight at once."""

    def __init__(self, inner: object) -> None:
        super().__init__(inner)
        self.in_flight = 0
        self.most = 0
        self.per_account: dict[str, int] = {}
        self.most_per_account = 0

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        self.in_flight += 1
        self.per_account[account.handle] = self.per_account.get(account.handle, 0) + 1
        self.most = max(self.most, self.in_flight)
        self.most_per_account = max(self.most_per_account, self.per_account[account.handle])
        try:
            await asyncio.sleep(0.05)
            return await self.inner.publish(account, request)
        finally:
            self.in_flight -= 1
            self.per_account[account.handle] -= 1


async def test_calls_to_one_network_and_one_account_stay_within_their_caps(
    app: FastAPI,
    client: ApiClient,
    when: datetime,  # noqa: F811
) -> None:
    owner = await set_up_owner(client)
    accounts = [
        await add_sandbox_account(client, owner.workspace_id, f"bakery{n}") for n in range(4)
    ]
    posts = [
        await schedule(client, owner, account, when, text=f"Loaf {n} for {account}")
        for account in accounts
        for n in range(2)
    ]
    counting = Counting(resources_of(app).platforms.sandbox)
    registry = PlatformRegistry({Network.SANDBOX: counting})  # type: ignore[dict-item]
    pacing = {Network.SANDBOX: NetworkPacing(concurrency=3)}
    dispatcher = make_dispatcher(app, Clock(when), registry, pacing=pacing, per_account=1)
    assert await run_round(dispatcher) == len(posts)
    assert counting.most == 3  # the network cap, though 8 were claimed at once
    assert counting.most_per_account == 1
    states = {(await delivery_of(app, post_id)).state for post_id in posts}
    assert states == {DeliveryState.PUBLISHED}
    record = await sandbox_record(client)
    assert (record["posts"], record["duplicates"]) == (len(posts), [])
