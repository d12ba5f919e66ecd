"""The two background duties of notifications.

`NotificationIntake` listens to the bus and writes feed entries and outbox rows (in every web
process: with Redis each sees every event, and the dedup keys let the first write win). It
also watches publishing health: posts due while no worker is alive.

`OutboxSender` claims due outbox rows with a lease, sends the email, webhook call or push, records
the attempt, and retries with backoff; a process that dies mid-call leaves a lease that runs
out, and another sender takes the row over, so no webhook is lost (a receiver may see a call
twice, and de-duplicates by the payload's `id`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import smtplib
import time
import uuid
from collections.abc import Awaitable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postwizard.config import Settings
from postwizard.db.base import utcnow
from postwizard.net.ssrf import TargetPolicy, UnsafeTargetError, guarded_client
from postwizard.notifications import repository, service, web_push
from postwizard.notifications.email import compose, send_email
from postwizard.notifications.fcm import FcmClient
from postwizard.notifications.models import (
    OutboxAttempt,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    PushSubscription,
    WebhookEndpoint,
)
from postwizard.notifications.signing import SIGNATURE_HEADER, signature_header
from postwizard.publishing.models import CLAIMABLE, Delivery
from postwizard.publishing.repository import (
    live_and_recent_workers,
    queue_counts,
    worker_alive_window,
)
from postwizard.realtime.bus import EventBus
from postwizard.realtime.events import Event, take_pending_events
from postwizard.workers import new_worker_id

log = structlog.get_logger(__name__)

WEBHOOK_TIMEOUT_S = 10.0
RESPONSE_EXCERPT = 300


@dataclass(frozen=True)
class SenderConfig:
    batch: int = 20
    lease: timedelta = timedelta(seconds=60)
    idle_poll: timedelta = timedelta(seconds=2)
    # Delay before attempt n+1 after n failures; the last failure ends the message (failed).
    backoff: tuple[timedelta, ...] = field(
        default_factory=lambda: tuple(
            timedelta(seconds=s) for s in (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)
        )
    )
    # An endpoint failing this many calls in a row is disabled, and admins are told.
    disable_after_failures: int = 15

    @property
    def max_attempts(self) -> int:
        return len(self.backoff) + 1


async def _commit_and_publish(session: AsyncSession, bus: EventBus) -> None:
    await session.commit()
    for pending in take_pending_events(session):
        await bus.publish(pending.workspace_id, pending.type, pending.data)


class NotificationIntake:
    """Bus events in, notification rows out."""

    STALL_CHECK_EVERY = timedelta(seconds=60)
    STALL_GRACE = timedelta(seconds=60)
    BATCH = 200  # occurrences recorded in one transaction at most

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        bus: EventBus,
        settings: Settings,
        wake_sender: asyncio.Event | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.bus = bus
        self.settings = settings
        self.wake_sender = wake_sender
        self._queue: asyncio.Queue[service.Occurrence] = asyncio.Queue()
        self._last_stall_check = datetime.min.replace(tzinfo=utcnow().tzinfo)
        bus.add_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        occurrence = service.occurrence_of(event)
        if occurrence is not None:
            self._queue.put_nowait(occurrence)

    async def handle(self, occurrence: service.Occurrence) -> None:
        await self.handle_together([occurrence])

    async def handle_together(self, occurrences: list[service.Occurrence]) -> None:
        """Record occurrences in one transaction (a burst of publishing costs a few reads and one
        insert per table, not five statements per post); if that fails, each on its own, so one
        bad occurrence cannot lose the rest. The sender is woken only when there is something
        for it to send."""
        try:
            queued = await self._record(occurrences)
        except Exception:
            if len(occurrences) == 1:
                raise
            log.warning("recording notifications together failed; one by one", n=len(occurrences))
            queued = 0
            for occurrence in occurrences:
                try:
                    queued += await self._record([occurrence])
                except Exception:
                    log.exception("notification intake failed", type=occurrence.type)
        if queued and self.wake_sender is not None:
            self.wake_sender.set()

    async def _record(self, occurrences: list[service.Occurrence]) -> int:
        async with self.session_factory() as session:
            queued = await service.record_many(session, self.settings, occurrences)
            await _commit_and_publish(session, self.bus)
        return queued

    def _take_queued(self, first: service.Occurrence) -> list[service.Occurrence]:
        batch = [first]
        while len(batch) < self.BATCH and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch

    async def drain(self) -> None:
        """Handle everything received so far (tests, and shutdown)."""
        while not self._queue.empty():
            await self.handle_together(self._take_queued(self._queue.get_nowait()))

    async def check_publishing_health(self, now: datetime) -> None:
        """Posts due for a while and no worker alive: tell each affected workspace's admins
        (once an hour at most)."""
        async with self.session_factory() as session:
            if await live_and_recent_workers(
                session, now - worker_alive_window(self.settings.worker_heartbeat_seconds)
            ):
                return
            _depth, late, oldest = await queue_counts(session, None, now)
            if not late or oldest is None or oldest > now - self.STALL_GRACE:
                return
            workspaces = (
                await session.scalars(
                    select(Delivery.workspace_id)
                    .where(
                        Delivery.state.in_(CLAIMABLE),
                        Delivery.next_attempt_at <= now,
                    )
                    .distinct()
                )
            ).all()
        hour = now.strftime("%Y-%m-%dT%H")
        for workspace_id in workspaces:
            await self.handle(
                service.Occurrence(
                    workspace_id,
                    "publishing.stalled",
                    {
                        "message": f"{late} deliveries are due (the oldest since {oldest:%H:%M} UTC) "
                        "and no worker is running: start `postwizard worker` or check its logs.",
                        "link": "/publishing",
                    },
                    f"publishing.stalled:{hour}",
                )
            )

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                occurrence = await asyncio.wait_for(self._queue.get(), timeout=1.0)
            except TimeoutError:
                occurrence = None
            try:
                if occurrence is not None:
                    await self.handle_together(self._take_queued(occurrence))
                now = utcnow()
                if now - self._last_stall_check >= self.STALL_CHECK_EVERY:
                    self._last_stall_check = now
                    await self.check_publishing_health(now)
            except Exception:
                log.exception("notification intake failed")
        with contextlib.suppress(Exception):
            await self.drain()


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0
    skipped: bool = False  # not tried (its endpoint was disabled meanwhile): back to the queue
    # The push subscription is gone for good (unsubscribed, expired, unregistered): the message
    # ends failed now and the subscription is forgotten.
    gone: bool = False


async def _outcome_of_call(
    call: Awaitable[httpx.Response],
    started: float,
    status_prefix: str,
    *,
    gone_statuses: Collection[int] = (),
) -> Outcome:
    """Make an outbound call (webhook, push service) and judge its answer: 2xx delivered;
    otherwise the status and an excerpt of the body, `gone` when the target no longer exists."""
    try:
        response = await call
    except UnsafeTargetError as error:
        return Outcome(False, error=str(error))
    except httpx.HTTPError as error:
        return Outcome(False, error=f"{type(error).__name__}: {error}")
    elapsed = int((time.monotonic() - started) * 1000)
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code, duration_ms=elapsed)
    excerpt = response.text[:RESPONSE_EXCERPT]
    return Outcome(
        False,
        response.status_code,
        f"{status_prefix}{response.status_code}" + (f": {excerpt}" if excerpt else ""),
        elapsed,
        gone=response.status_code in gone_statuses,
    )


class OutboxSender:
    """Claims due emails and webhook calls, makes them, records each attempt."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        bus: EventBus,
        settings: Settings,
        secret_key: str,
        config: SenderConfig | None = None,
        wake: asyncio.Event | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.bus = bus
        self.settings = settings
        self.secret_key = secret_key
        self.config = config or SenderConfig()
        self.wake = wake or asyncio.Event()
        self.worker_id = new_worker_id()
        self._client = guarded_client(TargetPolicy.from_settings(settings), WEBHOOK_TIMEOUT_S)
        self._vapid: web_push.VapidKeys | None = None
        self._fcm: FcmClient | None = None

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._fcm is not None:
            await self._fcm.aclose()
            self._fcm = None

    async def work_once(self, now: datetime | None = None) -> int:
        """Send what is due at `now`; how many messages were tried."""
        now = now or utcnow()
        async with self.session_factory() as session:
            claimed = await repository.claim_due(
                session, self.worker_id, now, now + self.config.lease, self.config.batch
            )
            await session.commit()
        for message in claimed:
            outcome = await self._send(message)
            await self._settle(message.id, outcome, now)
        return len(claimed)

    async def _send(self, message: OutboxMessage) -> Outcome:
        started = time.monotonic()
        try:
            if message.kind is OutboxKind.EMAIL:
                return await self._send_email(message)
            if message.kind in (OutboxKind.WEB_PUSH, OutboxKind.FCM):
                return await self._send_push(message, started)
            return await self._send_webhook(message, started)
        except Exception as error:  # a bug must not wedge the queue: record it as a failure
            log.exception("notification send failed", message_id=str(message.id))
            return Outcome(False, error=f"{type(error).__name__}: {error}")

    async def _send_email(self, message: OutboxMessage) -> Outcome:
        payload = message.payload
        email = compose(
            self.settings.smtp_from,
            message.recipient or "",
            str(payload.get("subject", "PostWizard")),
            str(payload.get("text", "")),
            payload.get("link"),
        )
        try:
            await send_email(self.settings, email)
        except (smtplib.SMTPException, OSError) as error:
            return Outcome(False, error=f"SMTP: {error}")
        return Outcome(True)

    async def _send_push(self, message: OutboxMessage, started: float) -> Outcome:
        async with self.session_factory() as session:
            subscription = (
                await session.get(PushSubscription, message.subscription_id)
                if message.subscription_id
                else None
            )
            if subscription is None:
                return Outcome(False, error="The subscription was removed.", gone=True)
            if message.kind is OutboxKind.WEB_PUSH and self._vapid is None:
                self._vapid = await web_push.vapid_keys(session, self.secret_key)
                await session.commit()
        if message.kind is OutboxKind.FCM:
            if self._fcm is None:
                self._fcm = FcmClient(self.settings)
            result = await self._fcm.send(subscription.target, message.payload)
            return Outcome(
                result.delivered,
                result.status_code,
                result.error,
                int((time.monotonic() - started) * 1000),
                gone=result.token_gone,
            )
        if self._vapid is None or not subscription.p256dh or not subscription.auth:
            return Outcome(False, error="The subscription has no keys.", gone=True)
        request = web_push.push_request(
            self._vapid,
            web_push.vapid_subject(self.settings),
            subscription.target,
            subscription.p256dh,
            subscription.auth,
            message.payload,
        )
        return await _outcome_of_call(
            web_push.send_push(self._client, request),
            started,
            "Push service answered ",
            gone_statuses=web_push.GONE_STATUSES,
        )

    async def _send_webhook(self, message: OutboxMessage, started: float) -> Outcome:
        async with self.session_factory() as session:
            endpoint = (
                await session.get(WebhookEndpoint, message.endpoint_id)
                if message.endpoint_id
                else None
            )
            if endpoint is None:
                return Outcome(False, error="The endpoint was deleted.")
            if not endpoint.enabled:
                return Outcome(False, skipped=True)
            url, secret = (
                endpoint.url,
                service.decrypt_secret(self.secret_key, endpoint.secret_encrypted),
            )
        body = json.dumps(message.payload, separators=(",", ":"), default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "PostWizard-Webhooks/1",
            SIGNATURE_HEADER: signature_header(secret, int(time.time()), body),
            "PostWizard-Event": message.event_type,
            "PostWizard-Delivery": str(message.id),
        }
        return await _outcome_of_call(
            self._client.post(url, content=body, headers=headers), started, "HTTP "
        )

    async def _settle(self, message_id: uuid.UUID, outcome: Outcome, now: datetime) -> None:
        async with self.session_factory() as session:
            message = await repository.held_message(session, message_id, self.worker_id)
            if message is None:
                return  # our lease ran out and another sender took over
            message.lease_owner = None
            message.lease_expires_at = None
            if outcome.skipped:
                message.state = OutboxState.PENDING
                await session.commit()
                return
            session.add(
                OutboxAttempt(
                    message_id=message.id,
                    attempted_at=utcnow(),
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )
            message.attempts += 1
            message.last_status_code = outcome.status_code
            message.last_error = outcome.error
            if outcome.delivered:
                message.state = OutboxState.DELIVERED
                message.delivered_at = utcnow()
                if message.subscription_id is not None:
                    await repository.note_push_success(
                        session, message.subscription_id, message.delivered_at
                    )
            elif outcome.gone or message.attempts >= self.config.max_attempts:
                message.state = OutboxState.FAILED
                if outcome.gone and message.subscription_id is not None:
                    await repository.delete_subscription(session, message.subscription_id)
                    message.subscription_id = None
            else:
                message.state = OutboxState.PENDING
                message.next_attempt_at = now + self.config.backoff[message.attempts - 1]
            if message.endpoint_id is not None:
                await self._count_on_endpoint(session, message, outcome)
            await _commit_and_publish(session, self.bus)

    async def _count_on_endpoint(
        self, session: AsyncSession, message: OutboxMessage, outcome: Outcome
    ) -> None:
        endpoint = await session.get(WebhookEndpoint, message.endpoint_id)
        if endpoint is None:
            return
        if outcome.delivered:
            endpoint.consecutive_failures = 0
            return
        endpoint.consecutive_failures += 1
        if endpoint.enabled and endpoint.consecutive_failures >= self.config.disable_after_failures:
            endpoint.enabled = False
            endpoint.disabled_reason = (
                f"Disabled after {endpoint.consecutive_failures} failed calls in a row "
                f"(last: {outcome.error}). Fix the endpoint, then enable it again."
            )
            await service.record(
                session,
                self.settings,
                service.Occurrence(
                    endpoint.workspace_id,
                    "webhook.disabled",
                    {
                        "endpoint_id": str(endpoint.id),
                        "message": f"{endpoint.url}: {endpoint.disabled_reason}",
                        "link": "/settings/webhooks",
                    },
                    f"webhook.disabled:{endpoint.id}:{message.id}:{message.attempts}",
                ),
            )

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    worked = await self.work_once()
                except Exception:
                    log.exception("notification sender round failed")
                    worked = 0
                if worked:
                    continue
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    waiter = asyncio.ensure_future(self.wake.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    try:
                        await asyncio.wait(
                            {waiter, stopper},
                            timeout=self.config.idle_poll.total_seconds(),
                            return_when=asyncio.FIRST_COMPLETED,
                        )
                    finally:
                        waiter.cancel()
                        stopper.cancel()
        finally:
            await self.aclose()
