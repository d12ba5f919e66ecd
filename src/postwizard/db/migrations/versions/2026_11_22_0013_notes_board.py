"""notes: the ideas board (columns per workspace, Markdown notes linked to posts)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import postwizard.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLEXIBLE_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "note_column",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "idea",
                "drafting",
                "scheduled",
                "done",
                name="note_column_stage",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_note_column_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_column")),
        sa.UniqueConstraint("workspace_id", "stage", name="uq_note_column_workspace_id_stage"),
    )
    op.create_table(
        "note",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("column_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", FLEXIBLE_JSON, nullable=False),
        sa.Column("links", FLEXIBLE_JSON, nullable=False),
        sa.Column("media_ids", FLEXIBLE_JSON, nullable=False),
        sa.Column("extra", FLEXIBLE_JSON, nullable=False),
        sa.Column("post_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", postwizard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user.id"], name=op.f("fk_note_author_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["column_id"],
            ["note_column.id"],
            name=op.f("fk_note_column_id_note_column"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["post.id"], name=op.f("fk_note_post_id_post"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_note_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note")),
    )
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.create_index("ix_note_column_id_position", ["column_id", "position"], unique=False)
        batch_op.create_index(batch_op.f("ix_note_post_id"), ["post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_note_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_note_post_id"))
        batch_op.drop_index("ix_note_column_id_position")

    op.drop_table("note")
    op.drop_table("note_column")
