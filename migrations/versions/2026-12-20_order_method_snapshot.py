"""order method snapshot: an order's shipping method is a copy, not a foreign key

An order keeps its method's id and name as they were at checkout, like its prices. The foreign
key made every checkout lock the method's row (FOR KEY SHARE) until it committed: one row that all
concurrent checkouts shared, and that a method's deletion could deadlock on with them. Deleting a
method no longer rewrites past orders (it set their id to NULL); its index served only that.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-20
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_customer_order_shipping_method_id", table_name="customer_order")
    op.drop_constraint(
        op.f("fk_customer_order_shipping_method_id_shipping_method"), "customer_order", type_="foreignkey"
    )


def downgrade() -> None:
    # Orders whose method is gone keep no dangling id under the restored key.
    op.execute(
        "UPDATE customer_order SET shipping_method_id = NULL WHERE shipping_method_id IS NOT NULL"
        " AND shipping_method_id NOT IN (SELECT id FROM shipping_method)"
    )
    op.create_foreign_key(
        op.f("fk_customer_order_shipping_method_id_shipping_method"),
        "customer_order",
        "shipping_method",
        ["shipping_method_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_customer_order_shipping_method_id",
        "customer_order",
        ["shipping_method_id"],
        unique=False,
        postgresql_where=sa.text("shipping_method_id IS NOT NULL"),
    )
