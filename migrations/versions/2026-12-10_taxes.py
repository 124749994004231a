"""taxes: tax classes and their rates by country and optional region

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tax_class",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("builtin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_class")),
        sa.UniqueConstraint("code", name=op.f("uq_tax_class_code")),
    )
    op.create_table(
        "tax_rate",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tax_class_id", sa.Uuid(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("rate_ppm", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("rate_ppm BETWEEN 0 AND 1000000", name=op.f("ck_tax_rate_rate_range")),
        sa.ForeignKeyConstraint(
            ["tax_class_id"], ["tax_class.id"], name=op.f("fk_tax_rate_tax_class_id_tax_class"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rate")),
    )
    op.create_index(
        "uq_tax_rate_class_place",
        "tax_rate",
        ["tax_class_id", "country", "region"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )


def downgrade() -> None:
    op.drop_index("uq_tax_rate_class_place", table_name="tax_rate", postgresql_nulls_not_distinct=True)
    op.drop_table("tax_rate")
    op.drop_table("tax_class")
