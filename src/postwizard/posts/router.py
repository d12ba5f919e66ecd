"""Posts: compose, schedule, approve; the calendar and the activity log."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import AwareDatetime

from postwizard.api import API_PREFIX
from postwizard.api.pagination import Page, Pagination
from postwizard.db.base import utcnow
from postwizard.db.session import DbSession
from postwizard.errors import PostWizardError
from postwizard.platforms.networks import Network
from postwizard.posts import csv_import, export, repository, schemas, service
from postwizard.posts.models import Post, PostStatus
from postwizard.posts.repository import PostFilters
from postwizard.workspaces.dependencies import AdminAccess, EditorAccess, ViewerAccess

WORKSPACE = f"{API_PREFIX}/workspaces/{{workspace_id}}"
router = APIRouter(prefix=WORKSPACE, tags=["posts"])
MAX_CALENDAR_RANGE_DAYS = 62


def post_filters(
    status: Annotated[list[PostStatus] | None, Query(description="Only these states.")] = None,
    account_id: Annotated[
        list[uuid.UUID] | None, Query(description="Only posts targeting these accounts.")
    ] = None,
    network: Annotated[
        list[Network] | None, Query(description="Only posts targeting these networks.")
    ] = None,
    label: Annotated[
        list[str] | None, Query(description="Only posts with all of these labels.")
    ] = None,
    campaign: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text search.")] = None,
) -> PostFilters:
    return PostFilters(
        statuses=status or (),
        account_ids=account_id or (),
        networks=network or (),
        labels=label or (),
        search=q or None,
        campaign=campaign,
    )


Filters = Annotated[PostFilters, Depends(post_filters)]


async def _view(session: DbSession, post: Post) -> schemas.Post:
    (parts,) = await repository.parts_of(session, [post])
    return service.describe(parts)


@router.get("/posts")
async def list_posts(
    access: ViewerAccess, session: DbSession, page: Pagination, filters: Filters
) -> Page[schemas.Post]:
    """Posts of the workspace, filtered; `status=pending_approval` is the approvals inbox."""
    posts, next_cursor = await repository.page_of_posts(session, access.workspace.id, filters, page)
    return Page(
        items=[service.describe(p) for p in await repository.parts_of(session, posts)],
        next_cursor=next_cursor,
    )


@router.post("/posts", status_code=status.HTTP_201_CREATED)
async def create_post(
    body: schemas.PostCreate, access: EditorAccess, session: DbSession
) -> schemas.Post:
    """Create a draft with base content and one target per account."""
    post = await service.create_post(session, access, body)
    return await _view(session, post)


@router.post("/posts/check")
async def check_post(
    body: schemas.PostCreate, access: ViewerAccess, session: DbSession
) -> schemas.PostCheck:
    """Counts and limit problems per target, without saving (the composer's live counters)."""
    return await service.check_draft(session, access.workspace.id, body)


# Before /posts/{post_id}, which would otherwise take "export" for an id.
@router.get(
    "/posts/export",
    responses={
        200: {"content": {"text/csv": {}, "application/json": {}}, "description": "The posts."}
    },
)
async def export_posts(
    access: ViewerAccess,
    session: DbSession,
    filters: Filters,
    format: Annotated[
        Literal["csv", "json"], Query(description="csv (re-importable) or json.")
    ] = "csv",
) -> Response:
    """Every post matching the filters, as a CSV file that `imports/posts` accepts, or JSON."""
    posts = await repository.all_posts(session, access.workspace.id, filters)
    parts = await repository.parts_of(session, posts)
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    if format == "json":
        body = "[" + ",".join(service.describe(p).model_dump_json() for p in parts) + "]"
        return Response(
            body, media_type="application/json", headers=_attachment(f"posts-{stamp}.json")
        )
    return Response(
        export.posts_csv(parts),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"posts-{stamp}.csv"),
    )


@router.get("/posts/{post_id}")
async def get_post(post_id: uuid.UUID, access: ViewerAccess, session: DbSession) -> schemas.Post:
    """One post with its targets."""
    return await _view(session, await service.get_post(session, access.workspace.id, post_id))


@router.put("/posts/{post_id}")
async def update_post(
    post_id: uuid.UUID, body: schemas.PostUpdate, access: EditorAccess, session: DbSession
) -> schemas.Post:
    """Replace the post's content and targets. A scheduled post is re-checked against every limit."""
    post = await service.get_post(session, access.workspace.id, post_id)
    return await _view(session, await service.update_post(session, access, post, body))


