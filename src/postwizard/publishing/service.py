"""A scheduled post's deliveries: created when it is scheduled, re-planned or cancelled only
while none has started, and the post's state derived from them."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.models import AccountStatus, SocialAccount
from postwizard.errors import Conflict
from postwizard.ids import uuid7
from postwizard.notes import repository as notes_repository
from postwizard.notes.models import Note
from postwizard.notes.post_stage import follow_post
from postwizard.posts import repository as posts_repository
from postwizard.posts.models import Post, PostMedia, PostStatus, PostTarget
from postwizard.publishing import repository
from postwizard.publishing.models import Attempt, AttemptOutcome, Delivery, DeliveryState
from postwizard.realtime.events import queue_event
from postwizard.scheduling.recurrence import next_evergreen, next_occurrence
from postwizard.scheduling.timezones import utc_to_local, validate_timezone

NOT_STARTED = frozenset({DeliveryState.SCHEDULED, DeliveryState.CANCELLED})


async def _not_started(session: AsyncSession, post: Post, action: str) -> Sequence[Delivery]:
    deliveries = await repository.deliveries_of_post(session, post.id)
    started = [d for d in deliveries if d.state not in NOT_STARTED]
    if started:
        raise Conflict(
            f"Publishing has already started for {len(started)} of this post's {len(deliveries)} "
            f"accounts, so it can no longer be {action}; see each account's state on the post.",
            code="publishing_started",
        )
    return deliveries


async def plan_deliveries(
    session: AsyncSession, post: Post, targets: Sequence[tuple[uuid.UUID, uuid.UUID, str]]
) -> list[Delivery]:
    """One delivery per (target id, account id, text), due at the post's time. Re-planning
    replaces deliveries that have not started; started ones make it a conflict."""
    for old in await _not_started(session, post, "rescheduled"):
        await session.delete(old)
    deliveries = new_deliveries(post, targets)
    session.add_all(deliveries)
    await session.flush()
    return deliveries


def new_deliveries(
    post: Post, targets: Sequence[tuple[uuid.UUID, uuid.UUID, str]]
) -> list[Delivery]:
    """The deliveries of a newly scheduled post (no query: bulk imports call this per row)."""
    assert post.scheduled_at is not None
    return [
        Delivery(
            workspace_id=post.workspace_id,
            post_id=post.id,
            target_id=target_id,
            account_id=account_id,
            state=DeliveryState.SCHEDULED,
            due_at=post.scheduled_at,
            next_attempt_at=post.scheduled_at,
            marker=uuid.uuid4().hex,
            text=text,
        )
        for target_id, account_id, text in targets
    ]


async def cancel_deliveries(session: AsyncSession, post: Post, action: str = "cancelled") -> None:
    for delivery in await _not_started(session, post, action):
        delivery.state = DeliveryState.CANCELLED
    await session.flush()


def post_status_from(deliveries: Sequence[Delivery]) -> PostStatus | None:
    """The post's state as its deliveries say; None when they say nothing new (all waiting)."""
    states = [d.state for d in deliveries if d.state != DeliveryState.CANCELLED]
    if not states:
        return None
    if all(s == DeliveryState.PUBLISHED for s in states):
        return PostStatus.PUBLISHED
    finished = [
        s
        for s in states
        if s in {DeliveryState.PUBLISHED, DeliveryState.FAILED, DeliveryState.MISSED}
    ]
    if len(finished) == len(states):
        return (
            PostStatus.PARTIALLY_PUBLISHED
            if DeliveryState.PUBLISHED in finished
            else PostStatus.FAILED
        )
    if any(s != DeliveryState.SCHEDULED for s in states):
        return PostStatus.PUBLISHING
    return None


RETRYABLE = frozenset({DeliveryState.FAILED, DeliveryState.MISSED})


def outcome_unconfirmed(delivery: Delivery, last: Attempt | None) -> bool:
    """A failed delivery whose last call may have gone through: the person may say it did."""
    return (
        delivery.state == DeliveryState.FAILED
        and last is not None
        and last.outcome == AttemptOutcome.UNKNOWN
    )


async def mark_published(
    session: AsyncSession, delivery: Delivery, last: Attempt | None, url: str | None, now: datetime
) -> Delivery:
    """The person checked the network and found the post PostWizard could not confirm."""
    if not outcome_unconfirmed(delivery, last):
        raise Conflict(
            "Only a delivery whose outcome PostWizard could not confirm can be marked as "
            f"published; this one is {delivery.state.value.replace('_', ' ')}.",
            code="invalid_state",
        )
    delivery.state = DeliveryState.PUBLISHED
    delivery.published_at = now
    delivery.remote_url = url
    delivery.last_error = None
    await session.flush()
    await settle_post(session, delivery.post_id)
    queue_event(
        session,
        delivery.workspace_id,
        "delivery.updated",
        {"delivery_id": str(delivery.id), "post_id": str(delivery.post_id), "state": "published"},
    )
    return delivery


async def settle_post(session: AsyncSession, post_id: uuid.UUID) -> None:
    """Derive one post's state from its deliveries now (the dispatcher does this in batches)."""
    post = await session.get(Post, post_id)
    if post is not None:
        await apply_derived_status(
            session, post, await repository.deliveries_of_post(session, post_id)
        )


