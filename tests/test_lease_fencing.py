"""Fencing: a worker that stalled past its lease (a long pause, a starved process) must not
overwrite what the worker that took the delivery over has recorded since."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI

from postwizard.api.resources import resources_of
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import AccountRef, Published, PublishRequest, TransientError
from postwizard.platforms.registry import PlatformRegistry
from postwizard.publishing.models import AttemptOutcome, DeliveryState
from postwizard.publishing.policy import RetryPolicy
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
)


class HeldThenRefused(WrappedPlatform):
    """Holds each publish call until the test releases it, then answers "503, try again" (the
    network did not take the post)."""

    def __init__(self, inner: object) -> None:
        super().__init__(inner)
        self.calls: asyncio.Queue[asyncio.Event] = asyncio.Queue()

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        go = asyncio.Event()
        await self.calls.put(go)
        await go.wait()
        raise TransientError("Service unavailable", http_status=503)


@pytest.fixture
def when() -> datetime:
    return (datetime.now().astimezone() + timedelta(hours=1)).replace(microsecond=0)


async def test_a_worker_that_lost_its_lease_during_the_call_does_not_undo_its_successor(
    both_app: FastAPI, both_client: ApiClient, when: datetime
) -> None:
    app, client = both_app, both_client
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post = await schedule(client, owner, account, when, "Only once, please")
    clock = Clock(when)
    held = HeldThenRefused(resources_of(app).platforms.sandbox)
    stalled = make_dispatcher(app, clock, PlatformRegistry({Network.SANDBOX: held}))  # type: ignore[dict-item]
    successor = make_dispatcher(app, clock)

    assert await stalled.dispatch_due() == 1
    release = await asyncio.wait_for(held.calls.get(), 5)
    clock.now = when + RetryPolicy().lease + timedelta(seconds=1)  # stalled past its lease
    assert await run_round(successor) == 1  # takes over: reconciles (not there), publishes
    assert (await delivery_of(app, post)).state == DeliveryState.PUBLISHED

    release.set()  # the stalled worker wakes up with its call's answer
    await stalled.drain()
    delivery = await delivery_of(app, post)
    assert delivery.state == DeliveryState.PUBLISHED
    assert delivery.remote_id is not None
    outcomes = [a.outcome for a in await attempts_of(app, delivery.id)]
    assert outcomes[-1] == AttemptOutcome.PUBLISHED

    clock.now += timedelta(hours=6)  # any retry the stalled worker asked for would be due
    assert await run_round(successor) == 0
    record = await sandbox_record(client)
    assert (record["posts"], record["duplicates"]) == (1, [])
