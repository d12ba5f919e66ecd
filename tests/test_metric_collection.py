"""Metric collection against the sandbox network over real HTTP: the decaying schedule,
batching per account, read pacing, change-only writes, downsampling, collectors sharing work
(and taking over a dead one's lease), lost access, "refresh now" and live events.

Every test drives the dispatcher and the collector step by step with one clock, which the
sandbox (served on a loopback socket) shares, so its engagement curves move with it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from postwizard.accounts.models import AccountStatus, SocialAccount
from postwizard.analytics import job_queue
from postwizard.analytics.collector import Collector, CollectorConfig, _Group
from postwizard.analytics.downsampling import thin_old_snapshots
from postwizard.analytics.jobs import MetricJob, MetricJobKind, MetricJobState
from postwizard.analytics.models import AccountStatsSnapshot, PostMetricSnapshot
from postwizard.analytics.schedule import DEFAULT_SCHEDULE, CollectionSchedule
from postwizard.api.resources import resources_of
from postwizard.ids import uuid7
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import AccountRef, AccountStats, Platform, PostMetrics
from postwizard.platforms.registry import PlatformRegistry
from postwizard.platforms.sandbox import SandboxPlatform
from postwizard.publishing.pacing import NetworkPacing, Rate
from postwizard.realtime.events import Event
from postwizard.sandbox.app import create_sandbox_app
from postwizard.sandbox.ratelimit import RateLimit, RateLimiter
from tests.api_client import ApiClient, Person, add_sandbox_account, schedule_post, set_up_owner
from tests.conftest import TEST_SECRET
from tests.server_process import POSTWIZARD, running_server
from tests.support.services import RedisServer
from tests.support.serving import serving
from tests.support.wrapped_platform import WrappedPlatform
from tests.test_dispatcher import Clock, make_dispatcher, run_round

MINUTE = timedelta(minutes=1)


class CountingSandbox(WrappedPlatform):
    """The sandbox adapter, recording every metric read it is asked for (what a test counts)."""

    def __init__(self, inner: SandboxPlatform, *, provides_metrics: bool = True) -> None:
        super().__init__(inner, provides_metrics=provides_metrics)
        self.post_reads: list[tuple[str, list[str]]] = []
        self.stats_reads: list[str] = []
        self.read_times: list[float] = []
        self.hold: asyncio.Event | None = None  # set: reads wait for it (a hung collector)
        self.reading = asyncio.Event()

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        self.post_reads.append((account.handle, list(remote_ids)))
        self.read_times.append(time.monotonic())
        self.reading.set()
        if self.hold is not None:
            await self.hold.wait()
        return await self.inner.fetch_post_metrics(account, remote_ids)

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        self.stats_reads.append(account.handle)
        return await self.inner.fetch_account_stats(account)

    async def aclose(self) -> None:
        await self.inner.aclose()  # this test's own adapter, not the app's


@pytest.fixture
def clock() -> Clock:
    return Clock((datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0))


@pytest.fixture
def sandbox_app(tmp_path: Path, clock: Clock) -> FastAPI:
    return create_sandbox_app(tmp_path / "sandbox.db", clock=clock)


@pytest.fixture
def sandbox_url(sandbox_app: FastAPI) -> Iterator[str]:
    with serving(sandbox_app) as url:
        yield url


@pytest.fixture
def sandbox(sandbox_url: str) -> CountingSandbox:
    return CountingSandbox(SandboxPlatform(sandbox_url))


@pytest.fixture
def extra_platforms(sandbox: CountingSandbox) -> dict[Network, Platform]:
    return {Network.SANDBOX: sandbox}


def make_collector(
    app: FastAPI,
    clock: Clock,
    platforms: PlatformRegistry | None = None,
    worker_id: str = "collector-a",
    **config: Any,
) -> Collector:
    held = resources_of(app)
    return Collector(
        held.session_factory,
        platforms or held.platforms,
        held.bus,
        held.secret_key,
        worker_id=worker_id,
        clock=clock,
        config=CollectorConfig(**config),
    )


async def publish(
    app: FastAPI, api: ApiClient, owner: Person, clock: Clock, accounts: Sequence[str]
) -> list[str]:
    """One post per entry of `accounts` (an account id), published at `clock.now`."""
    posts = [
        await schedule_post(
            api, owner.workspace_id, [account], clock.now.isoformat(), f"Fresh bread, batch {n}!"
        )
        for n, account in enumerate(accounts)
    ]
    await run_round(make_dispatcher(app, clock))
    return posts


async def all_jobs(app: FastAPI, kind: MetricJobKind = MetricJobKind.POST) -> list[MetricJob]:
    async with resources_of(app).session_factory() as session:
        statement = select(MetricJob).where(MetricJob.kind == kind).order_by(MetricJob.id)
        return list(await session.scalars(statement))


async def snapshots(app: FastAPI) -> list[PostMetricSnapshot]:
    async with resources_of(app).session_factory() as session:
        statement = select(PostMetricSnapshot).order_by(PostMetricSnapshot.collected_at)
        return list(await session.scalars(statement))


# --- the schedule ------------------------------------------------------------------------------


def test_default_schedule_decays_then_goes_daily_to_thirty_days() -> None:
    schedule = CollectionSchedule.parse(DEFAULT_SCHEDULE)
    minutes = [int(o.total_seconds() // 60) for o in schedule.offsets]
    assert minutes[:6] == [2, 10, 30, 60, 180, 720]
    assert minutes[6:] == [day * 1440 for day in range(1, 31)]
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    assert schedule.next_step(anchor, anchor + 5 * MINUTE) == 1  # the 10 min step
    # Steps missed during an outage are skipped, not collected one after another.
    assert schedule.next_step(anchor, anchor + timedelta(hours=2)) == 4
    assert schedule.next_step(anchor, anchor + timedelta(days=30)) is None


@pytest.mark.parametrize("text", ["", "2m, 1m", "2x", "every 0m until 1h", "every 1m until 30d"])
def test_unreadable_schedules_are_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is the setting's error text
        CollectionSchedule.parse(text)


async def test_a_published_post_is_measured_along_the_schedule(
    both_app: FastAPI, both_client: ApiClient, clock: Clock, sandbox: CountingSandbox
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    published_at = clock.now
    await publish(both_app, both_client, owner, clock, [account])
    (job,) = await all_jobs(both_app)
    assert job.due_at == published_at + 2 * MINUTE  # planned in the publishing transaction
    collector = make_collector(both_app, clock)
    assert await collector.collect_due() == 0  # not before its time

    clock.now = published_at + 2 * MINUTE
    assert await collector.collect_due() == 1
    (job,) = await all_jobs(both_app)
    assert (job.state, job.step, job.due_at) == (
        MetricJobState.WAITING,
        1,
        published_at + 10 * MINUTE,
    )
    assert len(await snapshots(both_app)) == 1

    clock.now = published_at + 45 * MINUTE  # the collector was away at 10 and 30 min
    await collector.collect_due()
    (job,) = await all_jobs(both_app)
    assert (job.step, job.due_at) == (3, published_at + timedelta(hours=1))

    clock.now = published_at + timedelta(days=30, minutes=1)
    await collector.collect_due()
    (job,) = await all_jobs(both_app)
    assert job.state == MetricJobState.DONE
    assert len(sandbox.post_reads) == 3


# --- batching and pacing -----------------------------------------------------------------------


async def test_due_posts_of_an_account_are_read_in_one_call(
    both_app: FastAPI, both_client: ApiClient, clock: Clock, sandbox: CountingSandbox
) -> None:
    owner = await set_up_owner(both_client)
    bakery = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    florist = await add_sandbox_account(both_client, owner.workspace_id, "florist")
    await publish(both_app, both_client, owner, clock, [bakery, bakery, bakery, florist, florist])
    clock.now += 2 * MINUTE
    collector = make_collector(both_app, clock)
    await collector.housekeeping()  # gives both accounts their stats job
    assert await collector.collect_due() == 7
    calls = sorted((handle, len(ids)) for handle, ids in sandbox.post_reads)
    assert calls == [("bakery", 3), ("florist", 2)]
    assert sorted(sandbox.stats_reads) == ["bakery", "florist"]
    assert len(await snapshots(both_app)) == 5
    async with resources_of(both_app).session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(AccountStatsSnapshot)) == 2


async def test_read_rate_is_respected_and_the_rest_waits_in_the_queue(
    app: FastAPI, client: ApiClient, clock: Clock, sandbox: CountingSandbox
) -> None:
    owner = await set_up_owner(client)
    accounts = [await add_sandbox_account(client, owner.workspace_id, f"shop{n}") for n in range(4)]
    await publish(app, client, owner, clock, accounts)
    clock.now += 2 * MINUTE
    # Two reads per minute for the whole network, one at a time.
    pacing = {Network.SANDBOX: NetworkPacing(concurrency=1, per_network=Rate(2, 60, burst=1))}
    collector = make_collector(app, clock, read_pacing=pacing)
    started = time.monotonic()
    assert await collector.collect_due() == 4
    # The first read goes at once; the next token is 30 s away, longer than a short wait, so
    # the other three accounts go back to the queue instead of holding the collector.
    assert len(sandbox.post_reads) == 1
    assert time.monotonic() - started < 2.5
    waiting = [j for j in await all_jobs(app) if j.collected_at is None]
    assert len(waiting) == 3
    assert all(j.state == MetricJobState.WAITING for j in waiting)
    assert all(j.due_at >= clock.now + timedelta(seconds=25) for j in waiting)
    assert all(j.failures == 0 for j in waiting)  # pacing is not a failure


async def test_a_short_wait_for_a_token_is_waited_in_process(
    app: FastAPI, client: ApiClient, clock: Clock, sandbox: CountingSandbox
) -> None:
    owner = await set_up_owner(client)
    accounts = [await add_sandbox_account(client, owner.workspace_id, f"shop{n}") for n in range(3)]
    await publish(app, client, owner, clock, accounts)
    clock.now += 2 * MINUTE
    pacing = {Network.SANDBOX: NetworkPacing(concurrency=8, per_network=Rate(4, 1, burst=1))}
    collector = make_collector(app, clock, read_pacing=pacing)
    await collector.collect_due()
    assert len(sandbox.post_reads) == 3
    gaps = [b - a for a, b in zip(sandbox.read_times, sandbox.read_times[1:], strict=False)]
    assert all(gap >= 0.2 for gap in gaps), gaps  # 4 per second: 250 ms apart


async def test_the_networks_rate_limit_answer_is_honoured(
    app: FastAPI, client: ApiClient, clock: Clock, sandbox_app: FastAPI
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    await publish(app, client, owner, clock, [account])
    # From now on the sandbox allows this account one request per hour; it is spent.
    sandbox_app.state.sandbox.limiter = RateLimiter(RateLimit(requests=1, window_seconds=3600))
    clock.now += 2 * MINUTE
    collector = make_collector(app, clock)
    await collector.collect_due()  # spends the token: collected
    (job,) = await all_jobs(app)
    assert job.collected_at == clock.now
    clock.now = job.due_at
    await collector.collect_due()  # 429 with Retry-After: 3600
    (job,) = await all_jobs(app)
    assert job.state == MetricJobState.WAITING
    assert job.failures == 1
    assert job.last_error is not None
    assert "rate-limiting" in job.last_error
    # The bucket refilled for the 8 minutes since the first read: 3,120 s left.
    assert job.due_at >= clock.now + timedelta(seconds=3120)


async def test_a_transient_error_is_retried_with_backoff(
    app: FastAPI, client: ApiClient, clock: Clock
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    await publish(app, client, owner, clock, [account])
    clock.now += 2 * MINUTE
    # The network is unreachable: nothing listens on this port.
    unreachable = SandboxPlatform("http://127.0.0.1:9", timeout=2)
    collector = make_collector(app, clock, PlatformRegistry({Network.SANDBOX: unreachable}))
    await collector.collect_due()
    await unreachable.aclose()
    (job,) = await all_jobs(app)
    assert (job.state, job.failures, job.step) == (MetricJobState.WAITING, 1, 0)
    assert clock.now + timedelta(seconds=4) <= job.due_at <= clock.now + timedelta(minutes=16)
    # Back online: the retry collects and the job goes on with its schedule.
    clock.now = job.due_at
    await make_collector(app, clock).collect_due()
    (job,) = await all_jobs(app)
    assert (job.failures, job.last_error, job.step) == (0, None, 1)


# --- what is written ---------------------------------------------------------------------------


async def test_a_snapshot_is_written_only_when_a_value_changed(
    both_app: FastAPI, both_client: ApiClient, clock: Clock
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    (post_id,) = await publish(both_app, both_client, owner, clock, [account])
    clock.now += 2 * MINUTE
    collector = make_collector(both_app, clock)
    await collector.collect_due()
    assert len(await snapshots(both_app)) == 1
    # Asked again at the same moment: the same numbers, nothing written.
    url = f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}/metrics/refresh"
    assert (await both_client.post(url)).status_code == 202
    # The refresh is stamped with the real time; the collector's clock is an hour ahead.
    assert await collector.collect_due() == 1
    assert len(await snapshots(both_app)) == 1
    (job,) = await all_jobs(both_app)
    assert job.collected_at == clock.now
    # Hours later the audience has reacted: a second row with the new numbers.
    clock.now += timedelta(hours=6)
    await collector.collect_due()
    first, second = await snapshots(both_app)
    assert second.impressions is not None
    assert first.impressions is not None
    assert second.impressions > first.impressions
    assert second.quotes is not None
    assert second.bookmarks is None


async def test_old_snapshots_are_thinned_to_the_latest_of_each_day(
    both_app: FastAPI, both_client: ApiClient, clock: Clock
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    await publish(both_app, both_client, owner, clock, [account, account])
    first_job, second_job = await all_jobs(both_app)
    now = clock.now
    old_day = (now - timedelta(days=100)).replace(hour=0, minute=0, second=0)
    async with resources_of(both_app).session_factory() as session:
        rows = []
        for job in (first_job, second_job):
            for day in range(3):  # three old days, four snapshots each
                for hour in (1, 7, 13, 19):
                    rows.append(
                        PostMetricSnapshot(
                            id=uuid7(),
                            workspace_id=job.workspace_id,
                            delivery_id=job.delivery_id,
                            account_id=job.account_id,
                            collected_at=old_day + timedelta(days=day, hours=hour),
                            likes=day * 100 + hour,
                            extra={},
                        )
                    )
            for hour in (1, 2):  # recent ones stay as they are
                rows.append(
                    PostMetricSnapshot(
                        id=uuid7(),
                        workspace_id=job.workspace_id,
                        delivery_id=job.delivery_id,
                        account_id=job.account_id,
                        collected_at=now - timedelta(hours=hour),
                        likes=1000 + hour,
                        extra={},
                    )
                )
            stored = await session.get(MetricJob, job.id)
            assert stored is not None
            stored.thin_from = old_day
        session.add_all(rows)
        await session.commit()

        # Bounded: one job per run.
        assert await thin_old_snapshots(session, now, timedelta(days=90), limit=1) == 9
        await session.commit()
        assert await thin_old_snapshots(session, now, timedelta(days=90), limit=1) == 9
        await session.commit()
        assert await thin_old_snapshots(session, now, timedelta(days=90), limit=1) == 0
        kept = list(
            await session.scalars(
                select(PostMetricSnapshot.likes)
                .where(PostMetricSnapshot.delivery_id == first_job.delivery_id)
                .order_by(PostMetricSnapshot.collected_at)
            )
        )
        assert kept == [19, 119, 219, 1002, 1001]
        jobs = {job.id: job for job in await session.scalars(select(MetricJob))}
        assert jobs[first_job.id].thin_from == now - timedelta(hours=2)


# --- sharing work ------------------------------------------------------------------------------


async def test_two_collectors_share_the_work_without_reading_anything_twice(
    both_app: FastAPI, both_client: ApiClient, clock: Clock, sandbox: CountingSandbox
) -> None:
    owner = await set_up_owner(both_client)
    accounts = [
        await add_sandbox_account(both_client, owner.workspace_id, f"shop{n}") for n in range(6)
    ]
    await publish(both_app, both_client, owner, clock, accounts * 3)
    clock.now += 2 * MINUTE
    first = make_collector(both_app, clock, worker_id="a", batch=7)
    second = make_collector(both_app, clock, worker_id="b", batch=7)
    while sum(await asyncio.gather(first.collect_due(), second.collect_due())):
        pass
    read = [remote_id for _handle, ids in sandbox.post_reads for remote_id in ids]
    assert len(read) == 18
    assert len(set(read)) == 18
    assert len(await snapshots(both_app)) == 18
    assert {job.step for job in await all_jobs(both_app)} == {1}


async def test_a_dead_collectors_jobs_are_taken_over_when_its_lease_runs_out(
    both_app: FastAPI, both_client: ApiClient, clock: Clock, sandbox: CountingSandbox
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    await publish(both_app, both_client, owner, clock, [account, account])
    clock.now += 2 * MINUTE
    sandbox.hold = asyncio.Event()  # the read hangs...
    doomed = make_collector(both_app, clock, worker_id="doomed", lease=timedelta(minutes=2))
    round_ = asyncio.create_task(doomed.collect_due())
    await sandbox.reading.wait()
    round_.cancel()  # ...and the collector is killed mid-call
    with pytest.raises(asyncio.CancelledError):
        await round_
    sandbox.hold = None
    successor = make_collector(both_app, clock, worker_id="successor")
    assert await successor.collect_due() == 0  # the lease still holds
    clock.now += timedelta(minutes=2, seconds=1)
    assert await successor.collect_due() == 2
    assert len(await snapshots(both_app)) == 2
    # Had the first collector only hung, its late answer is not written a second time.
    late = make_collector(both_app, clock, worker_id="doomed")
    jobs = await all_jobs(both_app)
    await late._record(
        [
            (
                _Group(MetricJobKind.POST, jobs[0].account_id, jobs),
                [PostMetrics(remote_id=str(jobs[0].remote_id), likes=999)],
            )
        ]
    )
    assert len(await snapshots(both_app)) == 2


async def test_a_batch_takes_a_dead_collectors_jobs_first_and_fills_up_with_due_ones(
    both_app: FastAPI, both_client: ApiClient, clock: Clock, sandbox: CountingSandbox
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    await publish(both_app, both_client, owner, clock, [account] * 3)
    clock.now += 2 * MINUTE
    sandbox.hold = asyncio.Event()
    doomed = make_collector(both_app, clock, worker_id="doomed", batch=1)
    round_ = asyncio.create_task(doomed.collect_due())
    await sandbox.reading.wait()
    round_.cancel()  # dies holding one job
    with pytest.raises(asyncio.CancelledError):
        await round_
    sandbox.hold = None
    (abandoned,) = sandbox.post_reads.pop()[1]
    clock.now += timedelta(minutes=2, seconds=1)
    successor = make_collector(both_app, clock, worker_id="successor", batch=2)
    assert await successor.collect_due() == 2  # the expired claim and one due job
    assert abandoned in sandbox.post_reads[0][1]
    assert await successor.collect_due() == 1
    read = [remote_id for _handle, ids in sandbox.post_reads for remote_id in ids]
    assert sorted(read) == sorted(set(read))  # nothing read twice
    assert len(read) == 3
    assert len(await snapshots(both_app)) == 3
    assert {job.lease_owner for job in await all_jobs(both_app)} == {None}


async def test_back_to_back_rounds_collect_everything_once_with_two_collectors(
    both_app: FastAPI, both_client: ApiClient, clock: Clock, sandbox: CountingSandbox
) -> None:
    """`collect_while_due` (what the worker runs): on PostgreSQL each round's write overlaps
    the next round's claim and reads; every job is still read and written exactly once."""
    owner = await set_up_owner(both_client)
    accounts = [
        await add_sandbox_account(both_client, owner.workspace_id, f"shop{n}") for n in range(4)
    ]
    await publish(both_app, both_client, owner, clock, accounts * 5)
    clock.now += 2 * MINUTE
    first = make_collector(both_app, clock, worker_id="a", batch=3)
    second = make_collector(both_app, clock, worker_id="b", batch=3)
    claimed = await asyncio.gather(first.collect_while_due(), second.collect_while_due())
    assert sum(claimed) == 20
    read = [remote_id for _handle, ids in sandbox.post_reads for remote_id in ids]
    assert sorted(read) == sorted(set(read))
    assert len(read) == 20
    assert len(await snapshots(both_app)) == 20
    jobs = await all_jobs(both_app)
    assert {(job.state, job.step, job.lease_owner) for job in jobs} == {
        (MetricJobState.WAITING, 1, None)
    }
    assert await first.collect_while_due() == 0


