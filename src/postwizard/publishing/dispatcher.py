"""The dispatcher: claims due deliveries, calls the networks, records every attempt.

Exactly once, step by step (DESIGN.md, "Publishing invariants"):
1. A delivery is leased before work starts; a worker that dies leaves a lease that expires.
2. Every network call is an Attempt row committed *before* the call.
3. When the last attempt never finished, or its outcome is unknown, the adapter reconciles
   first; only a confirmed "not there" is published again.
4. After a successful call, a failure to record it cannot cause a retry: the unfinished
   attempt sends the next worker to reconciliation, which finds the post.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from postwizard.accounts.credentials import (
    decrypt_credentials,
    encrypt_credentials,
    merge_credentials,
)
from postwizard.accounts.models import AccountStatus, SocialAccount
from postwizard.analytics.job_queue import add_post_jobs
from postwizard.analytics.schedule import CollectionSchedule
from postwizard.config import Settings
from postwizard.db.base import utcnow
from postwizard.errors import PostWizardError
from postwizard.media.public_urls import PublicMediaUrls
from postwizard.media.storage import MediaStorage
from postwizard.observability.metrics import ATTEMPTS, DELIVERIES_FINISHED, START_LATENESS
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AuthExpiredError,
    PermanentError,
    Platform,
    PlatformError,
    Published,
    PublishRequest,
    RateLimitedError,
    Refreshable,
    TokenExpiredError,
    UndecidableOutcomeError,
    UnknownOutcomeError,
)
from postwizard.platforms.registry import PlatformRegistry
from postwizard.publishing import repository, service
from postwizard.publishing.claims import Claim, load_claims
from postwizard.publishing.models import (
    Attempt,
    AttemptOutcome,
    Delivery,
    DeliveryState,
    WorkerHeartbeat,
)
from postwizard.publishing.pacing import DEFAULT_PACING, NetworkPacing, Pacer
from postwizard.publishing.policy import RetryPolicy
from postwizard.publishing.recorder import BATCHED, Recorder
from postwizard.realtime.bus import EventBus
from postwizard.realtime.events import Event, queue_event, take_pending_events
from postwizard.workers import new_worker_id, sleep_until_woken

log = structlog.get_logger(__name__)

DAY = timedelta(hours=24)
# Per account per rolling 24 h, as the networks document them (NETWORKS.md).
DAILY_POST_CAPS: dict[Network, int] = {Network.INSTAGRAM: 50, Network.THREADS: 250}
# Deliveries whose outcome a recorder batch records, for `_before_commit` (in `session.info`).
TO_CHECK = "postwizard.to_check"
# Deliveries a session marks published, for `_plan_collections` (in `session.info`).
PUBLISHED_NOW = "postwizard.published_now"
# Posts whose deliveries a session finishes (in `session.info`): settled once it has committed.
# Marked before the commit, a post could be settled from the old states in between and then
# never again (until the sweep a minute later).
FINISHED_POSTS = "postwizard.finished_posts"
# Events after which there may be new due work.
WAKING_EVENTS = frozenset({"post.scheduled", "post.updated", "posts.imported", "delivery.retry"})


# A claimed lease is renewed before a call unless it certainly outlasts the call by this much.
LEASE_MARGIN = timedelta(seconds=5)
# Post states are settled from their deliveries this often (and on drain), in one batch.
SETTLE_EVERY_S = 0.25
# Decrypted credentials kept at most (`Dispatcher._credentials`); more empties the cache.
DECRYPTED_KEPT = 10_000
# Posts whose settling was lost with a crashed worker are found again this often.
SWEEP_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class DispatcherConfig:
    concurrency: int = 64
    per_account: int = 1
    safety_poll: timedelta = timedelta(seconds=30)
    heartbeat_every: timedelta = timedelta(seconds=5)
    call_timeout: timedelta = timedelta(seconds=30)
    unknown_recheck: timedelta = timedelta(seconds=5)
    pacing: Mapping[Network, NetworkPacing] = field(default_factory=lambda: DEFAULT_PACING)
    # When a published delivery's numbers are first collected (the schedule's first step).
    first_metrics_after: timedelta = timedelta(minutes=2)
    daily_post_caps: Mapping[Network, int] = field(default_factory=lambda: DAILY_POST_CAPS)


class LeaseLostError(Exception):
    """This worker's lease on a delivery ran out; another worker may own it now."""


