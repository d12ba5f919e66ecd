"""metric jobs: one partial index per claim (due waiting jobs, claims whose lease ran out)
instead of (state, due_at), and no index of its own on account_id

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("state = 'waiting'")
CLAIMED = sa.text("state = 'claimed'")


def upgrade() -> None:
    with op.batch_alter_table("metric_job", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_job_account_id")
        batch_op.drop_index("ix_metric_job_state_due_at")
        batch_op.create_index(
            "ix_metric_job_waiting_due_at",
            ["due_at"],
            unique=False,
            sqlite_where=WAITING,
            postgresql_where=WAITING,
        )
        batch_op.create_index(
            "ix_metric_job_claimed_lease_expires_at",
            ["lease_expires_at"],
            unique=False,
            sqlite_where=CLAIMED,
            postgresql_where=CLAIMED,
        )


def downgrade() -> None:
    with op.batch_alter_table("metric_job", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_job_claimed_lease_expires_at")
        batch_op.drop_index("ix_metric_job_waiting_due_at")
        batch_op.create_index("ix_metric_job_state_due_at", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_metric_job_account_id", ["account_id"], unique=False)
