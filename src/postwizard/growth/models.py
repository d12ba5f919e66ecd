"""What a person sets up for growth. Progress is never stored: it is recomputed on every read
from published deliveries and metric snapshots, so a cancelled or failed delivery never counts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, CreatedAtMixin, FlexibleJSON, IdMixin, string_enum


class GoalMetric(StrEnum):
    FOLLOWERS = "followers"
    ENGAGEMENT_RATE = "engagement_rate"
    POSTS_PER_WEEK = "posts_per_week"


class GrowthGoal(IdMixin, CreatedAtMixin, Base):
    """Reach `target` of `metric` by `deadline_at`, for one account or the whole workspace."""

    __tablename__ = "growth_goal"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("social_account.id", ondelete="CASCADE"), default=None
    )
    metric: Mapped[GoalMetric] = mapped_column(string_enum(GoalMetric, "goal_metric"))
    target: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    deadline_at: Mapped[datetime]


class GrowthChallenge(IdMixin, CreatedAtMixin, Base):
    """A rule (see `rules`) to meet within [starts_at, ends_at); `template` if built in."""

    __tablename__ = "growth_challenge"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    template: Mapped[str | None] = mapped_column(String(32), default=None)
    title: Mapped[str] = mapped_column(String(200))
    rule: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON)
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]


class StreakFreeze(Base):
    """A local day that neither breaks nor extends the workspace's daily posting streak."""

    __tablename__ = "growth_streak_freeze"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
