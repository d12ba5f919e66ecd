"""notifications: in-app feed, preferences, webhook endpoints, outbox of emails and webhook calls

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import postwizard.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLEXIBLE_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
MOMENT = postwizard.db.base.UTCDateTime(timezone=True)


def _enum(name: str, *values: str, length: int = 32) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("events", FLEXIBLE_JSON, nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_webhook_endpoint_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    op.create_index(
        op.f("ix_webhook_endpoint_workspace_id"), "webhook_endpoint", ["workspace_id"], unique=False
    )
    op.create_table(
        "notification",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("data", FLEXIBLE_JSON, nullable=False),
        sa.Column("read_at", MOMENT, nullable=True),
        sa.Column("dedup_key", sa.String(length=300), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_notification_user_id_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_notification_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notification_dedup_key")),
    )
    op.create_index(
        "ix_notification_user_id_read_at", "notification", ["user_id", "read_at"], unique=False
    )
    op.create_index(
        op.f("ix_notification_workspace_id"), "notification", ["workspace_id"], unique=False
    )
    op.create_table(
        "notification_preference",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column(
            "channel", _enum("notification_channel", "in_app", "email", length=16), nullable=False
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_notification_preference_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "event_type", "channel", name=op.f("pk_notification_preference")
        ),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("kind", _enum("notification_outbox_kind", "email", "webhook"), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", FLEXIBLE_JSON, nullable=False),
        sa.Column("dedup_key", sa.String(length=300), nullable=False),
        sa.Column(
            "state",
            _enum("notification_outbox_state", "pending", "claimed", "delivered", "failed"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", MOMENT, nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", MOMENT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("delivered_at", MOMENT, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoint.id"],
            name=op.f("fk_notification_outbox_endpoint_id_webhook_endpoint"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_notification_outbox_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notification_outbox_dedup_key")),
    )
    op.create_index(
        op.f("ix_notification_outbox_endpoint_id"),
        "notification_outbox",
        ["endpoint_id"],
        unique=False,
    )
    op.create_index(
        "ix_notification_outbox_state_next_attempt_at",
        "notification_outbox",
        ["state", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_notification_outbox_workspace_id"),
        "notification_outbox",
        ["workspace_id"],
        unique=False,
    )
    op.create_table(
        "notification_attempt",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("attempted_at", MOMENT, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notification_outbox.id"],
            name=op.f("fk_notification_attempt_message_id_notification_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempt")),
    )
    op.create_index(
        op.f("ix_notification_attempt_message_id"),
        "notification_attempt",
        ["message_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_attempt_message_id"), table_name="notification_attempt")
    op.drop_table("notification_attempt")
    op.drop_index(op.f("ix_notification_outbox_workspace_id"), table_name="notification_outbox")
    op.drop_index("ix_notification_outbox_state_next_attempt_at", table_name="notification_outbox")
    op.drop_index(op.f("ix_notification_outbox_endpoint_id"), table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_table("notification_preference")
    op.drop_index(op.f("ix_notification_workspace_id"), table_name="notification")
    op.drop_index("ix_notification_user_id_read_at", table_name="notification")
    op.drop_table("notification")
    op.drop_index(op.f("ix_webhook_endpoint_workspace_id"), table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")
