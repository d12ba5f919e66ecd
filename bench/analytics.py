"""Analytics benches (issue 8).

Query part (`query_latency_rows`, in `_analytics_queries.py`): overview and best-time heatmap
latency (p50/p99) over 1,000,000 snapshots on SQLite and PostgreSQL; target overview p99
≤ 100 ms.

Collection part (`ingestion_rows`, `fanout_rows`):
- **snapshot ingestion**: rows/s written by `Collector.collect_while_due`, the collector's own
  rounds (jobs claimed with leases, one batched read per account, latest snapshots for the
  batch in one query, change-only insert, jobs moved to their next step, one
  `metrics.updated` event per row; on PostgreSQL a round's write overlaps the next round's
  claim and reads) on SQLite and PostgreSQL, with the collector's default batch and
  concurrency, after the same start-up step (`freeze_startup_objects`) as `postwizard worker`. The network is an in-memory adapter whose numbers change every
  round and read pacing is off, so the figure is the collector and the database, not a
  network's latency or rate limits. The note gives the CPU time per row of the bench process
  (PostgreSQL: and of the server), steadier than rows/s on a shared machine. Target ≥ 20,000
  rows/s on PostgreSQL.
- **live fan-out**: 1,000 SSE clients on one `postwizard serve` (Redis bus); the bench process
  acts as a worker: it writes a changed snapshot through the same write path and publishes it
  on Redis; latency is from just before the write until each client has read the event
  (p50/p99 over several changes). Target p99 ≤ 250 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from common import (
    REPO_ROOT,
    BenchResult,
    create_owner_token,
    free_port,
    percentile,
    postwizard_env,
    postwizard_serve_command,
    row,
    running_server,
    scratch_dir,
)

sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "src"))

from _analytics_queries import query_latency_rows

INGEST_ACCOUNTS = 20
INGEST_POSTS_PER_ACCOUNT = 1_000  # 20,000 deliveries, one snapshot each per round
INGEST_ROUNDS = 2
FANOUT_CLIENTS = 1_000
FANOUT_CHANGES = 10
INGEST_TARGET_ROWS_S = 20_000
FANOUT_TARGET_P99_MS = 250


def met(ok: bool) -> str:
    return "target met" if ok else "target NOT met"


# --- ingestion ---------------------------------------------------------------------------------


class ChangingNetwork:
    """An in-memory network: every read answers new numbers (the round number), instantly."""

    network: Any
    provides_metrics = True

    def __init__(self) -> None:
        from postwizard.platforms.networks import Network

        self.network = Network.SANDBOX
        self.round = 0

    async def fetch_post_metrics(self, account: Any, remote_ids: Sequence[str]) -> list[Any]:
        from postwizard.platforms.protocol import PostMetrics

        value = self.round
        return [
            PostMetrics(remote_id=r, impressions=value * 10, likes=value, reposts=0, replies=0)
            for r in remote_ids
        ]

    async def fetch_account_stats(self, account: Any) -> Any:
        from postwizard.platforms.protocol import AccountStats

        return AccountStats(followers=self.round)


async def _seed(database_url: str, published_at: datetime) -> None:
    """One workspace, accounts, and one published delivery (with its post job) per post."""
    from sqlalchemy import insert, text

    import postwizard.db.models  # noqa: F401
    from postwizard.accounts.models import SocialAccount
    from postwizard.analytics.jobs import MetricJob, MetricJobKind, MetricJobState
    from postwizard.db.engine import create_engine, create_session_factory
    from postwizard.ids import uuid7
    from postwizard.platforms.networks import Network
    from postwizard.posts.models import Post, PostStatus
    from postwizard.publishing.models import Delivery, DeliveryState
    from postwizard.workspaces.models import Workspace

    engine = create_engine(database_url)
    async with create_session_factory(engine)() as session:
        workspace = Workspace(name="Bench")
        session.add(workspace)
        await session.flush()
        for a in range(INGEST_ACCOUNTS):
            account = SocialAccount(
                workspace_id=workspace.id,
                network=Network.SANDBOX,
                display_name=f"shop{a}",
                handle=f"shop{a}",
            )
            session.add(account)
            await session.flush()
            posts, deliveries, jobs = [], [], []
            for p in range(INGEST_POSTS_PER_ACCOUNT):
                post_id, delivery_id = uuid7(), uuid7()
                posts.append(
                    {
                        "id": post_id,
                        "workspace_id": workspace.id,
                        "status": PostStatus.PUBLISHED,
                        "text": f"post {p}",
                        "labels": [],
                        "updated_at": published_at,
                        "created_at": published_at,
                    }
                )
                deliveries.append(
                    {
                        "id": delivery_id,
                        "workspace_id": workspace.id,
                        "post_id": post_id,
                        "account_id": account.id,
                        "state": DeliveryState.PUBLISHED,
                        "due_at": published_at,
                        "next_attempt_at": published_at,
                        "attempt_count": 1,
                        "marker": uuid.uuid4().hex,
                        "text": f"post {p}",
                        "remote_id": f"{a}-{p}",
                        "published_at": published_at,
                        "updated_at": published_at,
                        "created_at": published_at,
                    }
                )
                jobs.append(
                    {
                        "id": uuid7(),
                        "created_at": published_at,
                        "workspace_id": workspace.id,
                        "kind": MetricJobKind.POST,
                        "account_id": account.id,
                        "delivery_id": delivery_id,
                        "post_id": post_id,
                        "remote_id": f"{a}-{p}",
                        "anchor_at": published_at,
                        "step": 0,
                        "state": MetricJobState.WAITING,
                        "due_at": published_at,
                        "failures": 0,
                    }
                )
            await session.execute(insert(Post), posts)
            await session.execute(insert(Delivery), deliveries)
            await session.execute(insert(MetricJob), jobs)
        await session.commit()
        if engine.dialect.name == "postgresql":
            # Planner statistics, as autovacuum keeps them for a table in use: without them a
            # freshly loaded table gets plans (row estimates of 1) that no real one has.
            await session.execute(text("ANALYZE"))
            await session.commit()
    await engine.dispose()


def server_cpu_seconds(postmaster_pid: int | None) -> float:
    """CPU time used so far by a PostgreSQL server's live processes (the postmaster and its
    children), from /proc; 0 when unknown. Approximate: a process that starts or ends between
    two readings (an autovacuum worker) counts only in part."""
    if postmaster_pid is None:
        return 0.0
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(entry.name) == postmaster_pid or int(fields[1]) == postmaster_pid:
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def _ingest(
    database_url: str, postmaster_pid: int | None = None
) -> tuple[int, float, float, float]:
    """(rows written, seconds, CPU seconds of this process, CPU seconds of the database
    server) over INGEST_ROUNDS rounds of every job."""
    from sqlalchemy import func, select, update

    from postwizard.analytics.collector import Collector, CollectorConfig
    from postwizard.analytics.jobs import MetricJob, MetricJobState
    from postwizard.analytics.models import PostMetricSnapshot
    from postwizard.db.engine import create_engine, create_session_factory
    from postwizard.platforms.networks import Network
    from postwizard.platforms.registry import PlatformRegistry
    from postwizard.realtime.bus import InProcessBus
    from postwizard.workers import freeze_startup_objects

    published_at = datetime.now(UTC) - timedelta(hours=1)
    await _seed(database_url, published_at)
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    network = ChangingNetwork()
    clock_now = [datetime.now(UTC)]
    collector = Collector(
        factory,
        PlatformRegistry({Network.SANDBOX: network}),  # type: ignore[dict-item]
        InProcessBus(),
        "bench-secret-key-that-is-long-enough-0123456789",
        config=CollectorConfig(read_pacing={}),
        clock=lambda: clock_now[0],
    )
    freeze_startup_objects()  # as `postwizard worker` does once started
    elapsed = own_cpu = server_cpu = 0.0
    for round_number in range(1, INGEST_ROUNDS + 1):
        network.round = round_number
        started = time.perf_counter()
        cpu, server = time.process_time(), server_cpu_seconds(postmaster_pid)
        await collector.collect_while_due()
        elapsed += time.perf_counter() - started
        own_cpu += time.process_time() - cpu
        server_cpu += server_cpu_seconds(postmaster_pid) - server
        # Due again for the next round (not timed).
        async with factory() as session:
            await session.execute(
                update(MetricJob).values(state=MetricJobState.WAITING, due_at=clock_now[0])
            )
            await session.commit()
        clock_now[0] += timedelta(seconds=1)
    async with factory() as session:
        rows = await session.scalar(select(func.count()).select_from(PostMetricSnapshot))
    await engine.dispose()
    return int(rows or 0), elapsed, own_cpu, server_cpu


def ingestion_rows() -> list[dict[str, Any]]:
    from postwizard.db.migrate import upgrade_to_head
    from tests.support.services import ServiceUnavailable, start_postgres

    rows: list[dict[str, Any]] = []
    with scratch_dir("pw-bench-analytics-sqlite-") as work_dir:
        url = f"sqlite+aiosqlite:///{work_dir / 'bench.db'}"
        upgrade_to_head(url)
        written, seconds, cpu, _ = asyncio.run(_ingest(url))
        rows.append(
            row(
                "ingestion, SQLite",
                written / seconds,
                "rows/s",
                f"{written:,} snapshots of {INGEST_ACCOUNTS * INGEST_POSTS_PER_ACCOUNT:,} "
                f"deliveries in {seconds:.2f} s; CPU {cpu / written * 1e6:.0f} µs/row",
            )
        )
    try:
        server = start_postgres()
    except ServiceUnavailable as error:
        rows.append(row("ingestion, PostgreSQL", "skipped", "", str(error)))
        return rows
    with server:
        server.create_database("bench_analytics")
        url = server.url("bench_analytics")
        upgrade_to_head(url)
        postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        written, seconds, cpu, server_cpu = asyncio.run(_ingest(url, postmaster))
        rate = written / seconds
        rows.append(
            row(
                "ingestion, PostgreSQL",
                rate,
                "rows/s",
                f"{written:,} snapshots in {seconds:.2f} s; CPU {cpu / written * 1e6:.0f} µs/row"
                f" here + ≈{server_cpu / written * 1e6:.0f} µs/row in PostgreSQL; "
                f"target ≥ {INGEST_TARGET_ROWS_S:,}: {met(rate >= INGEST_TARGET_ROWS_S)}",
            )
        )
    return rows


# --- fan-out -----------------------------------------------------------------------------------


async def _sse_client(
    host: str,
    port: int,
    path: str,
    token: str,
    ready: asyncio.Event,
    connected: list[int],
    received: dict[int, list[float]],
    everyone: defaultdict[int, asyncio.Event],
) -> None:
    """A minimal SSE reader on a raw socket (1,000 httpx streams would measure httpx)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    event = ""
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            text = line.decode().strip()
            if text.startswith("event: "):
                event = text[7:]
                if event == "ready":
                    connected.append(1)
                    if len(connected) == FANOUT_CLIENTS:
                        ready.set()
            elif text.startswith("data: ") and event == "metrics.updated":
                marker = int(text.split('"likes": ', 1)[1].split(",", 1)[0].split("}", 1)[0])
                received.setdefault(marker, []).append(time.perf_counter())
                if len(received[marker]) == FANOUT_CLIENTS:
                    everyone[marker].set()
    finally:
        writer.close()


