"""Growth as the API takes and shows it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from postwizard.api.schemas import RequestBody, ResponseBody
from postwizard.growth.models import GoalMetric
from postwizard.growth.rules import Rule

GoalStatus = Literal["on_track", "at_risk", "reached", "missed"]
ChallengeStatus = Literal["upcoming", "active", "completed", "failed"]
TemplateKey = Literal["daily_30", "images_3_week", "networks_3_week", "best_rate_month"]


class GoalCreate(RequestBody):
    metric: GoalMetric
    target: float = Field(
        gt=0,
        le=1e12,
        description="Followers; posts per week; or an engagement rate as a fraction (0.05 = 5%).",
    )
    deadline: date = Field(description="The last local day of the goal.")
    start: date | None = Field(
        default=None, description="The local day progress counts from (default: today)."
    )
    account_id: uuid.UUID | None = Field(default=None, description="None: the whole workspace.")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str = Field(default="UTC", max_length=64)


class Goal(ResponseBody):
    id: uuid.UUID
    title: str
    metric: GoalMetric
    target: float
    account_id: uuid.UUID | None
    timezone: str
    starts_at: datetime
    deadline_at: datetime
    baseline: float | None = Field(description="The value when the goal started (followers).")
    current: float | None = Field(description="None: no data to compute it from yet.")
    forecast: float | None = Field(description="The value expected at the deadline at this pace.")
    progress: float = Field(description="0 to 1.")
    status: GoalStatus


class GoalList(ResponseBody):
    items: list[Goal]


class ChallengeCreate(RequestBody):
    """A built-in `template`, or a custom `rule`, not both."""

    template: TemplateKey | None = None
    rule: Rule | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    starts_on: date | None = Field(default=None, description="Custom rules: first local day.")
    ends_on: date | None = Field(
        default=None, description="Custom rules: last local day (default: a week)."
    )
    timezone: str = Field(default="UTC", max_length=64)


class Challenge(ResponseBody):
    id: uuid.UUID
    title: str
    template: str | None
    rule: dict[str, Any]
    timezone: str
    starts_at: datetime
    ends_at: datetime
    status: ChallengeStatus
    current: float | None
    target: float
    progress: float = Field(description="0 to 1.")
    completed_at: datetime | None


class ChallengeList(ResponseBody):
    items: list[Challenge]


class ChallengeTemplate(ResponseBody):
    key: TemplateKey
    title: str
    description: str


class ChallengeTemplateList(ResponseBody):
    items: list[ChallengeTemplate]


class StreakDay(ResponseBody):
    day: date
    posts: int
    frozen: bool


class Streaks(ResponseBody):
    timezone: str
    daily_current: int = Field(description="Local days in a row with a post (today may be open).")
    daily_longest: int
    weekly_current: int = Field(description="Weeks (Monday to Sunday) in a row with a post.")
    weekly_longest: int
    days: list[StreakDay] = Field(description="The last days, oldest first, for the calendar.")
    freeze_days: list[date]


class Badge(ResponseBody):
    key: str
    title: str
    description: str
    earned: bool
    earned_at: datetime | None


class BadgeList(ResponseBody):
    items: list[Badge]
