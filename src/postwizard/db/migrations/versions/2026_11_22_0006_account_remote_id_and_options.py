"""account remote id and options

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("social_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_id", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column(
                "options",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("social_account", schema=None) as batch_op:
        batch_op.drop_column("options")
        batch_op.drop_column("remote_id")
