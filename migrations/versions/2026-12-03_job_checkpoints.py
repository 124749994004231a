"""jobs: a checkpoint committed with each step, a lease per run, and the announcing event

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("job", sa.Column("checkpoint", sa.Integer(), server_default="0", nullable=False))
    op.add_column("job", sa.Column("event_id", sa.Uuid(), nullable=True))
    op.add_column("job", sa.Column("lease_token", sa.Uuid(), nullable=True))
    op.add_column("job", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_job_unfinished",
        "job",
        ["updated_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_index("ix_job_unfinished", table_name="job", postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.drop_column("job", "lease_expires_at")
    op.drop_column("job", "lease_token")
    op.drop_column("job", "event_id")
    op.drop_column("job", "checkpoint")