@router.delete("/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_post(post_id: uuid.UUID, access: EditorAccess, session: DbSession) -> None:
    """Delete a draft or cancelled post."""
    await service.delete_post(
        session, access, await service.get_post(session, access.workspace.id, post_id)
    )


@router.post("/posts/{post_id}/submit")
async def submit_post(post_id: uuid.UUID, access: EditorAccess, session: DbSession) -> schemas.Post:
    """Ask an admin to approve the draft (it must fit every target's limits)."""
    post = await service.get_post(session, access.workspace.id, post_id)
    return await _view(session, await service.submit_for_approval(session, access, post))


@router.post("/posts/{post_id}/approve")
async def approve_post(
    post_id: uuid.UUID, body: schemas.Review, access: AdminAccess, session: DbSession
) -> schemas.Post:
    """Approve a post waiting for approval (admins and owners)."""
    post = await service.get_post(session, access.workspace.id, post_id)
    return await _view(session, await service.approve(session, access, post, body.comment))


@router.post("/posts/{post_id}/reject")
async def reject_post(
    post_id: uuid.UUID, body: schemas.Rejection, access: AdminAccess, session: DbSession
) -> schemas.Post:
    """Send a post back to its author as a draft, with a comment saying what to change."""
    post = await service.get_post(session, access.workspace.id, post_id)
    return await _view(session, await service.reject(session, access, post, body.comment))


@router.post("/posts/{post_id}/schedule")
async def schedule_post(
    post_id: uuid.UUID, body: schemas.ScheduleRequest, access: EditorAccess, session: DbSession
) -> schemas.Scheduled:
    """Schedule at a time in a timezone, post now, or add to the queue (next free slot)."""
    post = await service.get_post(session, access.workspace.id, post_id)
    when, slot_account = await service.schedule(session, access, post, body)
    return schemas.Scheduled(
        post=await _view(session, post), scheduled_at=when, slot_account_id=slot_account
    )


@router.post("/posts/{post_id}/unschedule")
async def unschedule_post(
    post_id: uuid.UUID, access: AdminAccess, session: DbSession
) -> schemas.Post:
    """Take a scheduled post back to draft."""
    post = await service.get_post(session, access.workspace.id, post_id)
    return await _view(session, await service.unschedule(session, access, post))


@router.post("/posts/{post_id}/cancel")
async def cancel_post(post_id: uuid.UUID, access: EditorAccess, session: DbSession) -> schemas.Post:
    """Cancel the post; it will not be published."""
    post = await service.get_post(session, access.workspace.id, post_id)
    return await _view(session, await service.cancel(session, access, post))


@router.get("/posts/{post_id}/comments")
async def list_comments(
    post_id: uuid.UUID, access: ViewerAccess, session: DbSession
) -> list[schemas.Comment]:
    """Internal comments on the post, oldest first."""
    post = await service.get_post(session, access.workspace.id, post_id)
    return [
        schemas.Comment.model_validate(c) for c in await repository.comments_of(session, post.id)
    ]


@router.post("/posts/{post_id}/comments", status_code=status.HTTP_201_CREATED)
async def add_comment(
    post_id: uuid.UUID, body: schemas.CommentCreate, access: ViewerAccess, session: DbSession
) -> schemas.Comment:
    """Comment on a post (never published)."""
    post = await service.get_post(session, access.workspace.id, post_id)
    return schemas.Comment.model_validate(
        await service.add_comment(session, access, post, body.body)
    )


@router.get("/calendar")
async def calendar(
    access: ViewerAccess,
    session: DbSession,
    start: Annotated[AwareDatetime, Query(description="Range start (inclusive), with an offset.")],
    end: Annotated[AwareDatetime, Query(description="Range end (exclusive), with an offset.")],
    filters: Filters,
) -> schemas.CalendarPage:
    """Scheduled and published posts in a time range (a month, week or day view)."""
    if end <= start or (end - start).days > MAX_CALENDAR_RANGE_DAYS:
        raise PostWizardError(
            f"`end` must be after `start` and at most {MAX_CALENDAR_RANGE_DAYS} days later.",
            code="invalid_range",
            fields=[{"field": "end", "message": "out of range"}],
        )
    posts, truncated = await repository.posts_between(
        session, access.workspace.id, start, end, filters
    )
    items = [service.describe(p) for p in await repository.parts_of(session, posts)]
    return schemas.CalendarPage(items=items, truncated=truncated)


@router.get("/activity")
async def activity(
    access: ViewerAccess,
    session: DbSession,
    page: Pagination,
    post_id: Annotated[uuid.UUID | None, Query(description="Only this post's history.")] = None,
) -> Page[schemas.Activity]:
    """Who changed what in the workspace, oldest first."""
    events, next_cursor = await repository.page_of_activity(
        session, access.workspace.id, post_id, page
    )
    return Page(items=[schemas.Activity.model_validate(e) for e in events], next_cursor=next_cursor)


IMPORT_MAX_BYTES = 20 * 1024 * 1024
IMPORT_PATH = re.compile(rf"^{re.escape(API_PREFIX)}/workspaces/[^/]+/imports/posts$")


@router.post(
    "/imports/posts",
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def import_posts(
    request: Request,
    access: AdminAccess,
    session: DbSession,
    dry_run: Annotated[bool, Query(description="Check every row, create nothing.")] = False,
    skip_invalid: Annotated[
        bool, Query(description="Create the valid rows even if some are invalid.")
    ] = False,
    timezone: Annotated[
        str, Query(max_length=64, description="Zone for times without one.")
    ] = "UTC",
) -> schemas.ImportReport:
    """Import posts from CSV (columns in docs/import.md). Every row is checked first; when any
    row is invalid nothing is created (422 listing each bad row) unless `skip_invalid`."""
    try:
        content = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise PostWizardError("The CSV must be UTF-8 encoded.", code="invalid_csv") from None
    try:
        report = await csv_import.import_posts(
            session,
            access,
            content,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            default_timezone=timezone,
        )
    except ValueError as error:  # an unknown default timezone
        raise PostWizardError(
            str(error),
            code="invalid_timezone",
            fields=[{"field": "timezone", "message": str(error)}],
        ) from None
    if report.problems and not dry_run and not skip_invalid:
        raise PostWizardError(
            f"{len({p.line for p in report.problems})} of {report.rows} rows are invalid; nothing was imported. "
            "Fix them, or import with skip_invalid.",
            code="invalid_rows",
            status_code=422,
            fields=[
                {"field": f"line {p.line}: {p.column}", "message": p.message}
                for p in report.problems[:500]
            ],
        )
    return schemas.ImportReport(
        rows=report.rows,
        valid=report.valid,
        problems=[
            schemas.ImportProblem(line=p.line, column=p.column, message=p.message)
            for p in report.problems
        ],
        created=report.created,
        dry_run=report.dry_run,
    )


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
