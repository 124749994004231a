"""payment intents: pending charges with their idempotency keys, and refunds recorded before the provider is called

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYMENT_STATUSES_BEFORE = ("succeeded", "declined", "failed", "refunded")
PAYMENT_STATUSES = ("pending", *PAYMENT_STATUSES_BEFORE)
ACTOR_ROLES = ("customer", "staff", "admin", "system")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_payment_payment_status"), "payment", type_="check")
    op.create_check_constraint("payment_status", "payment", _in("status", PAYMENT_STATUSES))
    op.add_column("payment", sa.Column("idempotency_key", sa.String(length=100), nullable=True))
    op.add_column("payment", sa.Column("settle_after", sa.DateTime(timezone=True), nullable=True))
    op.create_unique_constraint(op.f("uq_payment_idempotency_key"), "payment", ["idempotency_key"])
    op.create_index(
        "uq_payment_order_id_pending",
        "payment",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_payment_settle_after_pending", "payment", ["settle_after"], postgresql_where=sa.text("status = 'pending'")
    )
    op.create_table(
        "refund",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "succeeded", name="refund_status", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("refunds_order", sa.Boolean(), nullable=False),
        sa.Column(
            "actor_role",
            sa.Enum(*ACTOR_ROLES, name="actor_role", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("settle_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payment.id"], name=op.f("fk_refund_payment_id_payment"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["customer_order.id"], name=op.f("fk_refund_order_id_customer_order"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_refund_payment_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_refund_idempotency_key")),
    )
    op.create_index(op.f("ix_refund_order_id"), "refund", ["order_id"], unique=False)
    op.create_index(
        "ix_refund_settle_after_pending", "refund", ["settle_after"], postgresql_where=sa.text("status = 'pending'")
    )


def downgrade() -> None:
    op.drop_index("ix_refund_settle_after_pending", table_name="refund", postgresql_where=sa.text("status = 'pending'"))
    op.drop_index(op.f("ix_refund_order_id"), table_name="refund")
    op.drop_table("refund")
    op.drop_index(
        "ix_payment_settle_after_pending", table_name="payment", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_index("uq_payment_order_id_pending", table_name="payment", postgresql_where=sa.text("status = 'pending'"))
    op.drop_constraint(op.f("uq_payment_idempotency_key"), "payment", type_="unique")
    op.drop_column("payment", "settle_after")
    op.drop_column("payment", "idempotency_key")
    # A pending attempt has no status the old schema knows: it never reached the provider's answer.
    op.execute("UPDATE payment SET status = 'failed' WHERE status = 'pending'")
    op.drop_constraint(op.f("ck_payment_payment_status"), "payment", type_="check")
    op.create_check_constraint("payment_status", "payment", _in("status", PAYMENT_STATUSES_BEFORE))
