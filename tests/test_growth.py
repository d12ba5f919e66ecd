"""Growth through the HTTP API: goal progress and forecasts, every challenge template and a
custom rule, streaks across time zones and DST, recomputation when deliveries are cancelled
or fail, and malformed input rejected with the field named."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from postwizard.api.resources import resources_of
from postwizard.media.models import Media, MediaKind
from postwizard.posts.models import PostMedia
from postwizard.publishing.models import Delivery, DeliveryState
from tests.analytics_history import History
from tests.api_client import ApiClient, add_sandbox_account, connect_account, set_up_owner

DAY = timedelta(days=1)


def growth(workspace_id: str, path: str) -> str:
    return f"/api/v1/workspaces/{workspace_id}/growth/{path}"


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def set_state(app: FastAPI, delivery_id: str, state: DeliveryState) -> None:
    async with resources_of(app).session_factory() as session:
        await session.execute(
            update(Delivery).where(Delivery.id == uuid.UUID(delivery_id)).values(state=state)
        )
        await session.commit()


async def attach_image(app: FastAPI, workspace_id: str, post_id: str) -> None:
    async with resources_of(app).session_factory() as session:
        media = Media(
            workspace_id=uuid.UUID(workspace_id),
            sha256=uuid.uuid4().hex * 2,
            kind=MediaKind.IMAGE,
            mime_type="image/png",
            size_bytes=10,
            storage_key=uuid.uuid4().hex,
        )
        session.add(media)
        await session.flush()
        session.add(PostMedia(post_id=uuid.UUID(post_id), media_id=media.id, position=0))
        await session.commit()


async def test_followers_goal_progress_and_forecast(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    api, app = both_client, both_app
    owner = await set_up_owner(api)
    ws = owner.workspace_id
    alice = await add_sandbox_account(api, ws, "alice")
    history = History(app, ws)
    now = datetime.now(UTC)
    today = now.date()
    await history.followers(alice, now - 20 * DAY, 1000)  # in force when the goal starts
    await history.followers(alice, now - 5 * DAY, 1100)
    await history.followers(alice, now - timedelta(hours=1), 1200)

    body = {
        "metric": "followers",
        "target": 2000,
        "start": (today - timedelta(days=10)).isoformat(),
        "deadline": (today + timedelta(days=20)).isoformat(),
        "account_id": alice,
    }
    goal = await ok(await api.post(growth(ws, "goals"), json=body), 201)
    starts_at = datetime.fromisoformat(goal["starts_at"])
    deadline_at = datetime.fromisoformat(goal["deadline_at"])
    assert goal["baseline"] == 1000
    assert goal["current"] == 1200
    assert goal["progress"] == pytest.approx(0.2)
    # 200 followers in the days since the start, carried on to the deadline.
    pace = 200 / ((datetime.now(UTC) - starts_at) / DAY)
    expected = 1200 + pace * ((deadline_at - datetime.now(UTC)) / DAY)
    assert goal["forecast"] == pytest.approx(expected, rel=0.01)
    assert goal["status"] == "at_risk"  # about 1590 by the deadline, not 2000

    await ok(await api.post(growth(ws, "goals"), json={**body, "target": 1500}), 201)
    await ok(await api.post(growth(ws, "goals"), json={**body, "target": 1150}), 201)
    goals = (await ok(await api.get(growth(ws, "goals"))))["items"]
    assert {g["target"]: g["status"] for g in goals} == {
        2000: "at_risk",
        1500: "on_track",
        1150: "reached",
    }


async def test_engagement_rate_and_posts_per_week_goals_recompute_on_cancel_and_fail(
    app: FastAPI, client: ApiClient
) -> None:
    api = client
    owner = await set_up_owner(api)
    ws = owner.workspace_id
    alice = await add_sandbox_account(api, ws, "alice")
    history = History(app, ws)
    now = datetime.now(UTC)
    delivered = []
    for days_ago, impressions, likes in ((3, 100, 10), (2, 300, 20), (1, None, 5)):
        post = await history.post()
        delivery = await history.delivery(post, alice, now - days_ago * DAY)
        await history.snapshot(delivery, now - days_ago * DAY, impressions=impressions, likes=likes)
        delivered.append(delivery)
    for state in (DeliveryState.FAILED, DeliveryState.CANCELLED):
        await history.delivery(await history.post(), alice, now - DAY, state=state)

    start = (now.date() - timedelta(days=13)).isoformat()
    deadline = (now.date() + timedelta(days=14)).isoformat()
    rate = await ok(
        await api.post(
            growth(ws, "goals"),
            json={
                "metric": "engagement_rate",
                "target": 0.05,
                "start": start,
                "deadline": deadline,
            },
        ),
        201,
    )
    assert rate["current"] == pytest.approx(30 / 400)  # the unmeasured-impressions post is left out
    assert rate["status"] == "on_track"
    pace = await ok(
        await api.post(
            growth(ws, "goals"),
            json={"metric": "posts_per_week", "target": 1.5, "start": start, "deadline": deadline},
        ),
        201,
    )
    weeks = (datetime.now(UTC) - datetime.fromisoformat(pace["starts_at"])) / timedelta(days=7)
    assert pace["current"] == pytest.approx(3 / weeks, rel=0.01)  # failed/cancelled never count
    assert pace["status"] == "on_track"

    # The best-rated delivery is cancelled after all, another fails: both stop counting.
    await set_state(app, delivered[0], DeliveryState.CANCELLED)
    await set_state(app, delivered[2], DeliveryState.FAILED)
    goals = {g["metric"]: g for g in (await ok(await api.get(growth(ws, "goals"))))["items"]}
    assert goals["engagement_rate"]["current"] == pytest.approx(20 / 300)
    assert goals["posts_per_week"]["current"] == pytest.approx(1 / weeks, rel=0.01)
    assert goals["posts_per_week"]["status"] == "at_risk"


async def test_each_challenge_template(app: FastAPI, client: ApiClient) -> None:
    api = client
    owner = await set_up_owner(api)
    ws = owner.workspace_id
    alice = await add_sandbox_account(api, ws, "alice")
    telegram = await connect_account(app, ws, "telegram", "channel")
    mastodon = await connect_account(app, ws, "mastodon", "toots")
    history = History(app, ws)
    now = datetime.now(UTC)
    moment = now - timedelta(minutes=1)

    templates = (await ok(await api.get(growth(ws, "challenge-templates"))))["items"]
    assert [t["key"] for t in templates] == [
        "daily_30",
        "images_3_week",
        "networks_3_week",
        "best_rate_month",
    ]
    # Last year's best month: 5% (the challenge must beat it).
    old = await history.delivery(await history.post(), alice, now - 40 * DAY)
    await history.snapshot(old, now - 40 * DAY, impressions=100, likes=5)

    created = {}
    for key in ("daily_30", "images_3_week", "networks_3_week", "best_rate_month"):
        challenge = await ok(await api.post(growth(ws, "challenges"), json={"template": key}), 201)
        assert challenge["status"] == "active"
        created[key] = challenge
    assert created["best_rate_month"]["target"] == pytest.approx(0.05)
    assert created["daily_30"]["target"] == 30

    # One post with an image to three networks (the same post: one image post, three networks).
    post = await history.post()
    await attach_image(app, ws, post)
    measured = await history.delivery(post, alice, moment)
    await history.snapshot(measured, moment, impressions=100, likes=10)
    await history.delivery(post, telegram, moment)
    await history.delivery(post, mastodon, moment)
    await history.delivery(await history.post(), alice, moment)  # no image
    await history.delivery(await history.post(), alice, moment, state=DeliveryState.FAILED)

    items = {c["template"]: c for c in (await ok(await api.get(growth(ws, "challenges"))))["items"]}
    assert items["daily_30"]["current"] == 1
    assert items["images_3_week"]["current"] == 1
    assert items["networks_3_week"]["current"] == 3
    assert items["networks_3_week"]["status"] == "completed"
    assert items["networks_3_week"]["completed_at"] is not None
    # 10% this month beats 5%; a metric challenge is judged when its month ends.
    assert items["best_rate_month"]["current"] == pytest.approx(0.1)
    assert items["best_rate_month"]["progress"] == 1.0
    assert items["best_rate_month"]["status"] == "active"


async def test_custom_rule_counts_only_matching_published_deliveries(
    app: FastAPI, client: ApiClient
) -> None:
    api = client
    owner = await set_up_owner(api)
    ws = owner.workspace_id
    alice = await add_sandbox_account(api, ws, "alice")
    telegram = await connect_account(app, ws, "telegram", "channel")
    history = History(app, ws)
    now = datetime.now(UTC)
    rule = {
        "type": "count",
        "target": 2,
        "distinct": "post",
        "filters": {"networks": ["sandbox"], "label": "launch"},
    }
    challenge = await ok(
        await api.post(
            growth(ws, "challenges"),
            json={
                "rule": rule,
                "title": "Two launch posts",
                "starts_on": (now.date() - timedelta(days=2)).isoformat(),
            },
        ),
        201,
    )
    assert challenge["status"] == "active"
    assert challenge["current"] == 0

    first = await history.post(labels=["Launch"])
    await history.delivery(first, alice, now - DAY)
    await history.delivery(first, telegram, now - DAY)  # other network
    await history.delivery(await history.post(labels=["other"]), alice, now - DAY)
    failed = await history.post(labels=["launch"])
    await history.delivery(failed, alice, now - DAY, state=DeliveryState.FAILED)
    second = await history.post(labels=["launch"])
    second_at = now - timedelta(hours=1)
    second_delivery = await history.delivery(second, alice, second_at)

    items = (await ok(await api.get(growth(ws, "challenges"))))["items"]
    assert items[0]["current"] == 2
    assert items[0]["status"] == "completed"
    assert datetime.fromisoformat(items[0]["completed_at"]) == second_at
    badges = {b["key"]: b for b in (await ok(await api.get(growth(ws, "badges"))))["items"]}
    assert badges["challenge_completed"]["earned"]
    assert badges["first_post"]["earned"]
    assert not badges["posts_100"]["earned"]

    await set_state(app, second_delivery, DeliveryState.CANCELLED)
    items = (await ok(await api.get(growth(ws, "challenges"))))["items"]
    assert items[0]["current"] == 1
    assert items[0]["status"] == "active"


MALFORMED_CHALLENGES: list[tuple[dict[str, Any], str]] = [
    ({"rule": {"type": "count", "target": 0}}, "rule.count.target"),
    ({"rule": {"type": "sum", "target": 3}}, "rule"),
    ({"rule": {"target": 3}}, "rule"),
    (
        {"rule": {"type": "count", "target": 3, "filters": {"networks": ["myspace"]}}},
        "rule.count.filters.networks.0",
    ),
    ({"rule": {"type": "count", "target": 3, "colour": "red"}}, "rule.count.colour"),
    ({"rule": {"type": "metric", "metric": "engagement_rate"}}, "rule.metric.threshold"),
    ({"rule": {"type": "metric", "metric": "vibes", "threshold": 1}}, "rule.metric.metric"),
    ({"template": "daily_30", "rule": {"type": "count", "target": 3}}, "rule"),
    ({}, "template"),
    ({"template": "post_forever"}, "template"),
    (
        {
            "rule": {"type": "count", "target": 1},
            "starts_on": "2026-12-10",
            "ends_on": "2026-12-01",
        },
        "ends_on",
    ),
    ({"template": "daily_30", "timezone": "Mars/Olympus"}, "timezone"),
]


async def test_malformed_challenges_are_rejected_naming_the_field(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    for body, field in MALFORMED_CHALLENGES:
        response = await client.post(growth(owner.workspace_id, "challenges"), json=body)
        assert response.status_code == 422, response.text
        assert field in [f["field"] for f in response.json()["error"]["fields"]], body


MALFORMED_GOALS: list[tuple[dict[str, Any], str]] = [
    ({"metric": "engagement_rate", "target": 5}, "target"),
    ({"target": -1}, "target"),
    ({"deadline": "2020-01-01"}, "deadline"),
    ({"metric": "likes"}, "metric"),
    ({"account_id": str(uuid.uuid4())}, "account_id"),
]


async def test_malformed_goals_are_rejected_naming_the_field(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    for changes, field in MALFORMED_GOALS:
        body = {"metric": "followers", "target": 100, "deadline": "2099-01-01", **changes}
        response = await client.post(growth(owner.workspace_id, "goals"), json=body)
        assert response.status_code == 422, response.text
        assert field in [f["field"] for f in response.json()["error"]["fields"]], changes


async def test_streaks_count_local_days_across_dst_with_freeze_days(
    app: FastAPI, client: ApiClient
) -> None:
    api = client
    owner = await set_up_owner(api)
    ws = owner.workspace_id
    alice = await add_sandbox_account(api, ws, "alice")
    history = History(app, ws)
    # New York moves to daylight time on 8 March 2026.
    for moment in (
        datetime(2026, 3, 7, 17, 0, tzinfo=UTC),  # 7 Mar 12:00 EST
        datetime(2026, 3, 9, 4, 30, tzinfo=UTC),  # 9 Mar 00:30 EDT (a fixed -5h would say the 8th)
        datetime(2026, 3, 10, 1, 0, tzinfo=UTC),  # 9 Mar 21:00 EDT; 10 Mar in UTC
    ):
        await history.delivery(await history.post(), alice, moment)

    async def streaks(timezone: str) -> Any:
        return await ok(await api.get(growth(ws, "streaks"), params={"timezone": timezone}))

    assert (await streaks("America/New_York"))["daily_longest"] == 1  # 7th, (8th missing), 9th
    assert (await streaks("UTC"))["daily_longest"] == 2  # 9th and 10th
    await ok(await api.put(growth(ws, "streaks/freezes/2026-03-08")), 204)
    new_york = await streaks("America/New_York")
    assert new_york["daily_longest"] == 2  # the frozen 8th neither breaks nor counts
    assert new_york["weekly_longest"] == 2  # the weeks of 2 and 9 March
    assert (await streaks("UTC"))["daily_longest"] == 3
    assert new_york["freeze_days"] == ["2026-03-08"]

    await ok(await api.put(growth(ws, "streaks/freezes/2026-03-20")), 204)
    refused = await api.put(growth(ws, "streaks/freezes/2026-03-21"))
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["field"] == "day"
    bad = await api.get(growth(ws, "streaks"), params={"timezone": "Nowhere/Land"})
    assert bad.status_code == 422


async def test_current_streak_and_calendar(app: FastAPI, client: ApiClient) -> None:
    api = client
    owner = await set_up_owner(api)
    ws = owner.workspace_id
    alice = await add_sandbox_account(api, ws, "alice")
    history = History(app, ws)
    today = datetime.now(UTC).date()
    for days_ago in (1, 2, 3, 5):
        noon = datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), UTC)
        await history.delivery(await history.post(), alice, noon + timedelta(hours=12))
    cancelled = await history.delivery(
        await history.post(), alice, datetime.now(UTC) - timedelta(days=4)
    )
    await set_state(app, cancelled, DeliveryState.CANCELLED)

    streaks = await ok(await api.get(growth(ws, "streaks"), params={"days": 7}))
    assert streaks["daily_current"] == 3  # today is still open; the 4th day back had none
    assert streaks["daily_longest"] == 3
    days = {date.fromisoformat(d["day"]): d["posts"] for d in streaks["days"]}
    assert len(days) == 7
    assert days[today - timedelta(days=4)] == 0
    assert days[today - timedelta(days=1)] == 1
