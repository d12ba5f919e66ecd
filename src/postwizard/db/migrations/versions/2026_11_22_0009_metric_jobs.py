"""metric jobs: what to collect when (and a job for every delivery already published)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import postwizard.db.base
from postwizard.ids import uuid7

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Networks whose adapters give no numbers about posts (provides_metrics = False).
NO_METRICS_NETWORKS = ("telegram", "discord")
BACKFILL_CHUNK = 1000


def upgrade() -> None:
    op.create_table(
        "metric_job",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "post",
                "account",
                name="metric_job_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=True),
        sa.Column("post_id", sa.Uuid(), nullable=True),
        sa.Column("remote_id", sa.String(length=200), nullable=True),
        sa.Column("anchor_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "waiting",
                "claimed",
                "done",
                name="metric_job_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("due_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("collected_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "refresh_requested_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("thin_from", postwizard.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["social_account.id"],
            name=op.f("fk_metric_job_account_id_social_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["delivery.id"],
            name=op.f("fk_metric_job_delivery_id_delivery"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["post.id"], name=op.f("fk_metric_job_post_id_post"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_metric_job_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_job")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_metric_job_delivery_id")),
    )
    with op.batch_alter_table("metric_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_metric_job_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_metric_job_post_id"), ["post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_metric_job_thin_from"), ["thin_from"], unique=False)
        batch_op.create_index("ix_metric_job_state_due_at", ["state", "due_at"], unique=False)
        batch_op.create_index(
            "uq_metric_job_account_stats",
            ["account_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'account'"),
            postgresql_where=sa.text("kind = 'account'"),
        )
    _backfill_published_deliveries()


def _backfill_published_deliveries() -> None:
    """Deliveries published before collection existed are measured once now; the collector
    then continues each on the schedule (or ends it, for posts older than the schedule)."""
    bind = op.get_bind()
    delivery = sa.table(
        "delivery",
        sa.column("id", sa.Uuid()),
        sa.column("workspace_id", sa.Uuid()),
        sa.column("account_id", sa.Uuid()),
        sa.column("post_id", sa.Uuid()),
        sa.column("remote_id", sa.String()),
        sa.column("state", sa.String()),
        sa.column("published_at", postwizard.db.base.UTCDateTime(timezone=True)),
    )
    account = sa.table("social_account", sa.column("id", sa.Uuid()), sa.column("network"))
    moment = postwizard.db.base.UTCDateTime(timezone=True)
    job = sa.table(
        "metric_job",
        *(sa.column(name, sa.Uuid()) for name in ("id", "workspace_id", "account_id")),
        *(sa.column(name, sa.Uuid()) for name in ("delivery_id", "post_id")),
        *(sa.column(name, moment) for name in ("created_at", "anchor_at", "due_at")),
        *(sa.column(name, sa.String()) for name in ("kind", "remote_id", "state")),
        *(sa.column(name, sa.Integer()) for name in ("step", "failures")),
    )
    now = datetime.now(UTC)
    rows = bind.execute(
        sa.select(
            delivery.c.id,
            delivery.c.workspace_id,
            delivery.c.account_id,
            delivery.c.post_id,
            delivery.c.remote_id,
            delivery.c.published_at,
        )
        .join(account, account.c.id == delivery.c.account_id)
        .where(
            delivery.c.state == "published",
            delivery.c.remote_id.is_not(None),
            account.c.network.not_in(NO_METRICS_NETWORKS),
        )
    ).all()
    for start in range(0, len(rows), BACKFILL_CHUNK):
        values = [
            {
                "id": uuid7(),
                "created_at": now,
                "workspace_id": row.workspace_id,
                "kind": "post",
                "account_id": row.account_id,
                "delivery_id": row.id,
                "post_id": row.post_id,
                "remote_id": row.remote_id,
                "anchor_at": row.published_at or now,
                "step": 0,
                "state": "waiting",
                "due_at": now,
                "failures": 0,
            }
            for row in rows[start : start + BACKFILL_CHUNK]
        ]
        bind.execute(job.insert(), values)


def downgrade() -> None:
    with op.batch_alter_table("metric_job", schema=None) as batch_op:
        batch_op.drop_index("uq_metric_job_account_stats")
        batch_op.drop_index("ix_metric_job_state_due_at")
        batch_op.drop_index(batch_op.f("ix_metric_job_thin_from"))
        batch_op.drop_index(batch_op.f("ix_metric_job_post_id"))
        batch_op.drop_index(batch_op.f("ix_metric_job_account_id"))

    op.drop_table("metric_job")
