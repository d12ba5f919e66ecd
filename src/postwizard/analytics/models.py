"""Metric snapshots: a time series per published delivery and per account. A row is written
only when a value changed, so the latest row of a delivery is its current numbers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, FlexibleJSON, IdMixin


class PostMetricSnapshot(IdMixin, Base):
    """A published delivery's numbers at `collected_at` (None: the network does not give it)."""

    __tablename__ = "post_metric_snapshot"
    __table_args__ = (
        Index("ix_post_metric_snapshot_delivery_id_collected_at", "delivery_id", "collected_at"),
        Index("ix_post_metric_snapshot_workspace_id_collected_at", "workspace_id", "collected_at"),
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("delivery.id", ondelete="CASCADE"))
    # Copies of the delivery's, for the dashboards' queries: no foreign keys of their own
    # (migration 0017). Deleting a workspace or an account deletes its deliveries, and so
    # their snapshots; the extra checks cost every ingested row two lookups.
    workspace_id: Mapped[uuid.UUID]
    account_id: Mapped[uuid.UUID]
    collected_at: Mapped[datetime]
    impressions: Mapped[int | None] = mapped_column(BigInteger, default=None)
    likes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    reposts: Mapped[int | None] = mapped_column(BigInteger, default=None)
    replies: Mapped[int | None] = mapped_column(BigInteger, default=None)
    quotes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    bookmarks: Mapped[int | None] = mapped_column(BigInteger, default=None)
    clicks: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Whatever else the network reports (reactions by type, saves, video views, ...).
    extra: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON, default=dict)


class AccountStatsSnapshot(IdMixin, Base):
    """An account's audience at `collected_at`."""

    __tablename__ = "account_stats_snapshot"
    __table_args__ = (
        Index("ix_account_stats_snapshot_account_id_collected_at", "account_id", "collected_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_account.id", ondelete="CASCADE")
    )
    collected_at: Mapped[datetime]
    followers: Mapped[int | None] = mapped_column(BigInteger, default=None)
    following: Mapped[int | None] = mapped_column(BigInteger, default=None)
    posts: Mapped[int | None] = mapped_column(BigInteger, default=None)
