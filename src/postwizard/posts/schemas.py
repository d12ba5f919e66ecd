"""Post, target, schedule and approval bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, HttpUrl, field_validator, model_validator

from postwizard.api.schemas import RequestBody, ResponseBody
from postwizard.platforms.networks import Network
from postwizard.posts.models import PostStatus
from postwizard.scheduling.recurrence import parse_rule
from postwizard.scheduling.timezones import validate_timezone

Label = Field(min_length=1, max_length=50)


class TargetIn(RequestBody):
    account_id: uuid.UUID
    text: str | None = Field(
        default=None, max_length=100_000, description="Overrides the post's text."
    )
    media_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=20, description="Overrides the post's media; [] for none."
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Network options, e.g. first_comment, visibility, content_warning, languages.",
    )


class PostCreate(RequestBody):
    text: str = Field(default="", max_length=100_000)
    link: HttpUrl | None = None
    media_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    targets: list[TargetIn] = Field(default_factory=list, max_length=50)
    labels: list[str] = Field(default_factory=list, max_length=20)
    campaign: str | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("labels")
    @classmethod
    def _clean_labels(cls, labels: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(label.strip() for label in labels if label.strip()))
        if any(len(label) > 50 for label in cleaned):
            raise ValueError("a label is at most 50 characters")
        return cleaned

    @model_validator(mode="after")
    def _one_target_per_account(self) -> PostCreate:
        accounts = [t.account_id for t in self.targets]
        if len(accounts) != len(set(accounts)):
            raise ValueError("each account can be targeted only once")
        return self


class PostUpdate(PostCreate):
    """Replaces the post's content and targets (send the whole post, as the composer does)."""


class Target(ResponseBody):
    id: uuid.UUID
    account_id: uuid.UUID
    network: Network
    account_name: str
    text: str | None
    media_ids: list[uuid.UUID] | None
    options: dict[str, Any]


class Post(ResponseBody):
    id: uuid.UUID
    status: PostStatus
    text: str
    link: str | None
    media_ids: list[uuid.UUID]
    targets: list[Target]
    labels: list[str]
    campaign: str | None
    scheduled_at: datetime | None
    schedule_timezone: str | None
    recurrence_rule: str | None
    evergreen_every_days: int | None
    upcoming: list[datetime] = Field(
        default_factory=list, description="The next occurrences of a recurring post (at most 5)."
    )
    author_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ScheduleRequest(RequestBody):
    """Exactly one of: `at` (+ `timezone`), `now`, or `queue`."""

    at: datetime | None = Field(
        default=None,
        description="Local wall time in `timezone` (e.g. 2026-12-01T09:30), or an instant with an offset.",
    )
    timezone: str | None = Field(
        default=None, max_length=64, description="IANA zone, e.g. Europe/Berlin."
    )
    now: bool = False
    queue: bool = Field(
        default=False, description="Take the next free posting slot of the targeted accounts."
    )
    queue_into: Literal["posting_slots", "best_times"] = Field(
        default="posting_slots",
        description="With `queue`: the accounts' posting slots, or the week's best times to post (from analytics).",
    )
    recurrence: str | None = Field(
        default=None,
        max_length=500,
        description="Repeat by an RFC 5545 RRULE in the schedule's timezone, e.g. FREQ=WEEKLY;BYDAY=MO.",
        examples=["FREQ=WEEKLY;BYDAY=MO;COUNT=8"],
    )
    evergreen_every_days: int | None = Field(
        default=None, ge=1, le=3650, description="Re-publish this many days after each publication."
    )

    @model_validator(mode="after")
    def _exactly_one_way(self) -> ScheduleRequest:
        chosen = [self.at is not None, self.now, self.queue]
        if sum(chosen) != 1:
            raise ValueError("give exactly one of `at`, `now: true` or `queue: true`")
        if self.at is not None and self.at.tzinfo is None and not self.timezone:
            raise ValueError(
                "a local `at` needs a `timezone` (e.g. Europe/Berlin), or give an offset"
            )
        if self.timezone:
            validate_timezone(self.timezone)
        if self.recurrence is not None:
            if self.now:
                raise ValueError("a recurring post needs a first time (`at` or `queue`), not `now`")
            self.recurrence = parse_rule(self.recurrence).text
        return self


class Scheduled(ResponseBody):
    post: Post
    scheduled_at: datetime
    slot_account_id: uuid.UUID | None = Field(
        default=None, description="With `queue`: the account whose posting slot was taken."
    )


class Review(RequestBody):
    comment: str | None = Field(default=None, max_length=5000)


class Rejection(RequestBody):
    comment: str = Field(
        min_length=1, max_length=5000, description="Tell the author what to change."
    )


class CommentCreate(RequestBody):
    body: str = Field(min_length=1, max_length=5000)


class Comment(ResponseBody):
    id: uuid.UUID
    author_id: uuid.UUID | None
    body: str
    created_at: datetime


class Activity(ResponseBody):
    id: uuid.UUID
    post_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    type: str
    data: dict[str, Any]
    created_at: datetime


class TextCount(ResponseBody):
    count: int
    limit: int


class Violation(ResponseBody):
    rule: str
    message: str


class TargetCheck(ResponseBody):
    account_id: uuid.UUID
    network: Network
    text_length: TextCount
    violations: list[Violation]


class PostCheck(ResponseBody):
    ok: bool
    targets: list[TargetCheck]


class CalendarPage(ResponseBody):
    items: list[Post]
    truncated: bool = Field(
        description="True when more posts matched than one answer holds; narrow the range."
    )


class ImportProblem(ResponseBody):
    line: int
    column: str
    message: str


class ImportReport(ResponseBody):
    rows: int
    valid: int
    problems: list[ImportProblem]
    created: list[uuid.UUID]
    dry_run: bool
