"""Metric jobs: what to collect when. One row per published delivery (its numbers, on a
decaying schedule) and one per account (its audience, hourly), claimed by collectors with a
lease exactly like deliveries, so any number of workers share them and none is lost when a
worker dies."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, CreatedAtMixin, IdMixin, string_enum
from postwizard.db.partial_indexes import index_condition


class MetricJobKind(StrEnum):
    POST = "post"  # a published delivery's likes, reposts, ...
    ACCOUNT = "account"  # an account's followers, following, posts


class MetricJobState(StrEnum):
    WAITING = "waiting"  # due at `due_at`
    CLAIMED = "claimed"  # a collector holds it until `lease_expires_at`
    DONE = "done"  # the schedule has ended ("refresh now" wakes it once more)


class MetricJob(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "metric_job"
    __table_args__ = (
        # The claims' two range scans (job_queue.py), each over the jobs of one state only: a
        # claim or a release moves a job from one index to the other, finished jobs are in
        # neither, and a scan for expired leases stops at the first lease still running.
        Index(
            "ix_metric_job_waiting_due_at",
            "due_at",
            sqlite_where=index_condition("state", [MetricJobState.WAITING]),
            postgresql_where=index_condition("state", [MetricJobState.WAITING]),
        ),
        Index(
            "ix_metric_job_claimed_lease_expires_at",
            "lease_expires_at",
            sqlite_where=index_condition("state", [MetricJobState.CLAIMED]),
            postgresql_where=index_condition("state", [MetricJobState.CLAIMED]),
        ),
        # One account-stats job per account (post jobs are unique by delivery).
        Index(
            "uq_metric_job_account_stats",
            "account_id",
            unique=True,
            sqlite_where=index_condition("kind", [MetricJobKind.ACCOUNT]),
            postgresql_where=index_condition("kind", [MetricJobKind.ACCOUNT]),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    kind: Mapped[MetricJobKind] = mapped_column(string_enum(MetricJobKind, "metric_job_kind"))
    # Not indexed on its own (each index costs every claim and release an insertion): account
    # jobs are found by uq_metric_job_account_stats, post jobs by their delivery; deleting an
    # account scans the jobs once.
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_account.id", ondelete="CASCADE")
    )
    # Post jobs only: the delivery measured, its post and its id on the network (copied once
    # published, so a collection round never has to read the deliveries).
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("delivery.id", ondelete="CASCADE"), unique=True, default=None
    )
    post_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), index=True, default=None
    )
    remote_id: Mapped[str | None] = mapped_column(String(200), default=None)
    # The schedule counts from here: when the delivery was published (the account's creation
    # for account jobs).
    anchor_at: Mapped[datetime]
    step: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[MetricJobState] = mapped_column(
        string_enum(MetricJobState, "metric_job_state"), default=MetricJobState.WAITING
    )
    due_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # Consecutive failed collections (backoff grows with it); 0 after a success.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    collected_at: Mapped[datetime | None] = mapped_column(default=None)
    refresh_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    # The oldest snapshot not yet thinned by downsampling (None: nothing to thin).
    thin_from: Mapped[datetime | None] = mapped_column(default=None, index=True)