class SlowSandbox(CountingSandbox):
    """Each read takes a minute and a second of the shared clock."""

    def __init__(self, inner: SandboxPlatform, clock: Clock) -> None:
        super().__init__(inner)
        self.clock = clock

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        answer = await super().fetch_post_metrics(account, remote_ids)
        self.clock.now += timedelta(minutes=1, seconds=1)
        return answer


async def test_reads_not_started_half_way_through_the_lease_go_back_to_the_queue(
    both_app: FastAPI, both_client: ApiClient, clock: Clock, sandbox_url: str
) -> None:
    owner = await set_up_owner(both_client)
    bakery = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    florist = await add_sandbox_account(both_client, owner.workspace_id, "florist")
    await publish(both_app, both_client, owner, clock, [bakery, florist])
    clock.now += 2 * MINUTE
    slow = SlowSandbox(SandboxPlatform(sandbox_url), clock)
    collector = make_collector(
        both_app,
        clock,
        PlatformRegistry({Network.SANDBOX: slow}),
        concurrency=1,  # one account at a time: the second waits for the first
        lease=timedelta(minutes=2),
    )
    try:
        assert await collector.collect_due() == 2
        # The first account's read ended 61 s into the 2-minute lease: it is written; the
        # second would have started after half the lease, so it is due again instead.
        assert len(slow.post_reads) == 1
        assert len(await snapshots(both_app)) == 1
        jobs = {job.account_id: job for job in await all_jobs(both_app)}
        read_account = await account_of(both_app, slow.post_reads[0][0])
        (unread,) = [job for account_id, job in jobs.items() if account_id != read_account]
        assert (unread.state, unread.step, unread.due_at, unread.lease_owner) == (
            MetricJobState.WAITING,
            0,
            clock.now,
            None,
        )
        assert jobs[read_account].step == 1
        assert await collector.collect_due() == 1
        assert len(await snapshots(both_app)) == 2
    finally:
        await slow.aclose()


