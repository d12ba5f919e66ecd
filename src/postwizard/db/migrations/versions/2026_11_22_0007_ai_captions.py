"""AI captions: per-workspace caption settings and the history of generations

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import postwizard.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLEXIBLE_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "caption_settings",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(
                "instance",
                "offline",
                "openai_compatible",
                name="caption_provider",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("api_key_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("accepts_images", sa.Boolean(), nullable=False),
        sa.Column("voice", FLEXIBLE_JSON, nullable=False),
        sa.Column("updated_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_caption_settings_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_caption_settings")),
    )
    op.create_table(
        "caption_generation",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column(
            "action",
            sa.Enum(
                "generate",
                "rewrite",
                "adapt",
                "hashtags",
                "translate",
                "alt_text",
                name="caption_action",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("request", FLEXIBLE_JSON, nullable=False),
        sa.Column("variants", FLEXIBLE_JSON, nullable=False),
        sa.Column("kept_index", sa.SmallInteger(), nullable=True),
        sa.Column("edited_text", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user.id"],
            name=op.f("fk_caption_generation_author_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_caption_generation_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caption_generation")),
    )
    with op.batch_alter_table("caption_generation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_caption_generation_workspace_id_id", ["workspace_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("caption_generation", schema=None) as batch_op:
        batch_op.drop_index("ix_caption_generation_workspace_id_id")
    op.drop_table("caption_generation")
    op.drop_table("caption_settings")
