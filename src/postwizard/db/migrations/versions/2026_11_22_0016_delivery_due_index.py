"""deliveries: a partial index of the claimable ones in due order, for the claim and the
dispatcher's sleep (each then reads the rows it needs instead of every due delivery)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: a migration keeps the condition it was written with.
CLAIMABLE = sa.text("state IN ('scheduled', 'retry_wait', 'unknown')")


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delivery_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=CLAIMABLE,
            postgresql_where=CLAIMABLE,
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_due")
