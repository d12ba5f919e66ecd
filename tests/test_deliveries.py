"""The delivery layer: one delivery per target when a post is scheduled, re-planned or cancelled
only before it starts, claimed by workers without overlap (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from postwizard.api.resources import resources_of
from postwizard.posts.models import PostStatus
from postwizard.publishing import repository
from postwizard.publishing.models import Delivery, DeliveryState
from postwizard.publishing.policy import RetryPolicy
from postwizard.publishing.service import post_status_from
from tests.api_client import ApiClient, Person, add_sandbox_account, schedule_post, set_up_owner

NEXT_YEAR = datetime.now(UTC).year + 1


async def deliveries(app: FastAPI, post_id: str) -> list[Delivery]:
    async with resources_of(app).session_factory() as session:
        return list(
            await session.scalars(
                select(Delivery).where(Delivery.post_id == uuid.UUID(post_id)).order_by(Delivery.id)
            )
        )


async def scheduled_post(api: ApiClient, owner: Person, accounts: list[str], at: str) -> str:
    return await schedule_post(api, owner.workspace_id, accounts, at, "Bread!")


async def test_scheduling_creates_one_delivery_per_target(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    owner = await set_up_owner(both_client)
    accounts = [await add_sandbox_account(both_client, owner.workspace_id, h) for h in ("a", "b")]
    post_id = await scheduled_post(both_client, owner, accounts, f"{NEXT_YEAR}-01-02T10:00:00Z")
    planned = await deliveries(both_app, post_id)
    assert sorted(str(d.account_id) for d in planned) == sorted(accounts)
    assert {d.state for d in planned} == {DeliveryState.SCHEDULED}
    assert {d.due_at for d in planned} == {datetime(NEXT_YEAR, 1, 2, 10, tzinfo=UTC)}
    assert len({d.marker for d in planned}) == 2

    url = f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}"
    await both_client.post(f"{url}/schedule", json={"at": f"{NEXT_YEAR}-01-03T10:00:00Z"})
    moved = await deliveries(both_app, post_id)
    assert len(moved) == 2
    assert {d.due_at for d in moved} == {datetime(NEXT_YEAR, 1, 3, 10, tzinfo=UTC)}
    await both_client.post(f"{url}/cancel")
    assert {d.state for d in await deliveries(both_app, post_id)} == {DeliveryState.CANCELLED}


async def test_only_due_deliveries_are_claimed_and_never_twice(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "a")
    due_now = [
        await scheduled_post(both_client, owner, [account], f"{NEXT_YEAR}-01-01T10:00:00Z")
        for _ in range(6)
    ]
    later = await scheduled_post(both_client, owner, [account], f"{NEXT_YEAR}-06-01T10:00:00Z")
    moment = datetime(NEXT_YEAR, 1, 1, 10, 0, 1, tzinfo=UTC)
    factory = resources_of(both_app).session_factory

    async def claim(worker: str) -> list[uuid.UUID]:
        async with factory() as session:
            claimed = await repository.claim_due(
                session, worker, moment, moment + timedelta(minutes=2), limit=4
            )
            await session.commit()
            return [d.post_id for d in claimed]

    first, second = await asyncio.gather(claim("w1"), claim("w2"))
    assert not set(first) & set(second)
    assert sorted(map(str, first + second)) == sorted(due_now)
    assert await claim("w3") == []
    assert {d.state for d in await deliveries(both_app, later)} == {DeliveryState.SCHEDULED}

    # A worker that died leaves a lease; once it expires, another worker takes the delivery over.
    async with factory() as session:
        expired = await repository.claim_due(
            session, "w4", moment + timedelta(minutes=3), moment + timedelta(minutes=5), limit=10
        )
        await session.commit()
    assert sorted(str(d.post_id) for d in expired) == sorted(due_now)
    assert {d.lease_owner for d in expired} == {"w4"}


async def test_a_started_delivery_cannot_be_rescheduled_or_cancelled(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "a")
    post_id = await scheduled_post(client, owner, [account], f"{NEXT_YEAR}-01-01T10:00:00Z")
    async with resources_of(app).session_factory() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.post_id == uuid.UUID(post_id))
            .values(state=DeliveryState.CLAIMED)
        )
        await session.commit()
    url = f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}"
    for path, body in (
        ("schedule", {"at": f"{NEXT_YEAR}-02-01T10:00:00Z"}),
        ("cancel", None),
        ("unschedule", None),
    ):
        response = await client.post(f"{url}/{path}", json=body)
        assert response.status_code == 409, path
        assert response.json()["error"]["code"] == "publishing_started"
        assert "already started" in response.json()["error"]["message"]
    assert (await client.get(url)).json()["scheduled_at"].startswith(f"{NEXT_YEAR}-01-01")


async def test_imported_scheduled_posts_get_deliveries(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    await add_sandbox_account(client, owner.workspace_id, "bakery")
    content = f"text,accounts,time\nHello,bakery,{NEXT_YEAR}-01-01 10:00\nDraft,bakery,\n"
    report = await client.post(
        f"/api/v1/workspaces/{owner.workspace_id}/imports/posts",
        content=content.encode(),
        headers={"Content-Type": "text/csv"},
    )
    scheduled, draft = report.json()["created"]
    assert [d.state for d in await deliveries(app, scheduled)] == [DeliveryState.SCHEDULED]
    assert await deliveries(app, draft) == []


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(min_value=1, max_value=60), seed=st.integers(min_value=0, max_value=2**32)
)
def test_backoff_stays_within_its_bounds(attempt: int, seed: int) -> None:
    policy = RetryPolicy(base_seconds=5, max_seconds=900)
    wait = policy.backoff(attempt, random.Random(seed))
    assert 5 <= wait <= min(900, 5 * 2 ** (attempt - 1))


@settings(max_examples=100, deadline=None)
@given(
    retry_after=st.floats(min_value=0, max_value=3600),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_retry_after_is_honoured_when_longer_than_backoff(retry_after: float, seed: int) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    when = RetryPolicy().next_attempt_after_error(now, 1, retry_after, random.Random(seed))
    assert when >= now + timedelta(seconds=retry_after)


def test_downtime_cutoff_and_give_up_horizon() -> None:
    policy = RetryPolicy(missed_cutoff=timedelta(hours=6), give_up_after=timedelta(hours=24))
    due = datetime(2030, 1, 1, tzinfo=UTC)
    assert not policy.is_missed(due, due + timedelta(hours=5, minutes=59))
    assert policy.is_missed(due, due + timedelta(hours=6, seconds=1))
    assert not policy.gives_up(due, due + timedelta(hours=23))
    assert policy.gives_up(due, due + timedelta(hours=25))


def test_post_state_is_derived_from_its_deliveries() -> None:
    def made(*states: DeliveryState) -> list[Delivery]:
        return [Delivery(state=s) for s in states]

    assert post_status_from(made(DeliveryState.SCHEDULED, DeliveryState.SCHEDULED)) is None
    assert (
        post_status_from(made(DeliveryState.CLAIMED, DeliveryState.SCHEDULED))
        == PostStatus.PUBLISHING
    )
    assert (
        post_status_from(made(DeliveryState.PUBLISHED, DeliveryState.PUBLISHED))
        == PostStatus.PUBLISHED
    )
    assert (
        post_status_from(made(DeliveryState.PUBLISHED, DeliveryState.FAILED))
        == PostStatus.PARTIALLY_PUBLISHED
    )
    assert post_status_from(made(DeliveryState.FAILED, DeliveryState.MISSED)) == PostStatus.FAILED
    assert (
        post_status_from(made(DeliveryState.PUBLISHED, DeliveryState.CANCELLED))
        == PostStatus.PUBLISHED
    )
    assert post_status_from(made(DeliveryState.CANCELLED)) is None
