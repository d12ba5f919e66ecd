"""A post is written once and fans out to one target per account, each able to override it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, CreatedAtMixin, FlexibleJSON, IdMixin, string_enum, utcnow


class PostStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    PARTIALLY_PUBLISHED = "partially_published"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Post(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "post"
    __table_args__ = (Index("ix_post_workspace_id_scheduled_at", "workspace_id", "scheduled_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[PostStatus] = mapped_column(
        string_enum(PostStatus, "post_status"), default=PostStatus.DRAFT
    )
    text: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(2048), default=None)
    labels: Mapped[list[str]] = mapped_column(FlexibleJSON, default=list)
    campaign: Mapped[str | None] = mapped_column(String(100), default=None)
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    # The zone the person scheduled in: shown back to them, and the base for recurrence.
    schedule_timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    # RFC 5545 RRULE, expanded in `schedule_timezone` from `scheduled_at`'s wall time.
    recurrence_rule: Mapped[str | None] = mapped_column(String(500), default=None)
    # Evergreen: publish again this many days after each publication.
    evergreen_every_days: Mapped[int | None] = mapped_column(default=None)
    # The series' first occurrence: COUNT and the wall time of a rule count from it.
    recurrence_started_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PostTarget(IdMixin, Base):
    """The post on one account: optional text/media overrides and network options."""

    __tablename__ = "post_target"

    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_account.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str | None] = mapped_column(Text, default=None)
    # None: use the post's media; a list (possibly empty): this target's own media ids, in order.
    media_ids: Mapped[list[str] | None] = mapped_column(FlexibleJSON, default=None)
    options: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON, default=dict)


class PostMedia(Base):
    __tablename__ = "post_media"

    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), primary_key=True
    )
    media_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("media.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)


class PostComment(IdMixin, CreatedAtMixin, Base):
    """Internal discussion on a post (approval comments too); never published."""

    __tablename__ = "post_comment"

    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    body: Mapped[str] = mapped_column(Text)


class ActivityEvent(IdMixin, CreatedAtMixin, Base):
    """Who changed what, as flexible JSON per workspace."""

    __tablename__ = "activity_event"
    __table_args__ = (Index("ix_activity_event_workspace_id_id", "workspace_id", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    post_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), default=None, index=True
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON, default=dict)
