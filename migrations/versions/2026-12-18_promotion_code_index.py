"""promotion code index: a promotion's codes in id order

The CSV export and the codes list read a promotion's codes a keyset page at a time
(`promotion_id = ? AND id > ? ORDER BY id`); an index on (promotion_id, id) serves them without a
sort, and serves the foreign key's lookups too, so the index on promotion_id alone goes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-18
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_promotion_code_promotion_id_id", "promotion_code", ["promotion_id", "id"], unique=False)
    op.drop_index(op.f("ix_promotion_code_promotion_id"), table_name="promotion_code")


def downgrade() -> None:
    op.create_index(op.f("ix_promotion_code_promotion_id"), "promotion_code", ["promotion_id"], unique=False)
    op.drop_index("ix_promotion_code_promotion_id_id", table_name="promotion_code")
