"""push: browser (Web Push) and app (FCM) subscriptions, the instance's VAPID key, push channels

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import postwizard.db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = postwizard.db.base.UTCDateTime(timezone=True)
OLD_CHANNELS = ("in_app", "email")
NEW_CHANNELS = (*OLD_CHANNELS, "web_push", "fcm")
OLD_KINDS = ("email", "webhook")
NEW_KINDS = (*OLD_KINDS, "web_push", "fcm")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _set_choices(table: str, column: str, enum_name: str, values: Sequence[str]) -> None:
    """Replace a string enum's CHECK constraint (SQLite rebuilds the table in batch mode)."""
    name = f"ck_{table}_{enum_name}"
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(name), type_="check")
        batch_op.create_check_constraint(op.f(name), sa.text(_in(column, values)))


def upgrade() -> None:
    op.create_table(
        "instance_key",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instance_key")),
    )
    op.create_table(
        "push_subscription",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "web_push",
                "fcm",
                name="push_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=True),
        sa.Column("auth", sa.String(length=100), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("last_success_at", MOMENT, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_push_subscription_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscription")),
        sa.UniqueConstraint("target", name=op.f("uq_push_subscription_target")),
    )
    op.create_index(
        op.f("ix_push_subscription_user_id"), "push_subscription", ["user_id"], unique=False
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subscription_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_notification_outbox_subscription_id"), ["subscription_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notification_outbox_subscription_id_push_subscription"),
            "push_subscription",
            ["subscription_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _set_choices("notification_outbox", "kind", "notification_outbox_kind", NEW_KINDS)
    _set_choices("notification_preference", "channel", "notification_channel", NEW_CHANNELS)


def downgrade() -> None:
    preference = sa.table("notification_preference", sa.column("channel", sa.String()))
    outbox = sa.table("notification_outbox", sa.column("kind", sa.String()))
    op.execute(preference.delete().where(preference.c.channel.not_in(OLD_CHANNELS)))
    op.execute(outbox.delete().where(outbox.c.kind.not_in(OLD_KINDS)))
    _set_choices("notification_preference", "channel", "notification_channel", OLD_CHANNELS)
    _set_choices("notification_outbox", "kind", "notification_outbox_kind", OLD_KINDS)
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_notification_outbox_subscription_id_push_subscription"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_notification_outbox_subscription_id"))
        batch_op.drop_column("subscription_id")
    op.drop_index(op.f("ix_push_subscription_user_id"), table_name="push_subscription")
    op.drop_table("push_subscription")
    op.drop_table("instance_key")