async def account_of(app: FastAPI, handle: str) -> uuid.UUID:
    async with resources_of(app).session_factory() as session:
        account_id = await session.scalar(
            select(SocialAccount.id).where(SocialAccount.handle == handle)
        )
    assert account_id is not None
    return account_id


async def test_next_due_is_the_earliest_due_job_or_lease_end_of_a_connected_account(
    both_app: FastAPI, both_client: ApiClient, clock: Clock
) -> None:
    owner = await set_up_owner(both_client)
    lost = await add_sandbox_account(both_client, owner.workspace_id, "lost")
    bakery = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    await publish(both_app, both_client, owner, clock, [lost])
    clock.now += MINUTE
    await publish(both_app, both_client, owner, clock, [bakery, bakery])
    clock.now += 10 * MINUTE
    await publish(both_app, both_client, owner, clock, [bakery])
    factory = resources_of(both_app).session_factory
    async with factory() as session:
        await session.execute(
            update(SocialAccount)
            .where(SocialAccount.id == uuid.UUID(lost))
            .values(status=AccountStatus.NEEDS_RECONNECT)
        )
        await session.commit()
    due = sorted(job.due_at for job in await all_jobs(both_app))
    # The lost account's job is due first, but it is not claimed until it reconnects.
    async with factory() as session:
        assert await job_queue.next_due_at(session) == due[1]
    # The bakery's first two jobs are claimed: their due time no longer counts, the end of
    # their lease does (they are claimable again then) when it comes before the third job.
    for lease_end, expected in ((due[3] - MINUTE, due[3] - MINUTE), (due[3] + MINUTE, due[3])):
        async with factory() as session:
            claimed = await job_queue.claim_due_jobs(session, "c", due[2], lease_end, 2)
            await session.commit()
        assert len(claimed) == 2
        async with factory() as session:
            assert await job_queue.next_due_at(session) == expected
        async with factory() as session:
            await session.execute(
                update(MetricJob)
                .where(MetricJob.id.in_([job.id for job in claimed]))
                .values(state=MetricJobState.WAITING, lease_owner=None, lease_expires_at=None)
            )
            await session.commit()
    # Nothing waiting or claimed for a connected account: nothing to wake up for.
    async with factory() as session:
        await session.execute(
            update(MetricJob)
            .where(MetricJob.account_id == uuid.UUID(bakery))
            .values(state=MetricJobState.DONE)
        )
        await session.commit()
    async with factory() as session:
        assert await job_queue.next_due_at(session) is None