async def _fanout(base_url: str, token: str, database_url: str, redis_url: str) -> list[float]:
    """Latencies (ms) from a write until each client read it, over FANOUT_CHANGES changes."""
    from postwizard.analytics.snapshot_writer import MeasuredPost, announce, write_post_snapshots
    from postwizard.db.engine import create_engine, create_session_factory
    from postwizard.platforms.protocol import PostMetrics
    from postwizard.realtime.redis_bus import RedisBus

    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        workspace = (await api.get("/api/v1/me")).json()["current_workspace_id"]
        account = (
            await api.post(
                f"/api/v1/workspaces/{workspace}/accounts/sandbox",
                json={"handle": "fanout", "display_name": "Fanout"},
            )
        ).json()["id"]
        post = (
            await api.post(
                f"/api/v1/workspaces/{workspace}/posts",
                json={"text": "Watched by a thousand tabs", "targets": [{"account_id": account}]},
            )
        ).json()["id"]
    host, port = base_url.removeprefix("http://").split(":")
    ready = asyncio.Event()
    connected: list[int] = []
    received: dict[int, list[float]] = {}
    everyone: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
    path = f"/api/v1/workspaces/{workspace}/events"
    clients = [
        asyncio.create_task(
            _sse_client(host, int(port), path, token, ready, connected, received, everyone)
        )
        for _ in range(FANOUT_CLIENTS)
    ]
    await asyncio.wait_for(ready.wait(), timeout=120)
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    bus = RedisBus(redis_url)
    await bus.start()
    delivery_id = uuid.uuid4()  # the snapshot's delivery, created below
    await _published_delivery(factory, workspace, post, account, delivery_id)
    measured = [
        MeasuredPost(uuid.UUID(workspace), uuid.UUID(account), delivery_id, uuid.UUID(post))
    ]
    latencies: list[float] = []
    for change in range(1, FANOUT_CHANGES + 1):
        started = time.perf_counter()
        async with factory() as session:
            answer = {delivery_id: PostMetrics(remote_id="x", likes=change, impressions=change)}
            written = await write_post_snapshots(session, measured, answer, datetime.now(UTC))
            await session.commit()
        await announce(bus, written)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone[change].wait(), timeout=10)
        latencies += [(t - started) * 1000 for t in received.get(change, [])]
        await asyncio.sleep(0.3)
    for client in clients:
        client.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    await bus.stop()
    await engine.dispose()
    return latencies


