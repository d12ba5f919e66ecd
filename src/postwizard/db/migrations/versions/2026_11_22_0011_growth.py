"""Growth: goals, challenges and streak freeze days

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import postwizard.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLEXIBLE_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "growth_goal",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column(
            "metric",
            sa.Enum(
                "followers",
                "engagement_rate",
                "posts_per_week",
                name="goal_metric",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("starts_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["social_account.id"],
            name=op.f("fk_growth_goal_account_id_social_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_growth_goal_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_goal")),
    )
    with op.batch_alter_table("growth_goal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_growth_goal_workspace_id"), ["workspace_id"], unique=False
        )
    op.create_table(
        "growth_challenge",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("template", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("rule", FLEXIBLE_JSON, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("starts_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_growth_challenge_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_challenge")),
    )
    with op.batch_alter_table("growth_challenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_growth_challenge_workspace_id"), ["workspace_id"], unique=False
        )
    op.create_table(
        "growth_streak_freeze",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_growth_streak_freeze_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "day", name=op.f("pk_growth_streak_freeze")),
    )


def downgrade() -> None:
    op.drop_table("growth_streak_freeze")
    with op.batch_alter_table("growth_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_growth_challenge_workspace_id"))
    op.drop_table("growth_challenge")
    with op.batch_alter_table("growth_goal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_growth_goal_workspace_id"))
    op.drop_table("growth_goal")
