"""A delivery is one post going to one account; every network call is an Attempt row,
committed before the call and completed after it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, CreatedAtMixin, IdMixin, string_enum, utcnow
from postwizard.db.partial_indexes import index_condition


class DeliveryState(StrEnum):
    SCHEDULED = "scheduled"
    CLAIMED = "claimed"
    PUBLISHED = "published"
    RETRY_WAIT = "retry_wait"
    UNKNOWN = "unknown"  # an attempt's outcome is unknown: reconcile before anything else
    FAILED = "failed"
    CANCELLED = "cancelled"
    MISSED = "missed"  # too late after an outage; the user reschedules it


# States the dispatcher picks up when `next_attempt_at` has come.
CLAIMABLE = (DeliveryState.SCHEDULED, DeliveryState.RETRY_WAIT, DeliveryState.UNKNOWN)
# The same, as the condition of the partial index `ix_delivery_due`. A query uses a partial
# index only when its WHERE repeats the condition with literal values (SQLite compares the
# terms; PostgreSQL cannot prove it from a parameter), see `db/partial_indexes.py`.
CLAIMABLE_CONDITION = index_condition("state", CLAIMABLE)
FINAL = frozenset(
    {DeliveryState.PUBLISHED, DeliveryState.FAILED, DeliveryState.CANCELLED, DeliveryState.MISSED}
)


class AttemptOutcome(StrEnum):
    PENDING = "pending"  # committed before the call; still pending after a crash = unknown
    PUBLISHED = "published"
    TRANSIENT_ERROR = "transient_error"
    RATE_LIMITED = "rate_limited"
    AUTH_ERROR = "auth_error"
    PERMANENT_ERROR = "permanent_error"
    UNKNOWN = "unknown"
    RECONCILED_FOUND = "reconciled_found"
    RECONCILED_ABSENT = "reconciled_absent"


class Delivery(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "delivery"
    __table_args__ = (
        Index("ix_delivery_state_next_attempt_at", "state", "next_attempt_at"),
        # The claim and the dispatcher's sleep: claimable deliveries in due order, and only
        # those (migration 0016), so a claim stops after the rows it takes.
        Index(
            "ix_delivery_due",
            "next_attempt_at",
            sqlite_where=CLAIMABLE_CONDITION,
            postgresql_where=CLAIMABLE_CONDITION,
        ),
        # Analytics: a workspace's deliveries published in a period (migration 0010).
        Index("ix_delivery_workspace_id_published_at", "workspace_id", "published_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("post.id", ondelete="CASCADE"), index=True
    )
    target_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("post_target.id", ondelete="SET NULL")
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_account.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[DeliveryState] = mapped_column(string_enum(DeliveryState, "delivery_state"))
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # Stable across retries; sent to the network as idempotency key / record key / marker.
    marker: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    remote_id: Mapped[str | None] = mapped_column(String(200), default=None)
    remote_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Attempt(IdMixin, Base):
    __tablename__ = "attempt"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("delivery.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "publish" or "reconcile"
    worker: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[AttemptOutcome] = mapped_column(string_enum(AttemptOutcome, "attempt_outcome"))
    http_status: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class WorkerHeartbeat(Base):
    """A running dispatcher; a stale `seen_at` means the worker is dead."""

    __tablename__ = "worker_heartbeat"

    worker: Mapped[str] = mapped_column(String(100), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    in_flight: Mapped[int] = mapped_column(Integer, default=0)