async def _published_delivery(
    factory: Any, workspace: str, post: str, account: str, delivery_id: uuid.UUID
) -> None:
    from postwizard.publishing.models import Delivery, DeliveryState

    now = datetime.now(UTC)
    async with factory() as session:
        session.add(
            Delivery(
                id=delivery_id,
                workspace_id=uuid.UUID(workspace),
                post_id=uuid.UUID(post),
                account_id=uuid.UUID(account),
                state=DeliveryState.PUBLISHED,
                due_at=now,
                next_attempt_at=now,
                marker=uuid.uuid4().hex,
                remote_id="x",
                published_at=now,
            )
        )
        await session.commit()


def fanout_rows() -> list[dict[str, Any]]:
    from tests.support.services import ServiceUnavailable, start_postgres, start_redis

    try:
        postgres = start_postgres()
        redis = start_redis()
    except ServiceUnavailable as error:
        return [row("fan-out", "skipped", "", str(error))]
    with postgres, redis, scratch_dir("pw-bench-analytics-fanout-") as work_dir:
        postgres.create_database("bench_fanout")
        database_url = postgres.url("bench_fanout")
        token = create_owner_token(work_dir, database_url)
        env = postwizard_env(work_dir, database_url)
        env["POSTWIZARD_REDIS_URL"] = redis.url
        port = free_port()
        with running_server(postwizard_serve_command(port), port, env, work_dir) as server:
            latencies = asyncio.run(_fanout(server.base_url, token, database_url, redis.url))
    expected = FANOUT_CLIENTS * FANOUT_CHANGES
    if not latencies:
        return [row("fan-out", "no events received", "", "")]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    note = f"{len(latencies):,} of {expected:,} receipts ({FANOUT_CLIENTS:,} SSE clients)"
    return [
        row("fan-out p50", p50, "ms", note),
        row(
            "fan-out p99",
            p99,
            "ms",
            f"target ≤ {FANOUT_TARGET_P99_MS} ms: {met(p99 <= FANOUT_TARGET_P99_MS)}",
        ),
    ]


def run() -> BenchResult:
    result = BenchResult("analytics")
    os.environ.setdefault("POSTWIZARD_LOG_LEVEL", "warning")
    result.rows += ingestion_rows()
    result.rows += fanout_rows()
    result.rows += query_latency_rows()  # the analytics helper's part: bench/_analytics_queries.py
    return result
