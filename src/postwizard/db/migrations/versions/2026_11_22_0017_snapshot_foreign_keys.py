"""post metric snapshots: no foreign keys on the copied workspace_id and account_id, and no
index on account_id

A snapshot belongs to its delivery (foreign key with ON DELETE CASCADE, kept); its workspace
and account ids are copies for the dashboards' queries, and deleting a workspace or an account
already deletes its deliveries and so their snapshots. The two extra foreign keys cost every
inserted snapshot two lookups, and the account index (there only for the cascade) one more
index entry: ~10 µs of the server's ~45 per ingested row (`make bench` analytics).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("post_metric_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_post_metric_snapshot_account_id")
        batch_op.drop_constraint(
            "fk_post_metric_snapshot_account_id_social_account", type_="foreignkey"
        )
        batch_op.drop_constraint(
            "fk_post_metric_snapshot_workspace_id_workspace", type_="foreignkey"
        )


def downgrade() -> None:
    with op.batch_alter_table("post_metric_snapshot", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_post_metric_snapshot_workspace_id_workspace",
            "workspace",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            "fk_post_metric_snapshot_account_id_social_account",
            "social_account",
            ["account_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index("ix_post_metric_snapshot_account_id", ["account_id"], unique=False)