async def settle_posts(session: AsyncSession, post_ids: Collection[uuid.UUID]) -> None:
    """`settle_post` for a batch: three queries (deliveries, posts, notes), whatever its size."""
    deliveries = await repository.deliveries_of_posts(session, post_ids)
    notes = await notes_repository.notes_of_posts(session, post_ids)
    for post in await posts_repository.posts_by_ids(session, post_ids):
        await apply_derived_status(
            session, post, deliveries.get(post.id, []), notes.get(post.id, [])
        )


async def apply_derived_status(
    session: AsyncSession,
    post: Post,
    deliveries: Sequence[Delivery],
    notes: Sequence[Note] | None = None,
) -> None:
    """Set the post's state as its deliveries say; a post that went out continues its series.
    `notes`: the notes that became the post, when the caller read them for a batch."""
    derived = post_status_from(deliveries)
    if derived is not None and derived != post.status:
        post.status = derived
        if derived in {PostStatus.PUBLISHED, PostStatus.PARTIALLY_PUBLISHED}:
            await continue_series(session, post)
        # In this transaction: a note never misses its post.
        await follow_post(session, post, notes)
        queue_event(
            session,
            post.workspace_id,
            f"post.{derived.value}",
            {"post_id": str(post.id), "status": derived.value},
        )


async def retry_delivery(
    session: AsyncSession, delivery: Delivery, account: SocialAccount, now: datetime
) -> Delivery:
    """Send a failed or missed delivery again, now. A reconnect is needed first if access was lost."""
    if delivery.state not in RETRYABLE:
        raise Conflict(
            f"Only failed or missed deliveries can be retried; this one is {delivery.state.value.replace('_', ' ')}.",
            code="invalid_state",
        )
    if account.status == AccountStatus.NEEDS_RECONNECT:
        raise Conflict(
            f"{account.display_name} needs reconnecting before PostWizard can publish to it again.",
            code="needs_reconnect",
        )
    delivery.state = DeliveryState.SCHEDULED
    delivery.due_at = now  # a retry is due now; the missed-post cutoff counts from here
    delivery.next_attempt_at = now
    delivery.last_error = None
    post = await session.get(Post, delivery.post_id)
    if post is not None and post.status in {PostStatus.FAILED, PostStatus.PARTIALLY_PUBLISHED}:
        post.status = PostStatus.PUBLISHING
        queue_event(
            session,
            post.workspace_id,
            "post.publishing",
            {"post_id": str(post.id), "status": post.status.value},
        )
    await session.flush()
    queue_event(
        session,
        delivery.workspace_id,
        "delivery.retry",
        {"delivery_id": str(delivery.id), "post_id": str(delivery.post_id)},
    )
    return delivery


def health_alert(
    live_workers: int, due_not_started: int, oldest_due: datetime | None, now: datetime
) -> str | None:
    """A dead worker is an alert, not a silence (DESIGN.md): posts due and nobody to send them."""
    if due_not_started and live_workers == 0:
        late = (
            ""
            if oldest_due is None
            else f", the oldest {int((now - oldest_due).total_seconds() // 60)} min late"
        )
        return (
            f"{due_not_started} deliveries are due{late}, but no publishing worker is running. "
            "Start `postwizard serve` (embedded worker) or `postwizard worker`."
        )
    return None


async def continue_series(session: AsyncSession, post: Post) -> Post | None:
    """After a recurring or evergreen post went out: its next occurrence as a new scheduled post
    (same content and targets), so every occurrence has its own record and calendar entry."""
    if post.scheduled_at is None or not (post.recurrence_rule or post.evergreen_every_days):
        return None
    zone = validate_timezone(post.schedule_timezone or "UTC")
    next_at: datetime | None
    if post.recurrence_rule:
        start = post.recurrence_started_at or post.scheduled_at
        next_at = next_occurrence(
            post.recurrence_rule, utc_to_local(start, zone), zone, after=post.scheduled_at
        )
    else:
        assert post.evergreen_every_days is not None
        next_at = next_evergreen(post.scheduled_at, post.evergreen_every_days)
    if next_at is None:
        return None  # the rule's COUNT or UNTIL is reached
    (parts,) = await posts_repository.parts_of(session, [post])
    successor = Post(
        id=uuid7(),
        workspace_id=post.workspace_id,
        author_id=post.author_id,
        status=PostStatus.SCHEDULED,
        text=post.text,
        link=post.link,
        labels=list(post.labels),
        campaign=post.campaign,
        scheduled_at=next_at,
        schedule_timezone=post.schedule_timezone,
        recurrence_rule=post.recurrence_rule,
        evergreen_every_days=post.evergreen_every_days,
        recurrence_started_at=post.recurrence_started_at,
    )
    # The series moves on: the published post is history, the successor carries the rule.
    post.recurrence_rule = None
    post.evergreen_every_days = None
    session.add(successor)
    targets = [
        PostTarget(
            id=uuid7(),
            post_id=successor.id,
            account_id=target.account_id,
            text=target.text,
            media_ids=target.media_ids,
            options=target.options,
        )
        for target, _account in parts.targets
    ]
    session.add_all(targets)
    session.add_all(
        PostMedia(post_id=successor.id, media_id=m, position=i)
        for i, m in enumerate(parts.media_ids)
    )
    session.add_all(
        new_deliveries(
            successor,
            [(t.id, t.account_id, t.text if t.text is not None else post.text) for t in targets],
        )
    )
    await session.flush()
    queue_event(
        session,
        post.workspace_id,
        "post.scheduled",
        {"post_id": str(successor.id), "status": "scheduled", "previous_post_id": str(post.id)},
    )
    return successor
