"""Analytics bench, query-latency part (called by bench/analytics.py).

1,000,000 post metric snapshots (20,000 published deliveries over a year on 20 accounts, 50
snapshots each, plus follower counts every 6 hours), then the dashboard's queries timed
in-process and uncached (what a request pays after new numbers cleared the cache), on SQLite
and on PostgreSQL:
- overview of the last 30 days next to the 30 before (totals + follower growth);
- the best-time heatmap from 180 days of history (history query + smoothing in Python).
Target: overview p99 <= 100 ms.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import REPO_ROOT, percentile, row, scratch_dir

QUERY_ACCOUNTS = 20
QUERY_DELIVERIES = 20_000
SNAPSHOTS_PER_DELIVERY = 50
QUERY_DAYS = 365
OVERVIEW_RUNS = 200
HEATMAP_RUNS = 30
INSERT_CHUNK = 10_000
OVERVIEW_TARGET_MS = 100.0


async def _seed_snapshots(url: str, now: datetime) -> uuid.UUID:
    """The workspace with its year of history; returns the workspace id."""
    from sqlalchemy import Table, insert

    from postwizard.accounts.models import SocialAccount
    from postwizard.analytics.models import AccountStatsSnapshot, PostMetricSnapshot
    from postwizard.auth import service as auth_service
    from postwizard.db.engine import create_engine, create_session_factory
    from postwizard.ids import uuid7
    from postwizard.platforms.networks import Network
    from postwizard.posts.models import Post, PostStatus
    from postwizard.publishing.models import Delivery, DeliveryState
    from postwizard.workspaces import service as workspaces_service

    engine = create_engine(url)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        user = await auth_service.create_user(
            session, email="bench@example.com", password="bench-password-long", name="Bench"
        )
        workspace, _ = await workspaces_service.create_workspace(session, user, "Bench")
        accounts = [
            SocialAccount(
                id=uuid7(),
                workspace_id=workspace.id,
                network=Network.SANDBOX,
                display_name=f"Account {i}",
                handle=f"account{i}",
            )
            for i in range(QUERY_ACCOUNTS)
        ]
        session.add_all(accounts)
        await session.commit()
        workspace_id = workspace.id

    async def insert_rows(table: Table, rows: list[dict[str, object]]) -> None:
        if rows:
            async with engine.begin() as connection:
                await connection.execute(insert(table), rows)
            rows.clear()

    post_table, delivery_table = Post.__table__, Delivery.__table__
    snapshot_table, stats_table = PostMetricSnapshot.__table__, AccountStatsSnapshot.__table__
    assert isinstance(post_table, Table)
    assert isinstance(delivery_table, Table)
    assert isinstance(snapshot_table, Table)
    assert isinstance(stats_table, Table)
    start = now - timedelta(days=QUERY_DAYS)
    step = timedelta(days=QUERY_DAYS) / QUERY_DELIVERIES
    posts: list[dict[str, object]] = []
    deliveries: list[dict[str, object]] = []
    snapshots: list[dict[str, object]] = []
    for number in range(QUERY_DELIVERIES):
        published_at = start + step * number
        account = accounts[number % QUERY_ACCOUNTS]
        post_id, delivery_id = uuid7(), uuid7()
        text = f"Post {number} #bench"
        posts.append(
            {
                "id": post_id,
                "workspace_id": workspace_id,
                "status": PostStatus.PUBLISHED,
                "text": text,
                "labels": ["bench"],
                "created_at": published_at,
                "updated_at": published_at,
            }
        )
        deliveries.append(
            {
                "id": delivery_id,
                "workspace_id": workspace_id,
                "post_id": post_id,
                "account_id": account.id,
                "state": DeliveryState.PUBLISHED,
                "due_at": published_at,
                "next_attempt_at": published_at,
                "marker": delivery_id.hex,
                "text": text,
                "remote_id": delivery_id.hex,
                "published_at": published_at,
                "created_at": published_at,
                "updated_at": published_at,
            }
        )
        for k in range(SNAPSHOTS_PER_DELIVERY):
            growth = k + 1
            snapshots.append(
                {
                    "id": uuid7(),
                    "workspace_id": workspace_id,
                    "delivery_id": delivery_id,
                    "account_id": account.id,
                    "collected_at": published_at + timedelta(minutes=2) * (k * k + 1),
                    "impressions": 40 * growth + number % 97,
                    "likes": growth + number % 13,
                    "reposts": growth // 4,
                    "replies": growth // 6,
                    "extra": {},
                }
            )
        if len(snapshots) >= INSERT_CHUNK:  # parents first, for the foreign keys
            await insert_rows(post_table, posts)
            await insert_rows(delivery_table, deliveries)
            await insert_rows(snapshot_table, snapshots)
    await insert_rows(post_table, posts)
    await insert_rows(delivery_table, deliveries)
    await insert_rows(snapshot_table, snapshots)

    stats: list[dict[str, object]] = []
    for account_number, account in enumerate(accounts):
        for hour in range(0, QUERY_DAYS * 24, 6):
            stats.append(
                {
                    "id": uuid7(),
                    "workspace_id": workspace_id,
                    "account_id": account.id,
                    "collected_at": start + timedelta(hours=hour),
                    "followers": 1000 * (account_number + 1) + hour // 10,
                }
            )
    await insert_rows(stats_table, stats)
    await engine.dispose()
    return workspace_id


async def _timed(runs: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    await call()  # warm: connection pool, statement caches
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def _measure(url: str, label: str) -> list[dict[str, object]]:
    from postwizard.analytics import service
    from postwizard.db.engine import create_engine, create_session_factory
    from postwizard.db.migrate import upgrade_to_head_async

    await upgrade_to_head_async(url)
    now = datetime.now(UTC)
    seeding = time.perf_counter()
    workspace_id = await _seed_snapshots(url, now)
    seeded_s = time.perf_counter() - seeding

    engine = create_engine(url)
    sessions = create_session_factory(engine)
    period = service.resolve_period("30d", None, None, "Europe/Berlin", now)

    async def overview() -> object:
        async with sessions() as session:
            return await service.overview(session, workspace_id, period)

    async def heatmap() -> object:
        async with sessions() as session:
            return await service.best_time_view(
                session, workspace_id, "Europe/Berlin", service.BEST_TIME_DAYS, now
            )

    overview_ms = await _timed(OVERVIEW_RUNS, overview)
    heatmap_ms = await _timed(HEATMAP_RUNS, heatmap)
    await engine.dispose()
    p99 = percentile(overview_ms, 0.99)
    verdict = "met" if p99 <= OVERVIEW_TARGET_MS else "NOT met"
    return [
        row(
            f"overview p50, {label}",
            round(percentile(overview_ms, 0.5), 2),
            "ms",
            f"30 days (~{QUERY_DELIVERIES * 30 // QUERY_DAYS:,} deliveries) and the 30 before, "
            f"over {QUERY_DELIVERIES * SNAPSHOTS_PER_DELIVERY:,} snapshots; {OVERVIEW_RUNS} runs, "
            f"uncached (data seeded in {seeded_s:.0f} s)",
        ),
        row(
            f"overview p99, {label}",
            round(p99, 2),
            "ms",
            f"target ≤ {OVERVIEW_TARGET_MS:.0f} ms: target {verdict}",
        ),
        row(
            f"heatmap p50, {label}",
            round(percentile(heatmap_ms, 0.5), 2),
            "ms",
            f"180 days (~{QUERY_DELIVERIES * 180 // QUERY_DAYS:,} posts); {HEATMAP_RUNS} runs, uncached",
        ),
        row(f"heatmap p99, {label}", round(percentile(heatmap_ms, 0.99), 2), "ms", ""),
    ]


def query_latency_rows() -> list[dict[str, object]]:
    """Overview and heatmap latency over 1,000,000 snapshots, SQLite then PostgreSQL."""
    rows: list[dict[str, object]] = []
    with scratch_dir("pw-bench-analytics-queries-sqlite-") as work_dir:
        url = f"sqlite+aiosqlite:///{(Path(work_dir) / 'postwizard.db').resolve()}"
        rows += asyncio.run(_measure(url, "SQLite"))

    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests.support.services import ServiceUnavailable, start_postgres

    try:
        server = start_postgres()
    except ServiceUnavailable as error:
        rows.append(row("overview, PostgreSQL", "skipped", "", str(error)))
        return rows
    with server:
        server.create_database("bench_analytics_queries")
        rows += asyncio.run(_measure(server.url("bench_analytics_queries"), "PostgreSQL"))
    return rows