def dispatcher_config(settings: Settings) -> DispatcherConfig:
    return DispatcherConfig(
        concurrency=settings.worker_concurrency,
        call_timeout=timedelta(seconds=settings.call_timeout_seconds),
        heartbeat_every=timedelta(seconds=settings.worker_heartbeat_seconds),
        unknown_recheck=timedelta(seconds=min(5.0, settings.retry_base_seconds)),
        first_metrics_after=CollectionSchedule.parse(settings.metrics_schedule).offsets[0],
        # X's cap depends on the app's access tier.
        daily_post_caps={**DAILY_POST_CAPS, Network.X: settings.x_daily_post_cap},
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        base_seconds=settings.retry_base_seconds,
        lease=timedelta(seconds=settings.lease_seconds),
        missed_cutoff=timedelta(hours=settings.missed_cutoff_hours),
        give_up_after=timedelta(hours=settings.give_up_hours),
    )


class Dispatcher:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        platforms: PlatformRegistry,
        bus: EventBus,
        secret_key: str,
        *,
        worker_id: str | None = None,
        policy: RetryPolicy | None = None,
        config: DispatcherConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        media_storage: MediaStorage | None = None,
        public_media_urls: PublicMediaUrls | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.platforms = platforms
        self.bus = bus
        self.secret_key = secret_key
        self.worker_id = worker_id or new_worker_id()
        self.policy = policy or RetryPolicy()
        self.config = config or DispatcherConfig()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._slots = asyncio.Semaphore(self.config.concurrency)
        self._account_locks: dict[uuid.UUID, asyncio.Semaphore] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        # Tasks of `_in_flight` that have not finished their network call yet: the claim takes
        # what `concurrency` leaves free of these (an outcome waiting for the recorder's commit
        # holds no slot); `_call_ended` is set whenever a call or a task ends.
        self._calling: set[asyncio.Task[None]] = set()
        self._call_ended = asyncio.Event()
        # Calls and deliveries claimed ahead of a slot; and all tasks, with as many finished
        # calls again waiting for their commit (`dispatch_due`).
        concurrency = self.config.concurrency
        self._most_calling = concurrency + concurrency // 2
        self._most_in_flight = self._most_calling + concurrency
        self._wake = asyncio.Event()
        self.media_storage = media_storage
        # Signed links to each medium for networks that fetch media by URL (Instagram, Threads).
        self.public_media_urls = public_media_urls
        self.pacer = Pacer(self.config.pacing)
        # Decrypted credentials by stored value (`_credentials`): one decryption per account.
        self._decrypted: dict[bytes | None, dict[str, str]] = {}
        self.recorder = Recorder(
            session_factory,
            bus,
            before_commit=self._before_commit,
            after_commit=self._settle_when_committed,
        )
        # Posts whose deliveries changed: their state is derived in one batch (`settle_posts`).
        self._dirty_posts: set[uuid.UUID] = set()
        # Set when a claim shows a worker stopped mid-call: it may also have left posts unsettled.
        self._sweep_now = False
        bus.add_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.type in WAKING_EVENTS:
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then let in-flight calls finish (graceful shutdown)."""
        log.info("dispatcher started", worker=self.worker_id)
        heartbeat = asyncio.create_task(self._heartbeats(stop), name="dispatcher-heartbeat")
        settler = asyncio.create_task(self._settle_loop(stop), name="dispatcher-settle")
        try:
            while not stop.is_set():
                try:
                    claimed = await self.dispatch_due()
                except Exception:  # a database hiccup must not kill the worker; it retries
                    log.exception("dispatch round failed", worker=self.worker_id)
                    claimed = 0
                if claimed == 0:
                    await self._sleep_until_due(stop)
        finally:
            await self.drain()
            for task in (heartbeat, settler):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            log.info("dispatcher stopped", worker=self.worker_id)

    async def dispatch_due(self) -> int:
        """Claim what is due (up to free capacity) and start working on it; how many were claimed.

        Capacity is network calls: `concurrency` at once, however many finished calls are still
        waiting for their outcome's commit (at most as many again, so a slow database slows the
        claims down instead of piling up work). A claim round takes tens of milliseconds on a
        busy worker, so up to half as many again are claimed ahead and wait for a slot: a call
        that ends hands its slot on at once instead of leaving it idle until the next round."""
        free = min(
            self._most_calling - len(self._calling),
            self._most_in_flight - len(self._in_flight),
        )
        if free <= 0:
            self._call_ended.clear()
            await self._call_ended.wait()
            return 1
        now = self.clock()
        async with self.session_factory() as session:
            claimed = await repository.claim_due(
                session, self.worker_id, now, now + self.policy.lease, free
            )
            claims = await load_claims(session, claimed, self.media_storage, self.public_media_urls)
            for claim in claims:
                if claim.last is not None and claim.last.finished_at is None:
                    self._sweep_now = True
                self._prepare(session, claim, now)
            await session.commit()
        for claim in claims:
            task = asyncio.create_task(self._guarded(claim))
            self._in_flight.add(task)
            self._calling.add(task)
            task.add_done_callback(self._task_done)
        return len(claims)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        """A task ended: its call, if still counted, is free, and so is its place in flight;
        `dispatch_due` may wait for either (the second only when every place was taken)."""
        full = len(self._in_flight) >= self._most_in_flight
        self._in_flight.discard(task)
        self._call_ended_for(task)
        if full:
            self._call_ended.set()

    def _call_ended_for(self, task: asyncio.Task[None] | None) -> None:
        if task in self._calling:
            self._calling.discard(task)
            self._call_ended.set()

    async def drain(self) -> None:
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.settle_posts()

    async def settle_posts(self) -> None:
        """Derive the state of every post whose deliveries changed, in one transaction; a post
        that becomes published continues its recurring series. Idempotent: a crash before this
        ran is repaired by `_sweep` (post states are always derivable from deliveries)."""
        if not self._dirty_posts:
            return
        batch, self._dirty_posts = self._dirty_posts, set()
        try:
            async with self.session_factory() as session:
                await service.settle_posts(session, batch)
                await session.commit()
                for event in take_pending_events(session):
                    await self.bus.publish(event.workspace_id, event.type, event.data)
        except BaseException:
            self._dirty_posts |= batch  # try again next time
            raise

    async def _settle_loop(self, stop: asyncio.Event) -> None:
        next_sweep = self.clock()
        while not stop.is_set():
            try:
                if self._sweep_now or self.clock() >= next_sweep:
                    self._sweep_now = False
                    async with self.session_factory() as session:
                        self._dirty_posts |= set(await repository.posts_to_settle(session))
                    next_sweep = self.clock() + SWEEP_EVERY
                await self.settle_posts()
            except Exception:  # retried on the next tick
                log.exception("settling post states failed", worker=self.worker_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SETTLE_EVERY_S)

    async def _sleep_until_due(self, stop: asyncio.Event) -> None:
        async with self.session_factory() as session:
            next_due = await repository.next_due_at(session)
        wait = self.config.safety_poll.total_seconds()
        if next_due is not None:
            wait = min(wait, max(0.0, (next_due - self.clock()).total_seconds()))
        if self._in_flight:
            wait = min(wait, 0.5)
        await sleep_until_woken(stop, self._wake, wait)

    def _prepare(self, session: AsyncSession, claim: Claim, now: datetime) -> None:
        """The common case goes straight to the network: its Attempt row is committed with the
        claim itself (one transaction for the whole batch instead of one per delivery). Anything
        that needs a decision first (reconcile, missed, daily cap, credentials to renew, a rate
        bucket to wait for) takes the careful path in `process`."""
        delivery, account, last = claim.delivery, claim.account, claim.last
        if (
            account is None
            or (
                last is not None
                and (last.finished_at is None or last.outcome == AttemptOutcome.UNKNOWN)
            )
            or (delivery.attempt_count == 0 and self.policy.is_missed(delivery.due_at, now))
            or account.network in self.config.daily_post_caps
        ):
            return
        try:
            platform = self.platforms.get(account.network)
        except PostWizardError:
            return
        if isinstance(platform, Refreshable) or not self.pacer.try_take(
            account.network, account.id
        ):
            return
        attempt = Attempt(
            delivery_id=delivery.id,
            number=1 if last is None else last.number + 1,
            kind="publish",
            worker=self.worker_id,
            outcome=AttemptOutcome.PENDING,
            started_at=now,
        )
        session.add(attempt)
        claim.prepared = attempt

    async def _guarded(self, claim: Claim) -> None:
        # Read now: a failed transaction in `process` expires the instance, and once its session
        # is closed the attributes can no longer be loaded.
        delivery_id = claim.delivery.id
        lock = self._account_locks.setdefault(
            claim.delivery.account_id, asyncio.Semaphore(self.config.per_account)
        )
        network_slots = self.pacer.slots(claim.account.network) if claim.account else None
        task = asyncio.current_task()
        async with contextlib.AsyncExitStack() as held:
            # The network's cap first: waiting for it holds no general slot.
            if network_slots is not None:
                await held.enter_async_context(network_slots)
            await held.enter_async_context(lock)
            await held.enter_async_context(self._slots)

            async def call_ended() -> None:
                """The network call is over: its slots go to the next calls while the outcome
                waits for the recorder's commit."""
                await held.aclose()
                self._call_ended_for(task)

            try:
                await self.process(claim, call_ended)
            except LeaseLostError:
                log.info(
                    "lease ran out before the call; left to the worker that took over",
                    delivery=str(delivery_id),
                )
            except Exception:  # the lease expires and another round reconciles it
                log.exception(
                    "delivery processing failed", delivery=str(delivery_id), worker=self.worker_id
                )

    async def process(
        self, claim: Claim, call_ended: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Take one claimed delivery as far as it goes now. `call_ended` (fast path only) is
        awaited once the network call is over, before its outcome is recorded."""
        if claim.prepared is not None:
            await self._publish_prepared(claim, claim.prepared, call_ended)
            return
        async with self.session_factory() as session:
            delivery = claim.delivery
            session.add(delivery)  # loaded by the claim; no second read
            account = claim.account
            if account is None:  # removed after the claim (its deliveries go with it)
                return
            last = claim.last
            # Never finished: its worker died during the call.
            unfinished = last if last is not None and last.finished_at is None else None
            if unfinished is not None:
                session.add(unfinished)
            now = self.clock()
            if (
                delivery.attempt_count == 0
                and unfinished is None
                and self.policy.is_missed(delivery.due_at, now)
            ):
                late = now - delivery.due_at
                await self._finish(
                    session,
                    delivery,
                    DeliveryState.MISSED,
                    error=f"Not published: PostWizard was not running at the scheduled time, and {int(late.total_seconds() // 60)} minutes "
                    "late is past the missed-post cutoff. Reschedule it to publish.",
                )
                return
            try:
                platform = self.platforms.get(account.network)
                ref = AccountRef(
                    id=account.id,
                    network=account.network,
                    handle=account.handle,
                    credentials=self._credentials(account),
                    options=account.options,
                )
            except PostWizardError as error:
                await self._finish(session, delivery, DeliveryState.FAILED, error=error.message)
                return
            request = PublishRequest(
                marker=delivery.marker,
                text=delivery.text,
                media=claim.media,
                options=claim.options,
                first_attempt_at=claim.first_attempt_at,
            )
            if unfinished is not None:
                # The worker before us died during this call: the outcome is unknown.
                unfinished.outcome = AttemptOutcome.UNKNOWN
                unfinished.finished_at = now
                unfinished.error = "The worker stopped during this call."
            needs_reconcile = unfinished is not None or (
                last is not None and last.outcome == AttemptOutcome.UNKNOWN
            )
            if isinstance(platform, Refreshable) and platform.needs_refresh(ref.credentials, now):
                refreshed = await self._refresh(session, delivery, account, platform, ref)
                if refreshed is None:
                    return  # recorded: needs reconnect, or try again later
                ref = refreshed
            if needs_reconcile:
                found = await self._reconcile(session, claim, account, platform, ref, request)
                if found is not True:
                    return  # published (found) or still unknown; both recorded
            if await self._over_daily_cap(session, delivery, account, now):
                return
            if await self._paced(session, delivery, account):
                return
            await self._publish(session, claim, account, platform, ref, request)

    async def _refresh(
        self,
        session: AsyncSession,
        delivery: Delivery,
        account: SocialAccount,
        platform: Refreshable,
        ref: AccountRef,
    ) -> AccountRef | None:
        """Renew the account's credentials and store them (merged: an empty value never replaces
        a stored one). A transient failure is retried later, never taken for a dead token; only a
        definitive refusal marks the account "needs reconnect"."""
        try:
            fresh = await asyncio.wait_for(
                platform.refresh(ref), self.config.call_timeout.total_seconds()
            )
        except AuthExpiredError as error:
            stored = await session.scalar(
                select(SocialAccount.credentials_encrypted).where(SocialAccount.id == account.id)
            )
            if stored and stored != account.credentials_encrypted:
                # Another worker renewed them first (refresh tokens are often single-use).
                account.credentials_encrypted = stored
                return replace(ref, credentials=decrypt_credentials(self.secret_key, stored))
            await self._lost_access(session, delivery, account, error)
            return None
        except (PlatformError, TimeoutError) as error:
            message = getattr(error, "message", None) or "the network did not answer in time"
            next_at = self.policy.next_attempt_after_error(
                self.clock(), delivery.attempt_count + 1, None, self.rng
            )
            await self._finish(
                session,
                delivery,
                DeliveryState.RETRY_WAIT,
                error=f"Could not renew access to {account.network.label} yet: {message}",
                next_attempt_at=next_at,
            )
            return None
        merged = merge_credentials(ref.credentials, fresh)
        encrypted = encrypt_credentials(self.secret_key, merged)
        await session.execute(
            update(SocialAccount)
            .where(SocialAccount.id == account.id)
            .values(credentials_encrypted=encrypted)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        # The batch's other deliveries of this account use the renewed credentials too.
        account.credentials_encrypted = encrypted
        log.info("credentials renewed", account=str(account.id), network=account.network.value)
        return replace(ref, credentials=merged)

    async def _paced(
        self, session: AsyncSession, delivery: Delivery, account: SocialAccount
    ) -> bool:
        """The network's posting rate (token buckets): a short wait happens here; a long one
        sends the delivery back to the queue until the bucket has refilled."""
        wait = await self.pacer.acquire(account.network, account.id)
        if wait == 0:
            return False
        await self._finish(
            session,
            delivery,
            DeliveryState.RETRY_WAIT,
            error=f"Pacing posts to {account.network.label} within its rate limit; "
            f"next try in {wait:.0f} s.",
            next_attempt_at=self.clock() + timedelta(seconds=wait),
        )
        return True

    async def _over_daily_cap(
        self, session: AsyncSession, delivery: Delivery, account: SocialAccount, now: datetime
    ) -> bool:
        """Networks cap posts per account per 24 h (Instagram 50): wait, without calling, until
        the oldest post of the window ages out. Counted in the database, so it holds across workers."""
        cap = self.config.daily_post_caps.get(account.network)
        if cap is None:
            return False
        recent = await repository.published_since(session, account.id, now - DAY)
        if len(recent) < cap:
            return False
        free_at = min(recent) + DAY
        await self._finish(
            session,
            delivery,
            DeliveryState.RETRY_WAIT,
            error=f"{account.network.label} allows {cap} posts per 24 hours for an account; "
            f"waiting until {free_at:%Y-%m-%d %H:%M} UTC.",
            next_attempt_at=free_at,
        )
        return True

    async def _reconcile(
        self,
        session: AsyncSession,
        claim: Claim,
        account: SocialAccount,
        platform: Platform,
        ref: AccountRef,
        request: PublishRequest,
    ) -> bool | None:
        """True when the network certainly does not have the post (publish may go ahead)."""
        delivery = claim.delivery
        attempt = await self._begin_attempt(session, claim, "reconcile")
        try:
            found = await asyncio.wait_for(
                platform.reconcile(ref, request),
                self.config.call_timeout.total_seconds(),
            )
        except (PlatformError, TimeoutError) as error:
            await self._after_failed_reconcile(
                session, claim, account, platform, ref, attempt, error
            )
            return None
        await self._hold_or_stand_down(session, delivery.id, attempt.kind, found)
        attempt.finished_at = self.clock()
        if found is None:
            attempt.outcome = AttemptOutcome.RECONCILED_ABSENT
            ATTEMPTS.labels(attempt.kind, attempt.outcome.value).inc()
            await session.commit()
            return True
        attempt.outcome = AttemptOutcome.RECONCILED_FOUND
        ATTEMPTS.labels(attempt.kind, attempt.outcome.value).inc()
        await self._published(session, delivery, found)
        return False

    async def _hold_or_stand_down(
        self, session: AsyncSession, delivery_id: uuid.UUID, kind: str, outcome: object
    ) -> None:
        """Before recording a reconcile's outcome: go on only while this worker still holds the
        delivery; otherwise stand down (nothing recorded) and leave it to the successor."""
        if not await repository.still_holds(session, delivery_id, self.worker_id):
            self._stood_down(delivery_id, kind, outcome)
            await session.rollback()
            raise LeaseLostError(delivery_id)

    def _stood_down(self, delivery_id: uuid.UUID, kind: str, outcome: object) -> None:
        """Another worker took the delivery over while this one's call was under way (this
        process stalled past its lease): what the call returned is the successor's to find out
        (it reconciles), so nothing is recorded here, not even the attempt."""
        log.warning(
            "lease lost during the call; the worker that took over decides",
            delivery=str(delivery_id),
            kind=kind,
            outcome=type(outcome).__name__,
            worker=self.worker_id,
        )

    async def _after_failed_reconcile(
        self,
        session: AsyncSession,
        claim: Claim,
        account: SocialAccount,
        platform: Platform,
        ref: AccountRef,
        attempt: Attempt,
        error: PlatformError | TimeoutError,
    ) -> None:
        delivery = claim.delivery
        await self._hold_or_stand_down(session, delivery.id, attempt.kind, error)
        if isinstance(error, AuthExpiredError):
            attempt.outcome, attempt.error, attempt.finished_at = (
                AttemptOutcome.AUTH_ERROR,
                error.message,
                self.clock(),
            )
            ATTEMPTS.labels(attempt.kind, attempt.outcome.value).inc()
            if isinstance(error, TokenExpiredError) and isinstance(platform, Refreshable):
                await self._renew_then_retry(session, delivery, account, platform, ref)
            else:
                await self._lost_access(session, delivery, account, error)
            return
        if isinstance(error, UndecidableOutcomeError):
            attempt.outcome, attempt.error, attempt.finished_at = (
                AttemptOutcome.UNKNOWN,
                error.message,
                self.clock(),
            )
            ATTEMPTS.labels(attempt.kind, attempt.outcome.value).inc()
            await self._finish(
                session,
                delivery,
                DeliveryState.FAILED,
                error=f"{error.message} Look at the {account.network.label} account: if the post "
                "is there, mark it as published; if it is not, retry.",
            )
            return
        message = getattr(error, "message", None) or "the network did not answer in time"
        attempt.outcome, attempt.error, attempt.finished_at = (
            AttemptOutcome.UNKNOWN,
            message,
            self.clock(),
        )
        ATTEMPTS.labels(attempt.kind, attempt.outcome.value).inc()
        await self._after_unknown(
            session, delivery, f"Could not confirm whether the post was published: {message}"
        )

    async def _publish(
        self,
        session: AsyncSession,
        claim: Claim,
        account: SocialAccount,
        platform: Platform,
        ref: AccountRef,
        request: PublishRequest,
    ) -> None:
        attempt = await self._begin_attempt(session, claim, "publish")
        if request.first_attempt_at is None:
            request = replace(request, first_attempt_at=attempt.started_at)
        outcome = await self._call_publish(platform, ref, request)
        await self._apply_outcome(session, claim, account, platform, ref, attempt, outcome)

    async def _publish_prepared(
        self,
        claim: Claim,
        attempt: Attempt,
        call_ended: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """The fast path: the Attempt was committed with the claim; make the call and hand the
        outcome to the recorder, which commits it together with others finishing now."""
        delivery = claim.delivery
        account = claim.account
        assert account is not None
        now = self.clock()
        expires = delivery.lease_expires_at
        if expires is None or now + self.config.call_timeout + LEASE_MARGIN >= expires:
            # Waited long for a slot: renew, or leave the pending attempt to the next worker.
            async with self.session_factory() as session:
                if not await repository.renew_lease(
                    session, delivery.id, self.worker_id, now, now + self.policy.lease
                ):
                    raise LeaseLostError(delivery.id)
                await session.commit()
            set_committed_value(delivery, "lease_expires_at", now + self.policy.lease)
        platform = self.platforms.get(account.network)
        ref = AccountRef(
            id=account.id,
            network=account.network,
            handle=account.handle,
            credentials=self._credentials(account),
            options=account.options,
        )
        request = PublishRequest(
            marker=delivery.marker,
            text=delivery.text,
            media=claim.media,
            options=claim.options,
            first_attempt_at=claim.first_attempt_at or attempt.started_at,
        )
        if delivery.attempt_count == 0:
            START_LATENESS.observe(max(0.0, (now - delivery.due_at).total_seconds()))
        outcome = await self._call_publish(platform, ref, request)
        if call_ended is not None:
            await call_ended()

        async def apply(session: AsyncSession) -> None:
            session.add(delivery)
            session.add(attempt)
            await self._apply_outcome(session, claim, account, platform, ref, attempt, outcome)

        await self.recorder.record(apply)

    def _credentials(self, account: SocialAccount) -> dict[str, str]:
        """The account's credentials, decrypted once per stored value (renewed credentials are
        a new value; Fernet's random IV makes every encryption differ)."""
        blob = account.credentials_encrypted
        known = self._decrypted.get(blob)
        if known is None:
            if len(self._decrypted) >= DECRYPTED_KEPT:
                self._decrypted.clear()
            known = self._decrypted[blob] = decrypt_credentials(self.secret_key, blob)
        return dict(known)

    async def _call_publish(
        self, platform: Platform, ref: AccountRef, request: PublishRequest
    ) -> Published | PlatformError:
        try:
            # `timeout`, not `wait_for`: no extra task per call.
            async with asyncio.timeout(self.config.call_timeout.total_seconds()):
                published: Published = await platform.publish(ref, request)
        except TimeoutError:
            return UnknownOutcomeError(
                "The network did not answer in time after the post was sent."
            )
        except PlatformError as raised:
            return raised
        return published

    async def _apply_outcome(
        self,
        session: AsyncSession,
        claim: Claim,
        account: SocialAccount,
        platform: Platform,
        ref: AccountRef,
        attempt: Attempt,
        outcome: Published | PlatformError,
    ) -> None:
        delivery = claim.delivery
        if session.info.get(BATCHED):
            # Checked for the whole batch in one statement before its commit (`_before_commit`).
            session.info.setdefault(TO_CHECK, {})[delivery.id] = (attempt.kind, outcome)
        elif not await repository.still_holds(session, delivery.id, self.worker_id):
            self._stood_down(delivery.id, attempt.kind, outcome)
            return
        # Counted with the outcome (one write less before the call); a crash in between leaves
        # the unfinished attempt, which sends the next worker to reconcile.
        delivery.attempt_count = claim.publishes_before + 1
        if isinstance(outcome, Published):
            attempt.outcome, attempt.finished_at = AttemptOutcome.PUBLISHED, self.clock()
            ATTEMPTS.labels(attempt.kind, attempt.outcome.value).inc()
            await self._published(session, delivery, outcome)
            return
        error = outcome
        attempt.finished_at = self.clock()
        attempt.http_status = error.http_status
        attempt.error = error.message
        now = self.clock()
        if isinstance(error, UnknownOutcomeError):
            attempt.outcome = AttemptOutcome.UNKNOWN
            await self._after_unknown(session, delivery, error.message)
        elif isinstance(error, TokenExpiredError) and isinstance(platform, Refreshable):
            attempt.outcome = AttemptOutcome.AUTH_ERROR
            await self._renew_then_retry(session, delivery, account, platform, ref)
        elif isinstance(error, AuthExpiredError):
            attempt.outcome = AttemptOutcome.AUTH_ERROR
            await self._lost_access(session, delivery, account, error)
        elif isinstance(error, PermanentError):
            attempt.outcome = AttemptOutcome.PERMANENT_ERROR
            await self._finish(session, delivery, DeliveryState.FAILED, error=error.message)
        else:
            retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
            attempt.outcome = (
                AttemptOutcome.RATE_LIMITED
                if retry_after is not None
                else AttemptOutcome.TRANSIENT_ERROR
            )
            next_at = self.policy.next_attempt_after_error(
                now, delivery.attempt_count, retry_after, self.rng
            )
            if self.policy.gives_up(delivery.due_at, next_at):
                await self._finish(
                    session,
                    delivery,
                    DeliveryState.FAILED,
                    error=f"Gave up retrying: {error.message}",
                )
            else:
                await self._finish(
                    session,
                    delivery,
                    DeliveryState.RETRY_WAIT,
                    error=error.message,
                    next_attempt_at=next_at,
                )
        ATTEMPTS.labels(attempt.kind, attempt.outcome.value).inc()

    async def _renew_then_retry(
        self,
        session: AsyncSession,
        delivery: Delivery,
        account: SocialAccount,
        platform: Refreshable,
        ref: AccountRef,
    ) -> None:
        """The network refused an expired access token (nothing was applied): renew it and put
        the delivery straight back in the queue."""
        if await self._refresh(session, delivery, account, platform, ref) is not None:
            await self._finish(
                session,
                delivery,
                DeliveryState.RETRY_WAIT,
                error="The access token had expired; PostWizard renewed it and tries again.",
                next_attempt_at=self.clock(),
            )

    async def _lost_access(
        self,
        session: AsyncSession,
        delivery: Delivery,
        account: SocialAccount,
        error: PlatformError,
    ) -> None:
        # By id: the account object is shared by the batch's deliveries, not bound to this session.
        await session.execute(
            update(SocialAccount)
            .where(SocialAccount.id == account.id)
            .values(status=AccountStatus.NEEDS_RECONNECT, status_reason=error.message[:500])
            .execution_options(synchronize_session=False)
        )
        queue_event(
            session, account.workspace_id, "account.needs_reconnect", {"id": str(account.id)}
        )
        await self._finish(
            session,
            delivery,
            DeliveryState.FAILED,
            error=f"{error.message} Reconnect the account, then retry.",
        )

    async def _after_unknown(self, session: AsyncSession, delivery: Delivery, message: str) -> None:
        next_at = self.clock() + self.config.unknown_recheck
        if self.policy.gives_up(delivery.due_at, next_at):
            await self._finish(
                session,
                delivery,
                DeliveryState.FAILED,
                error=f"{message} PostWizard could not confirm it; check the account before posting it again.",
            )
        else:
            await self._finish(
                session, delivery, DeliveryState.UNKNOWN, error=message, next_attempt_at=next_at
            )

    async def _begin_attempt(self, session: AsyncSession, claim: Claim, kind: str) -> Attempt:
        """Committed before the call, so a crash during it is visible to the next worker. The
        lease is renewed in the same transaction unless it certainly outlasts the call; if it ran
        out (another worker may have taken the delivery over), no call is made."""
        delivery = claim.delivery
        now = self.clock()
        expires = delivery.lease_expires_at
        if expires is None or now + self.config.call_timeout + LEASE_MARGIN >= expires:
            if not await repository.renew_lease(
                session, delivery.id, self.worker_id, now, now + self.policy.lease
            ):
                await session.rollback()
                raise LeaseLostError(delivery.id)
            # Already written by the statement above: no second UPDATE at flush.
            set_committed_value(delivery, "lease_expires_at", now + self.policy.lease)
        last = claim.last
        number = 1 if last is None else last.number + 1
        first_publish = kind == "publish" and delivery.attempt_count == 0
        attempt = Attempt(
            delivery_id=delivery.id,
            number=number,
            kind=kind,
            worker=self.worker_id,
            outcome=AttemptOutcome.PENDING,
            started_at=self.clock(),
        )
        session.add(attempt)
        await session.commit()
        claim.last = attempt
        if first_publish:
            START_LATENESS.observe(max(0.0, (attempt.started_at - delivery.due_at).total_seconds()))
        return attempt

    async def _published(
        self, session: AsyncSession, delivery: Delivery, published: Published
    ) -> None:
        delivery.remote_id, delivery.remote_url = published.remote_id, published.url
        delivery.published_at = published.published_at or self.clock()
        # Its metric collection is planned in the same commit (durable, unlike a bus event), for
        # all deliveries of the commit at once (`_plan_collections`).
        session.info.setdefault(PUBLISHED_NOW, []).append(delivery)
        await self._finish(session, delivery, DeliveryState.PUBLISHED, error=None)

    async def _before_commit(self, session: AsyncSession) -> None:
        """Before a recorder batch commits: this worker must still hold every delivery whose
        outcome it records (`still_holds`, for all at once). If one was taken over, nothing is
        recorded for it: the batch fails, and the recorder records its outcomes one by one."""
        to_check: dict[uuid.UUID, tuple[str, object]] = session.info.pop(TO_CHECK, {})
        if to_check:
            lost = set(to_check) - await repository.still_held(
                session, list(to_check), self.worker_id
            )
            if lost:
                if len(to_check) == 1:
                    (delivery_id,) = lost
                    self._stood_down(delivery_id, *to_check[delivery_id])
                raise LeaseLostError(*lost)
        await self._plan_collections(session)

    async def _plan_collections(self, session: AsyncSession) -> None:
        """Right before a commit: the metric jobs of the deliveries it marks published."""
        published = session.info.pop(PUBLISHED_NOW, None)
        if published:
            await add_post_jobs(session, published, self.platforms, self.config.first_metrics_after)

    async def _finish(
        self,
        session: AsyncSession,
        delivery: Delivery,
        state: DeliveryState,
        *,
        error: str | None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        delivery.state = state
        delivery.last_error = error
        DELIVERIES_FINISHED.labels(state.value).inc()
        delivery.lease_owner = None
        delivery.lease_expires_at = None
        if next_attempt_at is not None:
            delivery.next_attempt_at = next_attempt_at
        session.info.setdefault(FINISHED_POSTS, set()).add(delivery.post_id)
        queue_event(
            session,
            delivery.workspace_id,
            "delivery.updated",
            {
                "delivery_id": str(delivery.id),
                "post_id": str(delivery.post_id),
                "state": state.value,
                "error": error,
            },
        )
        if session.info.get(BATCHED):
            return  # the recorder commits the batch and publishes its events
        await self._plan_collections(session)
        await session.commit()
        self._settle_when_committed(session)
        for event in take_pending_events(session):
            await self.bus.publish(event.workspace_id, event.type, event.data)

    def _settle_when_committed(self, session: AsyncSession) -> None:
        """After a commit: the posts whose deliveries it finished are settled next."""
        self._dirty_posts |= session.info.pop(FINISHED_POSTS, set())

    async def _heartbeats(self, stop: asyncio.Event) -> None:
        started = self.clock()
        while not stop.is_set():
            try:
                await self.beat(started)
            except Exception:  # a missed beat is not worth dying for
                log.warning("heartbeat failed", worker=self.worker_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.heartbeat_every.total_seconds())

    async def beat(self, started: datetime) -> None:
        values = {
            "worker": self.worker_id,
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": started,
            "seen_at": self.clock(),
            "in_flight": len(self._in_flight),
        }
        async with self.session_factory() as session:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            statement = insert(WorkerHeartbeat).values(values)
            statement = statement.on_conflict_do_update(
                index_elements=[WorkerHeartbeat.worker],
                set_={"seen_at": values["seen_at"], "in_flight": values["in_flight"]},
            )
            await session.execute(statement)
            await session.commit()
