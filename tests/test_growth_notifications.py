"""Growth notifications: goals reached or at risk, challenges completed and posting streaks about
to break are told once each (however often and by however many workers the watcher runs),
counted in the streak's local days across DST, and never for a quiet workspace."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI

from postwizard.api.resources import resources_of
from postwizard.growth.watch import GrowthWatcher, WatchConfig
from postwizard.publishing.models import DeliveryState
from tests.analytics_history import History
from tests.api_client import ApiClient, Person, add_sandbox_account, set_up_owner
from tests.notification_support import eventually

DAY = timedelta(days=1)


def watcher_for(app: FastAPI, config: WatchConfig | None = None) -> GrowthWatcher:
    """A worker's growth watcher (the test app runs none of its own)."""
    held = resources_of(app)
    return GrowthWatcher(held.session_factory, held.bus, held.settings, config=config)


async def news(api: ApiClient, owner: Person) -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/workspaces/{owner.workspace_id}/notifications")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def of_type(items: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [item for item in items if item["type"] == kind]


async def create(api: ApiClient, owner: Person, what: str, body: dict[str, Any]) -> Any:
    response = await api.post(f"/api/v1/workspaces/{owner.workspace_id}/growth/{what}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_goal_reached_is_told_once_and_at_risk_at_most_weekly(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    app, client = both_app, both_client
    owner = await set_up_owner(client)
    alice = await add_sandbox_account(client, owner.workspace_id, "alice")
    history = History(app, owner.workspace_id)
    now = datetime.now(UTC)
    await history.followers(alice, now - 20 * DAY, 1000)
    await history.followers(alice, now - timedelta(hours=1), 1200)
    body = {
        "metric": "followers",
        "start": (now.date() - timedelta(days=10)).isoformat(),
        "deadline": (now.date() + timedelta(days=20)).isoformat(),
        "account_id": alice,
    }
    reached = await create(client, owner, "goals", {**body, "target": 1150})
    risky = await create(client, owner, "goals", {**body, "target": 2000})
    assert (reached["status"], risky["status"]) == ("reached", "at_risk")

    watcher = watcher_for(app)
    assert await watcher.run_once(now) == 1
    [told] = await news(client, owner)  # a goal set today is not called at risk yet
    assert told["type"] == "goal.reached"
    assert told["link"] == "/growth"
    assert "1,200 followers" in told["body"]
    assert told["data"]["goal_id"] == reached["id"]

    await watcher.run_once(now + timedelta(minutes=5))
    await watcher_for(app).run_once(now + timedelta(minutes=5))  # another worker
    assert len(await news(client, owner)) == 1

    await watcher.run_once(now + 2 * DAY)
    await watcher_for(app).run_once(now + 2 * DAY + timedelta(hours=1))
    items = await news(client, owner)
    [at_risk] = of_type(items, "goal.at_risk")
    assert at_risk["data"]["goal_id"] == risky["id"]
    assert "2,000 followers" in at_risk["body"]
    assert len(of_type(items, "goal.reached")) == 1

    await watcher_for(app).run_once(now + 9 * DAY)  # still at risk a week later: told again
    assert len(of_type(await news(client, owner), "goal.at_risk")) == 2


async def test_challenge_completed_counts_only_published_deliveries(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    alice = await add_sandbox_account(client, owner.workspace_id, "alice")
    history = History(app, owner.workspace_id)
    now = datetime.now(UTC)
    rule = {"type": "count", "target": 2, "distinct": "post"}
    challenge = await create(
        client,
        owner,
        "challenges",
        {
            "rule": rule,
            "title": "Two posts",
            "starts_on": (now.date() - timedelta(days=2)).isoformat(),
        },
    )
    await history.delivery(await history.post(), alice, now - DAY)
    await history.delivery(await history.post(), alice, now - DAY, state=DeliveryState.FAILED)
    await history.delivery(await history.post(), alice, now - DAY, state=DeliveryState.CANCELLED)
    watcher = watcher_for(
        app, WatchConfig(settle=timedelta(milliseconds=20), first_pass_after=timedelta(hours=1))
    )
    assert await watcher.run_once() == 0
    assert await news(client, owner) == []

    # The second post goes out; the running watcher hears of it and judges soon after.
    second = await history.post()
    delivery = await history.delivery(second, alice, now - timedelta(minutes=1))
    stop = asyncio.Event()
    running = asyncio.create_task(watcher.run(stop))
    try:
        await resources_of(app).bus.publish(
            uuid.UUID(owner.workspace_id),
            "delivery.updated",
            {"delivery_id": delivery, "post_id": second, "state": "published"},
        )
        items = await eventually(lambda: news(client, owner))
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await running
    [completed] = items
    assert completed["type"] == "challenge.completed"
    assert completed["data"]["challenge_id"] == challenge["id"]
    assert "Two posts" in completed["body"]
    await watcher_for(app).run_once()
    assert len(await news(client, owner)) == 1


async def test_streak_reminder_counts_local_days_across_dst(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    alice = await add_sandbox_account(client, owner.workspace_id, "alice")
    history = History(app, owner.workspace_id)
    # The workspace's growth runs in New York (its challenge's zone), which moves to daylight
    # time on 8 March 2026. The reminder hour is 18:00 there.
    await create(
        client,
        owner,
        "challenges",
        {"rule": {"type": "count", "target": 1000}, "timezone": "America/New_York"},
    )
    for day in (5, 6, 7):
        await history.delivery(await history.post(), alice, datetime(2026, 3, day, 17, tzinfo=UTC))
    watcher = watcher_for(app)

    async def reminders() -> list[dict[str, Any]]:
        return of_type(await news(client, owner), "streak.at_risk")

    await watcher.run_once(datetime(2026, 3, 8, 21, 59, tzinfo=UTC))  # 17:59 EDT
    assert await reminders() == []
    await watcher.run_once(datetime(2026, 3, 8, 22, 30, tzinfo=UTC))  # 18:30 EDT (17:30 EST)
    [first] = await reminders()
    assert "3-day posting streak" in first["body"]
    assert first["data"]["day"] == "2026-03-08"
    await watcher_for(app).run_once(datetime(2026, 3, 8, 23, 30, tzinfo=UTC))
    assert len(await reminders()) == 1

    # 23:30 on the 8th in New York, the 9th in UTC: the 9th is still empty locally.
    await history.delivery(await history.post(), alice, datetime(2026, 3, 9, 3, 30, tzinfo=UTC))
    await watcher.run_once(datetime(2026, 3, 9, 22, 30, tzinfo=UTC))
    second = (await reminders())[0]
    assert len(await reminders()) == 2
    assert "4-day posting streak" in second["body"]

    # Published today (local): no reminder.
    await history.delivery(await history.post(), alice, datetime(2026, 3, 10, 15, tzinfo=UTC))
    await watcher.run_once(datetime(2026, 3, 10, 22, 30, tzinfo=UTC))
    assert len(await reminders()) == 2
    # A quiet week after: no daily streak left; on Saturday nothing, on Sunday the weekly one.
    await watcher.run_once(datetime(2026, 3, 21, 22, 30, tzinfo=UTC))
    assert len(await reminders()) == 2
    await watcher.run_once(datetime(2026, 3, 22, 22, 30, tzinfo=UTC))
    weekly = (await reminders())[0]
    assert len(await reminders()) == 3
    assert "2-week posting streak" in weekly["body"]
    assert "day posting streak" not in weekly["body"]


async def test_quiet_workspace_gets_no_growth_news(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    alice = await add_sandbox_account(client, owner.workspace_id, "alice")
    history = History(app, owner.workspace_id)
    now = datetime.now(UTC).replace(hour=23, minute=0)  # past the reminder hour (UTC)
    watcher = watcher_for(app)
    assert await watcher.run_once(now) == 0
    await history.delivery(await history.post(), alice, now - 20 * DAY)  # no streak left
    assert await watcher.run_once(now) == 0
    assert await news(client, owner) == []

    # The settings list the growth events, emailed by default only when they ask for a post.
    response = await client.get("/api/v1/notification-preferences")
    assert response.status_code == 200, response.text
    email = {item["event_type"]: item["email"] for item in response.json()["items"]}
    assert {kind: email[kind] for kind in email if kind.split(".")[0] in GROWTH_PREFIXES} == {
        "goal.reached": False,
        "goal.at_risk": True,
        "streak.at_risk": True,
        "challenge.completed": False,
    }


GROWTH_PREFIXES = {"goal", "streak", "challenge"}
