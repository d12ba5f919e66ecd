"""Analytics aggregates on SQLite and PostgreSQL, checked against numbers worked out by hand
from synthetic snapshots; CSV export; bad input; the cache and its invalidation."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI

from postwizard.api.resources import resources_of
from postwizard.app import create_app
from postwizard.publishing.models import DeliveryState
from postwizard.realtime.redis_bus import RedisBus
from tests.analytics_history import History
from tests.api_client import (
    DEFAULT_PASSWORD,
    ApiClient,
    add_sandbox_account,
    connect_account,
    create_person,
    create_workspace,
    set_up_owner,
    sign_in,
)

# The period under test: 10-16 March (UTC days); the previous one is 3-9 March.
PERIOD = {"start": "2026-03-10", "end": "2026-03-16", "timezone": "UTC"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Shop:
    workspace_id: str
    base: str
    alice: str
    bob: str
    telegram: str
    p1: str
    p2: str
    p3: str
    d1: str
    d2: str
    d3: str


async def build_shop(app: FastAPI, api: ApiClient) -> Shop:
    """Worked numbers (latest snapshot of each delivery; engagements = likes + reposts +
    replies + quotes + bookmarks + clicks):

    this period   d1 P1@alice 10 Mar 09:00  imp 500 eng 25+5+2+1+0+3 = 36  (#bread, launch, spring)
                  d2 P1@bob   10 Mar 09:00  imp -   eng 10+2+1       = 13  (#bread, launch, spring)
                  d3 P2@alice 14 Mar 18:00  imp 200 eng 8+0+2        = 10  (#bread #cake, launch, recipe)
                  d4 P3@telegram 15 Mar     no snapshots (the network gives none)
                  failed delivery, another workspace's delivery: not counted
    previous      d7 P4@alice  5 Mar 12:00  imp 100 eng 3+0+1        = 4
    """
    owner = await set_up_owner(api)
    ws = owner.workspace_id
    alice = await add_sandbox_account(api, ws, "alice")
    bob = await add_sandbox_account(api, ws, "bob")
    telegram = await connect_account(app, ws, "telegram", "bakery_channel")
    history = History(app, ws)

    p1 = await history.post("Fresh #Bread today", labels=["launch"], campaign="spring")
    d1 = await history.delivery(p1, alice, at("2026-03-10T09:00"), text="Fresh #Bread today")
    await history.snapshot(
        d1, at("2026-03-10T10:00"), impressions=100, likes=5, reposts=1, replies=0
    )
    await history.snapshot(
        d1,
        at("2026-03-10T12:00"),
        impressions=400,
        likes=20,
        reposts=4,
        replies=2,
        quotes=1,
        clicks=3,
    )
    # After the period's end: still the delivery's current numbers, which are what count.
    await history.snapshot(
        d1,
        at("2026-03-20T12:00"),
        impressions=500,
        likes=25,
        reposts=5,
        replies=2,
        quotes=1,
        clicks=3,
    )
    d2 = await history.delivery(p1, bob, at("2026-03-10T09:00"), text="Fresh #Bread today")
    await history.snapshot(d2, at("2026-03-10T11:00"), likes=4, reposts=0, replies=0)
    await history.snapshot(d2, at("2026-03-11T11:00"), likes=10, reposts=2, replies=1)

    p2 = await history.post("Try #bread and #Cake", labels=["launch", "recipe"])
    d3 = await history.delivery(p2, alice, at("2026-03-14T18:00"), text="Try #bread and #Cake")
    await history.snapshot(
        d3, at("2026-03-14T20:00"), impressions=200, likes=8, reposts=0, replies=2
    )

    p3 = await history.post("Channel news")
    await history.delivery(p3, telegram, at("2026-03-15T08:00"), text="Channel news")

    failed = await history.post("Never went out")
    await history.delivery(failed, alice, at("2026-03-12T08:00"), state=DeliveryState.FAILED)

    other_ws = await create_workspace(api, "Other shop")
    other_account = await connect_account(app, other_ws, "sandbox", "elsewhere")
    other_post = await history.post("Elsewhere #bread", workspace_id=other_ws)
    elsewhere = await history.delivery(
        other_post, other_account, at("2026-03-11T09:00"), workspace_id=other_ws
    )
    await history.snapshot(elsewhere, at("2026-03-11T10:00"), impressions=9999, likes=999)

    p4 = await history.post("Last week")
    d7 = await history.delivery(p4, alice, at("2026-03-05T12:00"), text="Last week")
    await history.snapshot(
        d7, at("2026-03-05T13:00"), impressions=100, likes=3, reposts=0, replies=1
    )

    # Followers: alice 1000 before the period, 1100 in it, 1300 after it; bob first seen in it.
    await history.followers(alice, at("2026-03-01T00:00"), 1000)
    await history.followers(alice, at("2026-03-12T00:00"), 1100)
    await history.followers(alice, at("2026-03-18T00:00"), 1300)
    await history.followers(bob, at("2026-03-11T00:00"), 50)
    await history.followers(bob, at("2026-03-16T12:00"), 80)
    return Shop(
        ws, f"/api/v1/workspaces/{ws}/analytics", alice, bob, telegram, p1, p2, p3, d1, d2, d3
    )


async def get_json(api: ApiClient, url: str, **params: Any) -> Any:
    response = await api.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def metrics_by_name(overview: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in overview["metrics"]}


async def test_overview_matches_hand_computed_totals_and_previous_period(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    shop = await build_shop(both_app, both_client)
    overview = await get_json(both_client, f"{shop.base}/overview", **PERIOD)

    assert overview["period"]["start"].startswith("2026-03-10T00:00:00")
    assert overview["period"]["previous_start"].startswith("2026-03-03T00:00:00")
    metrics = metrics_by_name(overview)
    assert metrics["posts"] | {} == {
        "name": "posts", "current": 3, "previous": 1, "change": 2, "change_percent": 200.0,
    }  # fmt: skip
    assert (metrics["deliveries"]["current"], metrics["deliveries"]["previous"]) == (4, 1)
    assert (metrics["impressions"]["current"], metrics["impressions"]["previous"]) == (700, 100)
    assert metrics["engagements"]["current"] == 36 + 13 + 10
    assert metrics["engagements"]["previous"] == 4
    assert metrics["engagements"]["change_percent"] == pytest.approx((59 - 4) / 4 * 100)
    # bob's 13 engagements have no impressions behind them: not in the rate.
    assert metrics["engagement_rate"]["current"] == pytest.approx((36 + 10) / 700)
    assert metrics["engagement_rate"]["previous"] == pytest.approx(4 / 100)
    # alice 1000 -> 1100, bob first seen at 50 -> 80; before: alice 1000 -> 1000, bob unknown.
    assert metrics["follower_growth"]["current"] == 130
    assert metrics["follower_growth"]["previous"] == 0
    assert overview["followers"] == 1100 + 80
    assert overview["measured_deliveries"] == 3


async def test_accounts_networks_and_top_posts(both_app: FastAPI, both_client: ApiClient) -> None:
    shop = await build_shop(both_app, both_client)

    accounts = await get_json(both_client, f"{shop.base}/accounts", **PERIOD)
    rows = {r["account_id"]: r for r in accounts["items"]}
    assert {k: rows[shop.alice][k] for k in ("posts", "impressions", "engagements")} == {
        "posts": 2, "impressions": 700, "engagements": 46,
    }  # fmt: skip
    assert rows[shop.alice]["engagement_rate"] == pytest.approx(46 / 700)
    assert (rows[shop.alice]["followers"], rows[shop.alice]["follower_growth"]) == (1100, 100)
    assert (rows[shop.bob]["engagements"], rows[shop.bob]["engagement_rate"]) == (13, None)
    assert (rows[shop.bob]["followers"], rows[shop.bob]["follower_growth"]) == (80, 30)
    assert rows[shop.telegram]["provides_metrics"] is False
    assert rows[shop.telegram]["posts"] == 1

    networks = await get_json(both_client, f"{shop.base}/networks", **PERIOD)
    by_network = {r["network"]: r for r in networks["items"]}
    assert by_network["sandbox"] | {} == {
        "network": "sandbox", "label": "Sandbox", "provides_metrics": True, "accounts": 2,
        "posts": 2, "impressions": 700, "engagements": 59,
        "engagement_rate": pytest.approx(46 / 700), "engagements_per_post": pytest.approx(59 / 3),
    }  # fmt: skip
    assert by_network["telegram"]["provides_metrics"] is False
    assert (by_network["telegram"]["posts"], by_network["telegram"]["engagements"]) == (1, 0)
    assert [r["network"] for r in networks["items"]] == ["sandbox", "telegram"]

    top = await get_json(both_client, f"{shop.base}/top-posts", **PERIOD)
    assert [(r["delivery_id"], r["engagements"]) for r in top["items"]] == [
        (shop.d1, 36), (shop.d2, 13), (shop.d3, 10),
    ]  # fmt: skip
    assert top["items"][0]["engagement_rate"] == pytest.approx(36 / 500)
    by_impressions = await get_json(
        both_client, f"{shop.base}/top-posts", by="impressions", limit=1, **PERIOD
    )
    assert [r["delivery_id"] for r in by_impressions["items"]] == [shop.d1]


async def test_labels_campaigns_hashtags_and_days(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    shop = await build_shop(both_app, both_client)

    labels = await get_json(both_client, f"{shop.base}/groups/label", **PERIOD)
    assert [(r["key"], r["posts"], r["impressions"], r["engagements"]) for r in labels["items"]] == [
        ("launch", 2, 700, 59), ("recipe", 1, 200, 10),
    ]  # fmt: skip
    campaigns = await get_json(both_client, f"{shop.base}/groups/campaign", **PERIOD)
    assert [(r["key"], r["engagements"]) for r in campaigns["items"]] == [("spring", 49)]
    assert campaigns["items"][0]["engagement_rate"] == pytest.approx(36 / 500)
    hashtags = await get_json(both_client, f"{shop.base}/groups/hashtag", **PERIOD)
    assert [(r["key"], r["posts"], r["engagements"]) for r in hashtags["items"]] == [
        ("bread", 2, 59), ("cake", 1, 10),
    ]  # fmt: skip

    daily = await get_json(both_client, f"{shop.base}/daily", **PERIOD)
    days = {d["day"]: (d["posts"], d["impressions"], d["engagements"]) for d in daily["items"]}
    assert len(days) == 7
    assert days["2026-03-10"] == (1, 500, 49)
    assert days["2026-03-14"] == (1, 200, 10)
    assert days["2026-03-15"] == (1, 0, 0)
    assert days["2026-03-11"] == (0, 0, 0)
    # In Tokyo (UTC+9) the 18:00 UTC post of the 14th is on the 15th.
    tokyo = await get_json(
        both_client,
        f"{shop.base}/daily",
        start="2026-03-10",
        end="2026-03-16",
        timezone="Asia/Tokyo",
    )
    tokyo_days = {d["day"]: d["engagements"] for d in tokyo["items"]}
    assert (tokyo_days["2026-03-14"], tokyo_days["2026-03-15"]) == (0, 10)


async def test_post_curve_compared_with_the_accounts_median_post(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    shop = await build_shop(both_app, both_client)
    post = await get_json(both_client, f"{shop.base}/posts/{shop.p1}")
    deliveries = {d["delivery_id"]: d for d in post["deliveries"]}
    d1 = deliveries[shop.d1]
    assert d1["current"]["impressions"] == 500
    assert d1["current"]["engagements"] == 36
    assert [(p["hours_since_published"], p["engagements"]) for p in d1["series"]] == [
        (1.0, 6), (3.0, 30), (243.0, 36),
    ]  # fmt: skip
    checkpoints = {c["hours"]: c for c in d1["checkpoints"]}
    # alice's only earlier post (5 March) had 4 engagements an hour after publishing.
    assert checkpoints[1] == {
        "hours": 1,
        "this_post": 6,
        "account_median": 4.0,
        "posts_compared": 1,
    }
    assert checkpoints[3]["this_post"] == 30
    assert checkpoints[168]["this_post"] == 30  # the 20 March snapshot is after 7 days
    assert deliveries[shop.d2]["current"]["impressions"] is None
    assert deliveries[shop.d2]["checkpoints"][0]["posts_compared"] == 0

    other = await both_client.get(f"{shop.base}/posts/{shop.p3}")
    assert other.status_code == 200
    telegram = other.json()["deliveries"][0]
    assert telegram["provides_metrics"] is False
    assert telegram["series"] == []


async def test_every_table_exports_as_csv(app: FastAPI, client: ApiClient) -> None:
    shop = await build_shop(app, client)
    expected_rows = {
        "overview": 6,
        "daily": 7,
        "accounts": 3,
        "networks": 2,
        "top-posts": 3,
        "groups/label": 2,
        "groups/campaign": 1,
        "groups/hashtag": 2,
    }
    for table, count in expected_rows.items():
        response = await client.get(f"{shop.base}/{table}", params={**PERIOD, "format": "csv"})
        assert response.status_code == 200, (table, response.text)
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == count, table
    top = await client.get(f"{shop.base}/top-posts", params={**PERIOD, "format": "csv"})
    first = next(csv.DictReader(io.StringIO(top.text)))
    assert (first["delivery_id"], first["engagements"], first["impressions"]) == (
        shop.d1,
        "36",
        "500",
    )
    bob_row = next(r for r in csv.DictReader(io.StringIO(top.text)) if r["delivery_id"] == shop.d2)
    assert bob_row["impressions"] == ""  # unknown, not zero

    series = await client.get(f"{shop.base}/posts/{shop.p1}", params={"format": "csv"})
    points = list(csv.DictReader(io.StringIO(series.text)))
    assert len(points) == 3 + 2
    assert {"delivery_id", "network", "engagements"} <= set(points[0])
    heat = await client.get(f"{shop.base}/best-time", params={"format": "csv"})
    cells = list(csv.DictReader(io.StringIO(heat.text)))
    assert len(cells) == 7 * 24
    assert set(cells[0]) == {
        "weekday",
        "hour",
        "posts",
        "observed",
        "score",
    }


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("overview", {"period": "fortnight"}, "period"),
        ("overview", {"period": "0d"}, "period"),
        ("overview", {"period": "500d"}, "period"),
        ("overview", {"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ("overview", {"start": "2026-03-10"}, "end"),
        ("overview", {"start": "2026-03-10", "end": "2026-03-01"}, "end"),
        ("overview", {"start": "2026-13-10", "end": "2026-03-11"}, "start"),
        ("networks", {"period": "7d", "start": "2026-03-10", "end": "2026-03-11"}, "period"),
        ("top-posts", {"by": "vibes"}, "by"),
        ("best-time", {"timezone": "Europe/Atlantis"}, "timezone"),
        ("best-time", {"days": "3"}, "days"),
        ("daily", {"format": "xlsx"}, "format"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: ApiClient, path: str, params: dict[str, str], field: str
) -> None:
    owner = await set_up_owner(client)
    response = await client.get(
        f"/api/v1/workspaces/{owner.workspace_id}/analytics/{path}", params=params
    )
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


async def test_viewers_of_other_workspaces_see_nothing(
    app: FastAPI, client: ApiClient, new_client: Any
) -> None:
    shop = await build_shop(app, client)
    async with new_client() as stranger:
        await set_up_owner_elsewhere(app, stranger)
        response = await stranger.get(f"{shop.base}/overview", params=PERIOD)
    assert response.status_code == 404


async def set_up_owner_elsewhere(app: FastAPI, api: ApiClient) -> None:
    person = await create_person(app, "stranger@example.com", "Stranger's")
    await sign_in(api, person)


async def test_a_new_snapshot_changes_the_next_answer(app: FastAPI, client: ApiClient) -> None:
    """Aggregates are cached, and `metrics.updated` (what collection publishes after writing
    snapshots) makes the next request see the new numbers."""
    shop = await build_shop(app, client)
    history = History(app, shop.workspace_id)
    url = f"{shop.base}/overview"

    async def engagements() -> int:
        value: int = metrics_by_name(await get_json(client, url, **PERIOD))["engagements"][
            "current"
        ]
        return value

    assert await engagements() == 59
    await history.snapshot(
        shop.d3, at("2026-03-15T09:00"), impressions=300, likes=18, reposts=0, replies=2
    )
    assert await engagements() == 59  # cached: nothing announced the new snapshot yet

    bus = resources_of(app).bus
    other_ws = await create_workspace(client, "Unrelated")
    await bus.publish(uuid.UUID(other_ws), "metrics.updated", {"delivery_ids": []})
    assert await engagements() == 59  # another workspace's news leaves this cache alone

    await bus.publish(shop_uuid(shop), "metrics.updated", {"delivery_ids": [shop.d3]})
    assert await engagements() == 69


def shop_uuid(shop: Shop) -> uuid.UUID:
    return uuid.UUID(shop.workspace_id)


@pytest.fixture
def redis_settings(make_settings: Any, sqlite_url: str, redis_server: Any) -> Any:
    redis_server.flush_all()
    return make_settings(database_url=sqlite_url, redis_url=redis_server.url)


async def test_redis_cache_is_shared_and_invalidated_by_events_from_any_process(
    redis_settings: Any,
) -> None:
    """Two web processes (two apps) share the Redis cache; an event published by a third party
    (a worker) on the Redis bus clears it for both."""
    first, second = create_app(redis_settings), create_app(redis_settings)
    async with (
        first.router.lifespan_context(first),
        second.router.lifespan_context(second),
        ApiClient.for_app(first) as api_one,
        ApiClient.for_app(second) as api_two,
    ):
        shop = await build_shop(first, api_one)
        login = await api_two.post(
            "/api/v1/auth/login",
            json={"email": "owner@example.com", "password": DEFAULT_PASSWORD},
        )
        assert login.status_code == 200
        url = f"{shop.base}/overview"

        async def engagements(api: ApiClient) -> int:
            body = await get_json(api, url, **PERIOD)
            value: int = metrics_by_name(body)["engagements"]["current"]
            return value

        assert await engagements(api_one) == 59
        history = History(first, shop.workspace_id)
        await history.snapshot(shop.d3, at("2026-03-15T09:00"), likes=18, reposts=0, replies=2)
        # The second process answers from the first one's cached entry.
        assert await engagements(api_two) == 59

        worker_bus = RedisBus(redis_settings.redis_url)
        await worker_bus.start()
        try:
            await worker_bus.publish(shop_uuid(shop), "metrics.updated", {})
        finally:
            await worker_bus.stop()
        for _ in range(100):  # the event reaches each process over pub/sub
            if await engagements(api_two) == 69:
                break
            await asyncio.sleep(0.02)
        assert await engagements(api_two) == 69
        assert await engagements(api_one) == 69
