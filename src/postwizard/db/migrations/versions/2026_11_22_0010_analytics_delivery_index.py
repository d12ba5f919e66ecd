"""analytics: published deliveries of a workspace by time

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22

The dashboard's aggregates start from "the workspace's deliveries published in a period";
without this index that is every delivery of the workspace, filtered.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delivery_workspace_id_published_at", ["workspace_id", "published_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_workspace_id_published_at")
