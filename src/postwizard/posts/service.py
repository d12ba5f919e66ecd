"""Rules for posts: content and targets, the state machine, scheduling, approvals."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts import repository as accounts_repository
from postwizard.accounts.models import SocialAccount
from postwizard.analytics.service import best_posting_slots
from postwizard.db.base import utcnow
from postwizard.errors import Conflict, Forbidden, NotFound, PostWizardError
from postwizard.notes.post_stage import follow_post
from postwizard.platforms.limits import check, text_length
from postwizard.posts import repository, schemas
from postwizard.posts.models import ActivityEvent, Post, PostComment, PostStatus, PostTarget
from postwizard.posts.repository import PostParts
from postwizard.publishing import service as publishing
from postwizard.realtime.events import queue_event
from postwizard.scheduling.recurrence import occurrences
from postwizard.scheduling.slots import PostingSlot as Slot
from postwizard.scheduling.slots import next_free_slot
from postwizard.scheduling.timezones import as_utc, local_to_utc, utc_to_local, validate_timezone
from postwizard.workspaces.dependencies import WorkspaceAccess
from postwizard.workspaces.models import Role

EDITABLE = frozenset(
    {PostStatus.DRAFT, PostStatus.PENDING_APPROVAL, PostStatus.APPROVED, PostStatus.SCHEDULED}
)
CANCELLABLE = EDITABLE
# "Now" and times this close to now are both "as soon as possible", not an error.
PAST_TOLERANCE = timedelta(minutes=1)


@dataclass(frozen=True)
class TargetContent:
    """What one target would publish, after overrides."""

    account: SocialAccount
    text: str
    media_ids: list[uuid.UUID]


async def get_post(session: AsyncSession, workspace_id: uuid.UUID, post_id: uuid.UUID) -> Post:
    post = await repository.post_in_workspace(session, workspace_id, post_id)
    if post is None:
        raise NotFound("No such post in this workspace.")
    return post


def record(
    session: AsyncSession, access: WorkspaceAccess, post: Post, type_: str, **data: Any
) -> None:
    """Write the activity log entry and tell live clients, both only if the change commits."""
    session.add(
        ActivityEvent(
            workspace_id=post.workspace_id,
            post_id=post.id,
            actor_id=access.caller.user.id,
            type=type_,
            data=data,
        )
    )
    queue_event(
        session,
        post.workspace_id,
        type_,
        {"post_id": str(post.id), "status": post.status.value, **data},
    )


async def resolve_references(
    session: AsyncSession, workspace_id: uuid.UUID, body: schemas.PostCreate
) -> dict[uuid.UUID, SocialAccount]:
    """Check that every account and media item belongs to the workspace; name the bad one."""
    wanted = [t.account_id for t in body.targets]
    accounts = await accounts_repository.accounts_in_workspace(session, workspace_id, wanted)
    for index, account_id in enumerate(wanted):
        if account_id not in accounts:
            raise PostWizardError(
                "That account is not connected to this workspace.",
                code="unknown_account",
                status_code=422,
                fields=[
                    {
                        "field": f"targets.{index}.account_id",
                        "message": "not an account of this workspace",
                    }
                ],
            )
    media_ids = {*body.media_ids, *(m for t in body.targets for m in (t.media_ids or []))}
    known = await repository.media_facts(session, workspace_id, list(media_ids))
    missing = media_ids - known.keys()
    if missing:
        raise PostWizardError(
            f"Unknown media: {', '.join(sorted(map(str, missing)))}; upload it to the media library first.",
            code="unknown_media",
            status_code=422,
            fields=[{"field": "media_ids", "message": "not in this workspace's media library"}],
        )
    return accounts


async def _store_content(session: AsyncSession, post: Post, body: schemas.PostCreate) -> None:
    post.text = body.text
    post.link = str(body.link) if body.link else None
    post.labels = body.labels
    post.campaign = body.campaign
    await repository.replace_media(session, post.id, body.media_ids)
    await repository.replace_targets(
        session,
        post.id,
        [
            PostTarget(
                post_id=post.id,
                account_id=t.account_id,
                text=t.text,
                media_ids=[str(m) for m in t.media_ids] if t.media_ids is not None else None,
                options=t.options,
            )
            for t in body.targets
        ],
    )
    await session.flush()


async def create_post(
    session: AsyncSession, access: WorkspaceAccess, body: schemas.PostCreate
) -> Post:
    await resolve_references(session, access.workspace.id, body)
    post = Post(workspace_id=access.workspace.id, author_id=access.caller.user.id)
    session.add(post)
    await session.flush()
    await _store_content(session, post, body)
    record(session, access, post, "post.created")
    return post


async def update_post(
    session: AsyncSession, access: WorkspaceAccess, post: Post, body: schemas.PostUpdate
) -> Post:
    _require_status(post, EDITABLE, "edited")
    is_admin = access.membership.role.at_least(Role.ADMIN)
    if post.status == PostStatus.SCHEDULED and not is_admin:
        raise Forbidden(
            "Only admins and owners can edit a scheduled post; ask one, or cancel it first."
        )
    await resolve_references(session, access.workspace.id, body)
    await _store_content(session, post, body)
    if post.status == PostStatus.SCHEDULED:
        parts = await _check_limits(session, post)  # a scheduled post must stay publishable
        await publishing.plan_deliveries(session, post, _delivery_plan(parts))
    elif post.status in {PostStatus.PENDING_APPROVAL, PostStatus.APPROVED} and not is_admin:
        post.status = PostStatus.DRAFT  # changed content needs approving again
    record(session, access, post, "post.updated")
    return post


async def delete_post(session: AsyncSession, access: WorkspaceAccess, post: Post) -> None:
    _require_status(post, {PostStatus.DRAFT, PostStatus.CANCELLED}, "deleted")
    _require_author_or_admin(access, post)
    await session.delete(post)
    await session.flush()
    queue_event(session, post.workspace_id, "post.deleted", {"post_id": str(post.id)})


async def submit_for_approval(session: AsyncSession, access: WorkspaceAccess, post: Post) -> Post:
    _require_status(post, {PostStatus.DRAFT}, "submitted for approval")
    _require_author_or_admin(access, post)
    await _check_limits(session, post)
    post.status = PostStatus.PENDING_APPROVAL
    record(session, access, post, "post.submitted")
    return post


async def approve(
    session: AsyncSession, access: WorkspaceAccess, post: Post, comment: str | None
) -> Post:
    _require_status(post, {PostStatus.PENDING_APPROVAL}, "approved")
    post.status = PostStatus.APPROVED
    if comment:
        session.add(PostComment(post_id=post.id, author_id=access.caller.user.id, body=comment))
    record(session, access, post, "post.approved", comment=comment)
    return post


async def reject(session: AsyncSession, access: WorkspaceAccess, post: Post, comment: str) -> Post:
    _require_status(post, {PostStatus.PENDING_APPROVAL}, "rejected")
    post.status = PostStatus.DRAFT
    session.add(PostComment(post_id=post.id, author_id=access.caller.user.id, body=comment))
    record(session, access, post, "post.rejected", comment=comment)
    return post


async def schedule(
    session: AsyncSession, access: WorkspaceAccess, post: Post, request: schemas.ScheduleRequest
) -> tuple[datetime, uuid.UUID | None]:
    """Place the post in time; returns when, and with `queue` whose slot it took."""
    is_admin = access.membership.role.at_least(Role.ADMIN)
    allowed = (
        {PostStatus.DRAFT, PostStatus.APPROVED, PostStatus.SCHEDULED}
        if is_admin
        else {PostStatus.APPROVED}
    )
    if post.status not in allowed:
        if post.status in {PostStatus.DRAFT, PostStatus.PENDING_APPROVAL} and not is_admin:
            raise Forbidden(
                "An editor's post needs an admin's approval before it can be scheduled; submit it for approval.",
                code="approval_required",
            )
        if post.status == PostStatus.SCHEDULED and not is_admin:
            raise Forbidden(
                "Only admins and owners can move a scheduled post; ask one to reschedule it.",
                code="admin_required",
            )
        _require_status(post, allowed, "scheduled")
    parts = await _check_limits(session, post)
    now = utcnow()
    slot_account: uuid.UUID | None = None
    if request.now:
        when, zone = now, request.timezone or "UTC"
    elif request.queue:
        when, slot_account = await _next_queue_slot(
            session, parts, now, best_times=request.queue_into == "best_times"
        )
        zone = next(a.timezone for _, a in parts.targets if a.id == slot_account)
    else:
        assert request.at is not None
        zone = request.timezone or "UTC"
        when = (
            as_utc(request.at)
            if request.at.tzinfo
            else local_to_utc(request.at, validate_timezone(zone))
        )
        if when < now - PAST_TOLERANCE:
            raise PostWizardError(
                f"That time ({request.at.isoformat()} {zone}) is in the past; pick a later time or post now.",
                code="time_in_past",
                fields=[{"field": "at", "message": "in the past"}],
            )
    post.scheduled_at = when
    post.schedule_timezone = zone
    # Rescheduling (e.g. a drag in the calendar) keeps repetition settings not sent again.
    if "recurrence" in request.model_fields_set or post.status != PostStatus.SCHEDULED:
        post.recurrence_rule = request.recurrence
        post.recurrence_started_at = when if request.recurrence else None
    if "evergreen_every_days" in request.model_fields_set or post.status != PostStatus.SCHEDULED:
        post.evergreen_every_days = request.evergreen_every_days
    post.status = PostStatus.SCHEDULED
    await publishing.plan_deliveries(session, post, _delivery_plan(parts))
    await follow_post(session, post)
    record(session, access, post, "post.scheduled", scheduled_at=when.isoformat())
    return when, slot_account


async def unschedule(session: AsyncSession, access: WorkspaceAccess, post: Post) -> Post:
    _require_status(post, {PostStatus.SCHEDULED}, "unscheduled")
    await publishing.cancel_deliveries(session, post, "unscheduled")
    post.status = PostStatus.DRAFT
    post.scheduled_at = None
    record(session, access, post, "post.unscheduled")
    return post


async def cancel(session: AsyncSession, access: WorkspaceAccess, post: Post) -> Post:
    _require_status(post, CANCELLABLE, "cancelled")
    _require_author_or_admin(access, post)
    await publishing.cancel_deliveries(session, post)
    post.status = PostStatus.CANCELLED
    record(session, access, post, "post.cancelled")
    return post


async def add_comment(
    session: AsyncSession, access: WorkspaceAccess, post: Post, body: str
) -> PostComment:
    comment = PostComment(post_id=post.id, author_id=access.caller.user.id, body=body)
    session.add(comment)
    await session.flush()
    record(session, access, post, "post.commented")
    return comment


def _delivery_plan(parts: PostParts) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    return [
        (target.id, account.id, target.text if target.text is not None else parts.post.text)
        for target, account in parts.targets
    ]


def target_contents(parts: PostParts) -> list[TargetContent]:
    return [
        TargetContent(
            account=account,
            text=target.text if target.text is not None else parts.post.text,
            media_ids=[uuid.UUID(m) for m in target.media_ids]
            if target.media_ids is not None
            else parts.media_ids,
        )
        for target, account in parts.targets
    ]


async def check_targets(
    session: AsyncSession, workspace_id: uuid.UUID, contents: Sequence[TargetContent]
) -> schemas.PostCheck:
    """Counts and limit violations per target, as each network counts them."""
    facts = await repository.media_facts(
        session, workspace_id, list({m for c in contents for m in c.media_ids})
    )
    results = []
    for content in contents:
        overrides = content.account.limit_overrides or None
        media = [facts[m] for m in content.media_ids if m in facts]
        length = text_length(
            content.account.network, content.text, overrides=overrides, with_media=bool(media)
        )
        violations = check(content.account.network, content.text, media, overrides=overrides)
        results.append(
            schemas.TargetCheck(
                account_id=content.account.id,
                network=content.account.network,
                text_length=schemas.TextCount(count=length.count, limit=length.limit),
                violations=[schemas.Violation(rule=v.rule, message=v.message) for v in violations],
            )
        )
    return schemas.PostCheck(ok=all(not r.violations for r in results), targets=results)


async def check_draft(
    session: AsyncSession, workspace_id: uuid.UUID, body: schemas.PostCreate
) -> schemas.PostCheck:
    """Check unsaved composer content, target by target."""
    accounts = await resolve_references(session, workspace_id, body)
    contents = [
        TargetContent(
            account=accounts[t.account_id],
            text=t.text if t.text is not None else body.text,
            media_ids=list(t.media_ids if t.media_ids is not None else body.media_ids),
        )
        for t in body.targets
    ]
    return await check_targets(session, workspace_id, contents)


async def _check_limits(session: AsyncSession, post: Post) -> PostParts:
    (parts,) = await repository.parts_of(session, [post])
    if not parts.targets:
        raise PostWizardError(
            "The post has no target account; add at least one.",
            code="no_targets",
            fields=[{"field": "targets", "message": "at least one account is needed"}],
        )
    result = await check_targets(session, post.workspace_id, target_contents(parts))
    problems = [(i, t, v) for i, t in enumerate(result.targets) for v in t.violations]
    if problems:
        names = {a.id: f"{a.display_name} ({a.network.label})" for _, a in parts.targets}
        raise PostWizardError(
            " ".join(f"{names[t.account_id]}: {v.message}" for _, t, v in problems),
            code="limit_exceeded",
            status_code=422,
            fields=[
                {"field": f"targets.{i}", "message": f"{v.rule}: {v.message}"}
                for i, _, v in problems
            ],
        )
    return parts


class QueuePlanner:
    """Finds free posting slots, remembering the ones it hands out (one request or a whole import)."""

    def __init__(
        self, slots: dict[uuid.UUID, list[Slot]], taken: dict[uuid.UUID, set[datetime]]
    ) -> None:
        self.slots = slots
        self.taken = taken

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        accounts: Sequence[SocialAccount],
        now: datetime,
        *,
        best_times: bool = False,
    ) -> QueuePlanner:
        """With `best_times`, each account's slots are the workspace's best hours to post in the
        account's zone (analytics' heatmap) instead of its own posting slots."""
        ids = [a.id for a in accounts]
        if best_times and accounts:
            best = await best_posting_slots(
                session, accounts[0].workspace_id, [a.timezone for a in accounts], now
            )
            slots = {a.id: best[a.timezone] for a in accounts}
        else:
            stored = await accounts_repository.slots_of_accounts(session, ids)
            slots = {
                account_id: [Slot(weekday=s.weekday, minute_of_day=s.minute_of_day) for s in rows]
                for account_id, rows in stored.items()
            }
        return cls(slots, await repository.scheduled_times_of_accounts(session, ids, now))

    def take(self, accounts: Sequence[SocialAccount], now: datetime) -> tuple[datetime, uuid.UUID]:
        """The earliest free slot among `accounts`; every targeted account then has that time taken."""
        best: tuple[datetime, uuid.UUID] | None = None
        for account in accounts:
            found = next_free_slot(
                self.slots.get(account.id, []),
                validate_timezone(account.timezone),
                now,
                self.taken.setdefault(account.id, set()),
            )
            if found is not None and (best is None or found < best[0]):
                best = (found, account.id)
        if best is None:
            raise Conflict(
                "None of the targeted accounts has a free posting slot; add slots on the Accounts page or pick a time.",
                code="no_free_slot",
            )
        for account in accounts:
            self.taken.setdefault(account.id, set()).add(best[0])
        return best


async def _next_queue_slot(
    session: AsyncSession, parts: PostParts, now: datetime, *, best_times: bool = False
) -> tuple[datetime, uuid.UUID]:
    accounts = [account for _, account in parts.targets]
    planner = await QueuePlanner.load(session, accounts, now, best_times=best_times)
    return planner.take(accounts, now)


def _require_status(
    post: Post, allowed: set[PostStatus] | frozenset[PostStatus], action: str
) -> None:
    if post.status not in allowed:
        raise Conflict(
            f"A {post.status.value.replace('_', ' ')} post cannot be {action}.",
            code="invalid_state",
        )


def _require_author_or_admin(access: WorkspaceAccess, post: Post) -> None:
    if post.author_id != access.caller.user.id and not access.membership.role.at_least(Role.ADMIN):
        raise Forbidden("Only the author or an admin can do that to this post.")


UPCOMING_SHOWN = 5


def upcoming_occurrences(post: Post) -> list[datetime]:
    """The next times a recurring scheduled post goes out (none for one-off posts)."""
    if not post.recurrence_rule or post.scheduled_at is None or post.status != PostStatus.SCHEDULED:
        return []
    zone = validate_timezone(post.schedule_timezone or "UTC")
    first_local = utc_to_local(post.recurrence_started_at or post.scheduled_at, zone)
    after = max(utcnow(), post.scheduled_at) - timedelta(seconds=1)
    return occurrences(post.recurrence_rule, first_local, zone, after=after, limit=UPCOMING_SHOWN)


def describe(parts: PostParts) -> schemas.Post:
    post = parts.post
    return schemas.Post(
        id=post.id,
        status=post.status,
        text=post.text,
        link=post.link,
        media_ids=parts.media_ids,
        targets=[
            schemas.Target(
                id=target.id,
                account_id=account.id,
                network=account.network,
                account_name=account.display_name,
                text=target.text,
                media_ids=[uuid.UUID(m) for m in target.media_ids]
                if target.media_ids is not None
                else None,
                options=target.options,
            )
            for target, account in parts.targets
        ],
        labels=post.labels,
        campaign=post.campaign,
        scheduled_at=post.scheduled_at,
        schedule_timezone=post.schedule_timezone,
        recurrence_rule=post.recurrence_rule,
        evergreen_every_days=post.evergreen_every_days,
        upcoming=upcoming_occurrences(post),
        author_id=post.author_id,
        created_at=post.created_at,
        updated_at=post.updated_at,
    )