# --- access, networks without metrics ----------------------------------------------------------


async def test_lost_access_stops_collection_until_the_account_is_reconnected(
    both_app: FastAPI,
    both_client: ApiClient,
    clock: Clock,
    sandbox: CountingSandbox,
    sandbox_url: str,
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    await publish(both_app, both_client, owner, clock, [account])
    async with httpx.AsyncClient() as http:
        revoked = await http.delete(f"{sandbox_url}/v1/accounts/bakery/token")
        assert revoked.status_code == 204
    clock.now += 2 * MINUTE
    collector = make_collector(both_app, clock)
    events: list[Event] = []
    resources_of(both_app).bus.add_listener(events.append)
    await collector.collect_due()
    async with resources_of(both_app).session_factory() as session:
        stored = await session.get(SocialAccount, uuid.UUID(account))
        assert stored is not None
        assert stored.status == AccountStatus.NEEDS_RECONNECT
    # (The in-app notification of the same fact comes on the bus as notification.created.)
    assert [e.type for e in events if e.type.startswith("account.")] == ["account.needs_reconnect"]
    clock.now += timedelta(hours=2)
    assert await collector.collect_due() == 0  # nothing is read for it any more
    assert len(sandbox.post_reads) == 1

    reconnected = await both_client.post(
        f"/api/v1/workspaces/{owner.workspace_id}/accounts/sandbox",
        json={"display_name": "Bakery", "handle": "bakery"},
    )
    assert reconnected.status_code == 200, reconnected.text  # signed in again: connected
    assert await collector.collect_due() == 1
    assert len(await snapshots(both_app)) == 1


async def test_networks_without_metrics_get_no_post_jobs(
    app: FastAPI, client: ApiClient, clock: Clock, sandbox: CountingSandbox
) -> None:
    sandbox.provides_metrics = False
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    (post_id,) = await publish(app, client, owner, clock, [account])
    assert await all_jobs(app) == []
    metrics = (
        await client.get(f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}/metrics")
    ).json()
    assert metrics["deliveries"][0]["provides_metrics"] is False
    assert metrics["deliveries"][0]["metrics"] is None


# --- the API and live events -------------------------------------------------------------------


async def test_refresh_now_makes_the_post_due_with_a_cooldown(
    both_app: FastAPI, both_client: ApiClient, clock: Clock
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    draft = (
        await both_client.post(
            f"/api/v1/workspaces/{owner.workspace_id}/posts",
            json={"text": "Not yet", "targets": [{"account_id": account}]},
        )
    ).json()
    base = f"/api/v1/workspaces/{owner.workspace_id}/posts"
    unpublished = await both_client.post(f"{base}/{draft['id']}/metrics/refresh")
    assert unpublished.status_code == 409
    (post_id,) = await publish(both_app, both_client, owner, clock, [account])

    asked = await both_client.post(f"{base}/{post_id}/metrics/refresh")
    assert asked.status_code == 202, asked.text
    assert asked.json()["jobs"] == 1
    (job,) = await all_jobs(both_app)
    assert job.due_at <= datetime.now(UTC)  # due now, not at its 2 min step
    again = await both_client.post(f"{base}/{post_id}/metrics/refresh")
    assert again.status_code == 429
    assert again.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(again.headers["Retry-After"]) <= 60


async def test_metrics_and_history_api(
    both_app: FastAPI, both_client: ApiClient, clock: Clock
) -> None:
    owner = await set_up_owner(both_client)
    bakery = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    florist = await add_sandbox_account(both_client, owner.workspace_id, "florist")
    post_id = await schedule_post(
        both_client, owner.workspace_id, [bakery, florist], clock.now.isoformat(), "Tulips!"
    )
    await run_round(make_dispatcher(both_app, clock))
    collector = make_collector(both_app, clock)
    for hours in (1, 5):
        clock.now += timedelta(hours=hours)
        await collector.collect_due()
    base = f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}"
    metrics = (await both_client.get(f"{base}/metrics")).json()
    assert len(metrics["deliveries"]) == 2
    likes = [d["metrics"]["impressions"] for d in metrics["deliveries"]]
    assert metrics["totals"]["impressions"] == sum(likes)
    assert metrics["totals"]["bookmarks"] is None
    assert all(d["provides_metrics"] for d in metrics["deliveries"])
    history = (await both_client.get(f"{base}/metrics/history")).json()
    assert len(history["points"]) == 4
    times = [point["collected_at"] for point in history["points"]]
    assert times == sorted(times)
    only = metrics["deliveries"][0]["delivery_id"]
    one = (await both_client.get(f"{base}/metrics/history", params={"delivery_id": only})).json()
    assert {p["delivery_id"] for p in one["points"]} == {only}


async def test_every_written_snapshot_is_announced_on_the_bus(
    both_app: FastAPI, both_client: ApiClient, clock: Clock
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    (post_id,) = await publish(both_app, both_client, owner, clock, [account])
    events: list[Event] = []
    resources_of(both_app).bus.add_listener(events.append)
    clock.now += timedelta(hours=3)
    await make_collector(both_app, clock).collect_due()
    (event,) = [e for e in events if e.type == "metrics.updated"]
    (snapshot,) = await snapshots(both_app)
    assert event.workspace_id == uuid.UUID(owner.workspace_id)
    assert event.data["post_id"] == post_id
    assert event.data["delivery_id"] == str(snapshot.delivery_id)
    assert event.data["metrics"]["impressions"] == snapshot.impressions
    assert event.data["metrics"]["likes"] == snapshot.likes


# --- several processes -------------------------------------------------------------------------


async def read_event(lines: AsyncIterator[str], wanted: str) -> dict[str, str]:
    current: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if current.get("event") == wanted:
                return current
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            current[key] = value.strip()
    raise AssertionError(f"the stream ended before a {wanted} event")


@pytest.fixture
def standalone_sandbox(tmp_path: Path) -> Iterator[str]:
    """The sandbox as its own service (real clock), shared by every PostWizard process."""
    with serving(create_sandbox_app(tmp_path / "standalone-sandbox.db")) as url:
        yield url


async def test_a_workers_metric_event_reaches_sse_clients_of_two_web_processes(
    tmp_path: Path, postgres_url: str, redis_server: RedisServer, standalone_sandbox: str
) -> None:
    environment = {
        "POSTWIZARD_DATABASE_URL": postgres_url,
        "POSTWIZARD_REDIS_URL": redis_server.url,
        "POSTWIZARD_SANDBOX_URL": standalone_sandbox,
        "POSTWIZARD_SECRET_KEY": TEST_SECRET,
        "POSTWIZARD_EMBEDDED_WORKER": "false",
    }
    with (
        running_server(tmp_path / "web1", **environment) as web1,
        running_server(tmp_path / "web2", **environment) as web2,
        running_worker(tmp_path / "worker", environment),
    ):
        async with (
            ApiClient(base_url=web1.url, timeout=20) as first,
            ApiClient(base_url=web2.url, timeout=20) as second,
        ):
            owner = await set_up_owner(first)
            second.cookies.update(first.cookies)  # the same person in another tab
            account = await add_sandbox_account(first, owner.workspace_id, "bakery")
            soon = datetime.now(UTC) + timedelta(seconds=2)
            post_id = await schedule_post(first, owner.workspace_id, [account], soon.isoformat())
            events = f"/api/v1/workspaces/{owner.workspace_id}/events"
            async with (
                first.stream("GET", events) as stream1,
                second.stream("GET", events) as stream2,
            ):
                lines1, lines2 = stream1.aiter_lines(), stream2.aiter_lines()
                await read_event(lines1, "ready")
                await read_event(lines2, "ready")
                await wait_until_published(first, owner.workspace_id, post_id)
                # Published by the worker; its collection is due in 2 min: ask for it now.
                refresh = f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}/metrics/refresh"
                asked = await second.post(refresh)
                assert asked.status_code == 202, asked.text
                got1, got2 = await asyncio.wait_for(
                    asyncio.gather(
                        read_event(lines1, "metrics.updated"),
                        read_event(lines2, "metrics.updated"),
                    ),
                    timeout=30,
                )
    assert got1["id"] == got2["id"]  # the same event, carried by Redis to both processes
    data = json.loads(got1["data"])
    assert data["post_id"] == post_id
    assert set(data["metrics"]) >= {"impressions", "likes", "reposts", "replies", "quotes"}


async def wait_until_published(api: ApiClient, workspace_id: str, post_id: str) -> None:
    for _ in range(400):  # up to 40 s on a busy machine
        post = (await api.get(f"/api/v1/workspaces/{workspace_id}/posts/{post_id}")).json()
        if post["status"] == "published":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the worker did not publish the post: {post['status']}")


@contextmanager
def running_worker(data_dir: Path, environment: Mapping[str, str]) -> Iterator[None]:
    """`postwizard worker` (dispatcher and collector) as its own process."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "POSTWIZARD_DATA_DIR": str(data_dir), **environment}
    with (data_dir / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [POSTWIZARD, "worker"], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
