"""The metric collector: claims due metric jobs, reads the networks, writes what changed.

Like the dispatcher (DESIGN.md, "Publishing invariants"), it holds a lease on what it works on,
so any number of collectors share the jobs and a job whose collector died is taken over when
its lease runs out. A round:
1. claims up to `batch` due jobs (`FOR UPDATE SKIP LOCKED` on PostgreSQL);
2. groups the post jobs per account and reads each account's due posts in one adapter call
   (the adapter splits it into the network's batch size), within the network's read
   concurrency cap and token buckets (`read_pacing.py`);
3. in one transaction for the round: reads the batch's latest snapshots in one query to see
   what changed (`snapshot_writer.py`), moves each job it still holds to its next step (one
   statement, which also says which leases are still its own) and inserts a snapshot only for
   what changed on those jobs (one statement per table, `bulk.py`);
4. after the commit, announces every written snapshot on the bus (`metrics.updated`).
While jobs are due, rounds follow back to back (`collect_while_due`); on PostgreSQL the
writes (3-4) of up to WRITES_IN_FLIGHT rounds run while the next round claims and reads.
Errors: transient → retried with backoff; rate limited → after Retry-After; access lost →
the account is marked "needs reconnect" and its jobs wait until it is reconnected.
Between rounds it gives new accounts their stats job and thins old snapshots.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postwizard.accounts.credentials import (
    decrypt_credentials,
    encrypt_credentials,
    merge_credentials,
)
from postwizard.accounts.models import AccountStatus, SocialAccount
from postwizard.analytics import job_queue
from postwizard.analytics.downsampling import thin_old_snapshots
from postwizard.analytics.job_queue import ClaimedJob, NextStep
from postwizard.analytics.jobs import MetricJobKind, MetricJobState
from postwizard.analytics.read_pacing import DEFAULT_READ_PACING, requests_for
from postwizard.analytics.schedule import DEFAULT_SCHEDULE, CollectionSchedule
from postwizard.analytics.snapshot_writer import (
    MeasuredPost,
    announce,
    changed_account_snapshots,
    changed_post_snapshots,
    insert_snapshots,
)
from postwizard.config import Settings
from postwizard.db import bulk
from postwizard.db.base import utcnow
from postwizard.errors import PostWizardError
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    AuthExpiredError,
    Platform,
    PlatformError,
    PostMetrics,
    RateLimitedError,
    Refreshable,
    TokenExpiredError,
)
from postwizard.platforms.registry import PlatformRegistry
from postwizard.publishing.pacing import NetworkPacing, Pacer
from postwizard.publishing.policy import RetryPolicy
from postwizard.realtime.bus import EventBus
from postwizard.realtime.events import Event
from postwizard.workers import new_worker_id, sleep_until_woken

log = structlog.get_logger(__name__)

# Events after which there may be new due work (a refresh asked for, an account reconnected).
# Wake-ups for new post jobs are gathered over this long (their first read is minutes away).
WAKE_COALESCE_S = 0.5
# PostgreSQL: how many rounds' writes may still be running while the next round claims and
# reads (two kept both the process and the server busy, measured: one ~17,000 rows/s, two
# ~20,000, three no more).
WRITES_IN_FLIGHT = 2
WAKING_EVENTS = frozenset(
    {"metrics.refresh_requested", "account.created", "account.updated", "delivery.updated"}
)


@dataclass(frozen=True)
class CollectorConfig:
    batch: int = 2000
    concurrency: int = 16  # accounts read at once
    lease: timedelta = timedelta(minutes=2)
    call_timeout: timedelta = timedelta(seconds=30)
    safety_poll: timedelta = timedelta(seconds=30)
    account_stats_every: timedelta = timedelta(hours=1)
    retention: timedelta = timedelta(days=90)
    housekeeping_every: timedelta = timedelta(seconds=60)
    downsample_limit: int = 200
    # A post job that keeps failing this many times in a row ends with its last error.
    give_up_after_failures: int = 12
    read_pacing: Mapping[Network, NetworkPacing] = field(
        default_factory=lambda: DEFAULT_READ_PACING
    )
    schedule: CollectionSchedule = field(
        default_factory=lambda: CollectionSchedule.parse(DEFAULT_SCHEDULE)
    )


def collector_config(settings: Settings) -> CollectorConfig:
    return CollectorConfig(
        lease=timedelta(seconds=settings.lease_seconds),
        call_timeout=timedelta(seconds=settings.call_timeout_seconds),
        account_stats_every=timedelta(minutes=settings.metrics_account_stats_minutes),
        retention=timedelta(days=settings.metrics_retention_days),
        schedule=CollectionSchedule.parse(settings.metrics_schedule),
    )


@dataclass
class _Group:
    """The claimed jobs of one account and kind: one adapter call."""

    kind: MetricJobKind
    account_id: uuid.UUID
    jobs: list[ClaimedJob]


class Collector:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        platforms: PlatformRegistry,
        bus: EventBus,
        secret_key: str,
        *,
        worker_id: str | None = None,
        config: CollectorConfig | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.platforms = platforms
        self.bus = bus
        self.secret_key = secret_key
        self.worker_id = worker_id or new_worker_id()
        self.config = config or CollectorConfig()
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.pacer = Pacer(self.config.read_pacing)
        self._accounts_slots = asyncio.Semaphore(self.config.concurrency)
        self._wake = asyncio.Event()
        self._wake_pending = False
        self._next_housekeeping: datetime | None = None
        self._overlap_writes = False  # PostgreSQL: see collect_while_due
        bus.add_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.type not in WAKING_EVENTS:
            return
        if event.type == "delivery.updated":
            if event.data.get("state") == "published":  # a new post job
                self._wake_soon()
            return
        self._wake.set()

    def _wake_soon(self) -> None:
        """A published delivery's first metric read is due minutes later: during a burst of
        publishing, one wake-up per WAKE_COALESCE_S is plenty (not one claim round each)."""
        if self._wake_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._wake.set()
            return
        self._wake_pending = True

        def fire() -> None:
            self._wake_pending = False
            self._wake.set()

        loop.call_later(WAKE_COALESCE_S, fire)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Collect until `stop` is set; a round in progress finishes first (graceful drain)."""
        log.info("collector started", worker=self.worker_id)
        try:
            while not stop.is_set():
                try:
                    await self._housekeeping_when_due()
                    claimed = await self.collect_while_due(stop)
                except Exception:  # a database hiccup must not kill the worker; it retries
                    log.exception("collection round failed", worker=self.worker_id)
                    claimed = 0
                if claimed == 0:
                    await self._sleep_until_due(stop)
        finally:
            log.info("collector stopped", worker=self.worker_id)

    def _housekeeping_due(self) -> bool:
        return self._next_housekeeping is not None and self.clock() >= self._next_housekeeping

    async def _housekeeping_when_due(self) -> None:
        if self._next_housekeeping is not None and not self._housekeeping_due():
            return
        self._next_housekeeping = self.clock() + self.config.housekeeping_every
        await self.housekeeping()

    async def housekeeping(self) -> None:
        """Stats jobs for accounts that have none, and one bounded downsampling run."""
        async with self.session_factory() as session:
            added = await job_queue.ensure_account_jobs(session, self.clock())
            await session.commit()
        if added:
            log.info("account stats jobs added", count=added)
        async with self.session_factory() as session:
            deleted = await thin_old_snapshots(
                session, self.clock(), self.config.retention, self.config.downsample_limit
            )
            await session.commit()
        if deleted:
            log.info("old metric snapshots thinned", deleted=deleted)

    async def collect_due(self) -> int:
        """One round: claim what is due, read it account by account, write what changed.
        Returns how many jobs were claimed."""
        claimed, read = await self._claim_and_read()
        await self._write(read)
        return claimed

    async def collect_while_due(self, stop: asyncio.Event | None = None) -> int:
        """Rounds back to back while jobs are due (until `stop` is set or housekeeping is
        due); how many jobs were claimed. On PostgreSQL a round's claim and network reads run
        while the previous rounds' writes (WRITES_IN_FLIGHT) are in the database, so this
        process and the server work at the same time; each write still covers only the jobs
        whose leases it holds. SQLite has one writer at a time: there rounds follow each
        other."""
        total = 0
        writing: deque[asyncio.Task[None]] = deque()
        try:
            while True:
                claimed, read = await self._claim_and_read()
                while len(writing) >= WRITES_IN_FLIGHT:
                    await writing.popleft()
                if not claimed:
                    break
                total += claimed
                if self._overlap_writes:
                    writing.append(asyncio.create_task(self._write(read)))
                else:
                    await self._write(read)
                if (stop is not None and stop.is_set()) or self._housekeeping_due():
                    break
        finally:
            for task in writing:
                await task
        return total

    async def _claim_and_read(
        self,
    ) -> tuple[int, list[tuple[_Group, list[PostMetrics] | AccountStats]]]:
        """Claim what is due and read it account by account: how many jobs were claimed, and
        the answers to write (groups the networks did not answer are rescheduled already)."""
        now = self.clock()
        async with self.session_factory() as session:
            self._overlap_writes = bulk.is_postgresql(session)
            jobs = await job_queue.claim_due_jobs(
                session, self.worker_id, now, now + self.config.lease, self.config.batch
            )
            accounts = await _accounts(session, {job.account_id for job in jobs})
            await session.commit()
        if not jobs:
            return 0, []
        # Reads still waiting for an account slot half-way through the lease are not started:
        # those jobs go back to the queue, so the round writes before its leases run out even
        # when a batch spans many accounts (each call is cut off at call_timeout).
        last_start = now + self.config.lease / 2
        groups: dict[tuple[MetricJobKind, uuid.UUID], _Group] = {}
        for job in jobs:
            key = (job.kind, job.account_id)
            groups.setdefault(key, _Group(job.kind, job.account_id, [])).jobs.append(job)
        answers = await asyncio.gather(
            *(
                self._guarded(group, accounts.get(group.account_id), last_start)
                for group in groups.values()
            )
        )
        read = [
            (group, answer)
            for group, answer in zip(groups.values(), answers, strict=True)
            if answer is not None
        ]
        return len(jobs), read

    async def _write(self, read: Sequence[tuple[_Group, list[PostMetrics] | AccountStats]]) -> None:
        try:
            await self._record(read)
        except Exception:  # the leases expire and another round takes the jobs over
            log.exception("writing metric snapshots failed", worker=self.worker_id)

    async def _guarded(
        self, group: _Group, account: SocialAccount | None, last_start: datetime
    ) -> list[PostMetrics] | AccountStats | None:
        if account is None:  # removed since; its jobs went with it
            return None
        try:
            async with self._accounts_slots:
                if self.clock() >= last_start:
                    await self._later(group, self.clock())
                    return None
                return await self.collect(group, account)
        except Exception:  # the lease expires and another round takes the jobs over
            log.exception(
                "metric collection failed", account=str(group.account_id), worker=self.worker_id
            )
            return None

    async def collect(
        self, group: _Group, account: SocialAccount
    ) -> list[PostMetrics] | AccountStats | None:
        """Read one account's due jobs in one adapter call: what the network answered, or None
        when it did not (the jobs are then rescheduled here, each error its own way)."""
        try:
            platform = self.platforms.get(account.network)
        except PostWizardError as error:
            await self._failed(group, error.message, retry_after=None)
            return None
        if group.kind == MetricJobKind.POST and not platform.provides_metrics:
            await self._end(group, f"{account.network.label} gives no numbers about posts.")
            return None
        ref = AccountRef(
            id=account.id,
            network=account.network,
            handle=account.handle,
            credentials=decrypt_credentials(self.secret_key, account.credentials_encrypted),
            options=account.options,
        )
        wanted = [job.remote_id for job in group.jobs if job.remote_id]
        slots = self.pacer.slots(account.network)
        async with slots if slots is not None else contextlib.nullcontext():
            requests = requests_for(account.network, len(wanted))
            wait = await self.pacer.acquire(account.network, account.id, requests)
            if wait > 0:
                await self._later(group, self.clock() + timedelta(seconds=wait))
                return None
            try:
                answer = await self._call(platform, account, ref, group.kind, wanted)
            except TokenExpiredError as error:
                if not isinstance(platform, Refreshable):
                    await self._lost_access(group, account, error)
                    return None
                await self._refresh(group, account, platform, ref)
                return None
            except AuthExpiredError as error:
                await self._lost_access(group, account, error)
                return None
            except RateLimitedError as error:
                await self._failed(group, error.message, retry_after=error.retry_after)
                return None
            except (PlatformError, TimeoutError) as error:
                message = getattr(error, "message", None) or "the network did not answer in time"
                await self._failed(group, message, retry_after=None)
                return None
        return answer

    async def _call(
        self,
        platform: Platform,
        account: SocialAccount,
        ref: AccountRef,
        kind: MetricJobKind,
        wanted: Sequence[str],
    ) -> list[PostMetrics] | AccountStats:
        if isinstance(platform, Refreshable) and platform.needs_refresh(
            ref.credentials, self.clock()
        ):
            ref = await self._renewed(account, platform, ref)
        timeout = self.config.call_timeout.total_seconds()
        if kind == MetricJobKind.ACCOUNT:
            return await asyncio.wait_for(platform.fetch_account_stats(ref), timeout)
        return await asyncio.wait_for(platform.fetch_post_metrics(ref, wanted), timeout)

    async def _renewed(
        self, account: SocialAccount, platform: Refreshable, ref: AccountRef
    ) -> AccountRef:
        """Renew the credentials and store them merged (an empty value never replaces a stored
        one); raises what `refresh` raises."""
        fresh = await asyncio.wait_for(
            platform.refresh(ref), self.config.call_timeout.total_seconds()
        )
        merged = merge_credentials(ref.credentials, fresh)
        async with self.session_factory() as session:
            await session.execute(
                update(SocialAccount)
                .where(SocialAccount.id == account.id)
                .values(credentials_encrypted=encrypt_credentials(self.secret_key, merged))
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return replace(ref, credentials=merged)

    async def _refresh(
        self, group: _Group, account: SocialAccount, platform: Refreshable, ref: AccountRef
    ) -> None:
        """The access token ran out: renew it, and the jobs are due again at once."""
        try:
            await self._renewed(account, platform, ref)
        except AuthExpiredError as error:
            await self._lost_access(group, account, error)
            return
        except (PlatformError, TimeoutError) as error:
            message = getattr(error, "message", None) or "the network did not answer in time"
            await self._failed(group, f"Could not renew access yet: {message}", retry_after=None)
            return
        await self._later(group, self.clock())

    async def _record(
        self, read: Sequence[tuple[_Group, list[PostMetrics] | AccountStats]]
    ) -> None:
        """In one transaction for the round: write what changed and move each job to its next
        step, for the jobs this collector still holds (a lease that ran out means another
        collector took the job over: nothing is written for it)."""
        if not read:
            return
        now = self.clock()
        jobs: list[ClaimedJob] = []
        stats: dict[uuid.UUID, tuple[uuid.UUID, AccountStats]] = {}
        measured: list[MeasuredPost] = []
        answers: dict[uuid.UUID, PostMetrics] = {}
        for group, answer in read:
            jobs += group.jobs
            if isinstance(answer, AccountStats):
                stats.update({job.account_id: (job.workspace_id, answer) for job in group.jobs})
                continue
            by_remote_id = {metrics.remote_id: metrics for metrics in answer}
            for job in group.jobs:
                assert job.delivery_id is not None
                assert job.post_id is not None
                assert job.remote_id is not None
                measured.append(
                    MeasuredPost(job.workspace_id, job.account_id, job.delivery_id, job.post_id)
                )
                metrics = by_remote_id.get(job.remote_id)
                if metrics is not None:
                    answers[job.delivery_id] = metrics
        async with self.session_factory() as session:
            changed = await changed_account_snapshots(session, stats, now)
            changed += await changed_post_snapshots(session, measured, answers, now)
            changed_owners = {w.delivery_id or w.account_id for w in changed}
            held = await job_queue.release_collected(
                session,
                self.worker_id,
                now,
                [self._next_step(job, now, _owner(job) in changed_owners) for job in jobs],
            )
            held_owners = {_owner(job) for job in jobs if job.id in held}
            written = [w for w in changed if (w.delivery_id or w.account_id) in held_owners]
            await insert_snapshots(session, written)
            await session.commit()
        lost = len(jobs) - len(held)
        if lost:
            log.info(
                "metric job leases ran out before writing; left to their new holder", jobs=lost
            )
        await announce(self.bus, written)

    def _next_step(self, job: ClaimedJob, now: datetime, changed: bool) -> NextStep:
        """The job's next state after a collection at `now`; a new snapshot (`changed`) is the
        oldest not yet thinned unless an older one is."""
        thin_from = now if changed else None
        if job.kind == MetricJobKind.ACCOUNT:
            hourly = now + self.config.account_stats_every
            return NextStep(job.id, MetricJobState.WAITING, None, hourly, thin_from)
        schedule = self.config.schedule
        step = schedule.next_step(job.anchor_at, now)
        if step is None:
            return NextStep(job.id, MetricJobState.DONE, len(schedule.offsets), None, thin_from)
        due = schedule.due_at(job.anchor_at, step)
        return NextStep(job.id, MetricJobState.WAITING, step, due, thin_from)

    async def _release_held(
        self, group: _Group, changes: Callable[[ClaimedJob], dict[str, Any]]
    ) -> None:
        async with self.session_factory() as session:
            held = await job_queue.still_held(
                session, [job.id for job in group.jobs], self.worker_id, self.clock()
            )
            await job_queue.release(
                session,
                [
                    {"id": job.id, "lease_owner": None, "lease_expires_at": None, **changes(job)}
                    for job in group.jobs
                    if job.id in held
                ],
            )
            await session.commit()

    async def _later(self, group: _Group, when: datetime) -> None:
        """Not collected now (pacing, renewed token): due again at `when`, not a failure."""
        await self._release_held(
            group, lambda _job: {"state": MetricJobState.WAITING, "due_at": when}
        )

    async def _failed(self, group: _Group, message: str, *, retry_after: float | None) -> None:
        """Retry with backoff (or after the network's Retry-After); a post job that keeps
        failing ends with its last error rather than being read forever."""
        now = self.clock()

        def changes(job: ClaimedJob) -> dict[str, Any]:
            failures = job.failures + 1
            if job.kind == MetricJobKind.POST and failures >= self.config.give_up_after_failures:
                return {"state": MetricJobState.DONE, "failures": failures, "last_error": message}
            due = self.policy.next_attempt_after_error(now, failures, retry_after, self.rng)
            return {
                "state": MetricJobState.WAITING,
                "due_at": due,
                "failures": failures,
                "last_error": message,
            }

        log.info("metric collection will be retried", account=str(group.account_id), error=message)
        await self._release_held(group, changes)

    async def _end(self, group: _Group, message: str) -> None:
        await self._release_held(
            group, lambda _job: {"state": MetricJobState.DONE, "last_error": message}
        )

    async def _lost_access(
        self, group: _Group, account: SocialAccount, error: PlatformError
    ) -> None:
        """The network no longer accepts the account: stop collecting for it until it is
        reconnected (jobs of accounts that are not connected are never claimed; they are due at
        once when it is)."""
        now = self.clock()
        async with self.session_factory() as session:
            await session.execute(
                update(SocialAccount)
                .where(SocialAccount.id == account.id)
                .values(status=AccountStatus.NEEDS_RECONNECT, status_reason=error.message[:500])
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        await self._release_held(
            group,
            lambda _job: {
                "state": MetricJobState.WAITING,
                "due_at": now,
                "last_error": error.message,
            },
        )
        await self.bus.publish(
            account.workspace_id, "account.needs_reconnect", {"id": str(account.id)}
        )
        log.warning("account lost access; metric collection paused", account=str(account.id))

    async def _sleep_until_due(self, stop: asyncio.Event) -> None:
        async with self.session_factory() as session:
            next_due = await job_queue.next_due_at(session)
        wait = self.config.safety_poll.total_seconds()
        if next_due is not None:
            wait = min(wait, max(0.0, (next_due - self.clock()).total_seconds()))
        if self._next_housekeeping is not None:
            wait = min(wait, max(0.0, (self._next_housekeeping - self.clock()).total_seconds()))
        await sleep_until_woken(stop, self._wake, wait)


def _owner(job: ClaimedJob) -> uuid.UUID:
    """Whose snapshots the job writes: its delivery's, or (stats job) its account's."""
    return job.delivery_id or job.account_id


async def _accounts(
    session: AsyncSession, account_ids: set[uuid.UUID]
) -> dict[uuid.UUID, SocialAccount]:
    if not account_ids:
        return {}
    rows = await session.scalars(select(SocialAccount).where(SocialAccount.id.in_(account_ids)))
    return {account.id: account for account in rows}
