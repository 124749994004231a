"""pricing tables: shipping zones and methods, promotions and codes, the price breakdown on carts
and orders, a tax class on every variant, customer groups

The flat shipping setting becomes the default zone ("Everywhere") with one method ("Standard
shipping") charging what SHOP_SHIPPING_FLAT_AMOUNT charged when this migration runs (0 unset).
The built-in tax classes (standard, reduced, zero) are created; existing variants are standard.
Existing orders keep their amounts: no discount, no tax, each line's total its price * quantity.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-17
"""

import os
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


BUILTIN_TAX_CLASSES = (("standard", "Standard rate"), ("reduced", "Reduced rate"), ("zero", "Zero rate"))
OLD_TOTALS = "subtotal_amount >= 0 AND shipping_amount >= 0 AND total_amount = subtotal_amount + shipping_amount"
TOTALS = (
    "subtotal_amount >= 0 AND discount_amount BETWEEN 0 AND subtotal_amount AND shipping_amount >= 0"
    " AND tax_amount >= 0 AND total_amount = subtotal_amount - discount_amount + shipping_amount"
    " + CASE WHEN prices_include_tax THEN 0 ELSE tax_amount END"
)


def _seed() -> None:
    tax_class = sa.table(
        "tax_class",
        sa.column("id", sa.Uuid),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("builtin", sa.Boolean),
    )
    op.bulk_insert(
        tax_class,
        [{"id": uuid.uuid4(), "code": code, "name": name, "builtin": True} for code, name in BUILTIN_TAX_CLASSES],
    )
    zone_id = uuid.uuid4()
    zone = sa.table(
        "shipping_zone", sa.column("id", sa.Uuid), sa.column("name", sa.String), sa.column("is_default", sa.Boolean)
    )
    op.bulk_insert(zone, [{"id": zone_id, "name": "Everywhere", "is_default": True}])
    method = sa.table(
        "shipping_method",
        sa.column("id", sa.Uuid),
        sa.column("zone_id", sa.Uuid),
        sa.column("name", sa.String),
        sa.column("bands", postgresql.JSONB),
    )
    flat = int(os.environ.get("SHOP_SHIPPING_FLAT_AMOUNT") or 0)
    op.bulk_insert(
        method,
        [
            {
                "id": uuid.uuid4(),
                "zone_id": zone_id,
                "name": "Standard shipping",
                "bands": [{"from_subtotal": 0, "amount": flat}],
            }
        ],
    )


def upgrade() -> None:
    op.create_table(
        "promotion",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("benefit", sa.String(length=20), nullable=False),
        sa.Column("percent_ppm", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("product_ids", postgresql.ARRAY(sa.Uuid()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("variant_ids", postgresql.ARRAY(sa.Uuid()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("category_ids", postgresql.ARRAY(sa.Uuid()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("min_subtotal", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_order_only", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("customer_ids", postgresql.ARRAY(sa.Uuid()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column(
            "customer_groups", postgresql.ARRAY(sa.String(length=40)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("max_uses_per_customer", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(benefit = 'percent' AND percent_ppm BETWEEN 1 AND 1000000 AND amount IS NULL)"
            " OR (benefit = 'amount' AND amount > 0 AND percent_ppm IS NULL)"
            " OR (benefit = 'free_shipping' AND amount IS NULL AND percent_ppm IS NULL)",
            name=op.f("ck_promotion_benefit_value"),
        ),
        sa.CheckConstraint("benefit IN ('percent', 'amount', 'free_shipping')", name=op.f("ck_promotion_benefit_kind")),
        sa.CheckConstraint("max_uses IS NULL OR max_uses > 0", name=op.f("ck_promotion_max_uses_positive")),
        sa.CheckConstraint(
            "max_uses_per_customer IS NULL OR max_uses_per_customer > 0",
            name=op.f("ck_promotion_per_customer_positive"),
        ),
        sa.CheckConstraint(
            "starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at", name=op.f("ck_promotion_window")
        ),
        sa.CheckConstraint(
            "uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name=op.f("ck_promotion_uses_within_limit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion")),
    )
    op.create_table(
        "shipping_zone",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_zone")),
    )
    op.create_index(
        "uq_shipping_zone_default", "shipping_zone", ["is_default"], unique=True, postgresql_where=sa.text("is_default")
    )
    op.create_table(
        "promotion_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("promotion_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("code = upper(code)", name=op.f("ck_promotion_code_code_upper_case")),
        sa.CheckConstraint("max_uses IS NULL OR max_uses > 0", name=op.f("ck_promotion_code_max_uses_positive")),
        sa.CheckConstraint(
            "uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name=op.f("ck_promotion_code_uses_within_limit")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_promotion_code_promotion_id_promotion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_code")),
        sa.UniqueConstraint("code", name=op.f("uq_promotion_code_code")),
    )
    op.create_index(op.f("ix_promotion_code_promotion_id"), "promotion_code", ["promotion_id"], unique=False)
    op.create_table(
        "promotion_customer_use",
        sa.Column("promotion_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.CheckConstraint("uses >= 0", name=op.f("ck_promotion_customer_use_uses_not_negative")),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotion.id"],
            name=op.f("fk_promotion_customer_use_promotion_id_promotion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("promotion_id", "customer_id", name=op.f("pk_promotion_customer_use")),
    )
    op.create_table(
        "shipping_method",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("zone_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("bands", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("free_from", sa.BigInteger(), nullable=True),
        sa.Column("tax_class", sa.String(length=40), server_default="standard", nullable=False),
        sa.Column("min_delivery_days", sa.SmallInteger(), nullable=True),
        sa.Column("max_delivery_days", sa.SmallInteger(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "free_from IS NULL OR free_from >= 0", name=op.f("ck_shipping_method_free_from_not_negative")
        ),
        sa.CheckConstraint(
            "min_delivery_days IS NULL OR max_delivery_days IS NULL OR min_delivery_days <= max_delivery_days",
            name=op.f("ck_shipping_method_delivery_days_order"),
        ),
        sa.ForeignKeyConstraint(
            ["tax_class"],
            ["tax_class.code"],
            name=op.f("fk_shipping_method_tax_class_tax_class"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["shipping_zone.id"], name=op.f("fk_shipping_method_zone_id_shipping_zone"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_method")),
    )
    op.create_index(op.f("ix_shipping_method_zone_id"), "shipping_method", ["zone_id"], unique=False)
    op.create_table(
        "shipping_zone_country",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("zone_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["shipping_zone.id"],
            name=op.f("fk_shipping_zone_country_zone_id_shipping_zone"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_shipping_zone_country")),
    )
    op.create_index(op.f("ix_shipping_zone_country_zone_id"), "shipping_zone_country", ["zone_id"], unique=False)
    op.add_column("cart", sa.Column("shipping_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("cart", sa.Column("shipping_method_id", sa.Uuid(), nullable=True))
    op.add_column("cart", sa.Column("coupon_code", sa.String(length=40), nullable=True))
    op.create_foreign_key(
        op.f("fk_cart_shipping_method_id_shipping_method"),
        "cart",
        "shipping_method",
        ["shipping_method_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column(
        "customer_order", sa.Column("prices_include_tax", sa.Boolean(), server_default=sa.text("true"), nullable=False)
    )
    op.add_column("customer_order", sa.Column("discount_amount", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column(
        "customer_order", sa.Column("shipping_discount_amount", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "customer_order", sa.Column("shipping_tax_rate_ppm", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "customer_order", sa.Column("shipping_tax_amount", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.add_column("customer_order", sa.Column("tax_amount", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column(
        "customer_order",
        sa.Column(
            "taxes", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
    )
    op.add_column(
        "customer_order",
        sa.Column(
            "promotions", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
    )
    op.add_column("customer_order", sa.Column("coupon_code", sa.String(length=40), nullable=True))
    op.add_column("customer_order", sa.Column("shipping_method_id", sa.Uuid(), nullable=True))
    op.add_column("customer_order", sa.Column("shipping_method_name", sa.String(length=100), nullable=True))
    op.create_foreign_key(
        op.f("fk_customer_order_shipping_method_id_shipping_method"),
        "customer_order",
        "shipping_method",
        ["shipping_method_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column("order_line", sa.Column("discount_amount", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column(
        "order_line",
        sa.Column(
            "discounts", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
    )
    op.add_column("order_line", sa.Column("tax_class", sa.String(length=40), server_default="standard", nullable=False))
    op.add_column("order_line", sa.Column("tax_rate_ppm", sa.Integer(), server_default="0", nullable=False))
    op.add_column("order_line", sa.Column("tax_amount", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("order_line", sa.Column("total_amount", sa.BigInteger(), nullable=True))
    op.execute("UPDATE order_line SET total_amount = unit_price_amount * quantity")
    op.alter_column("order_line", "total_amount", nullable=False)
    op.create_check_constraint(
        "discount_range", "order_line", "discount_amount BETWEEN 0 AND unit_price_amount * quantity"
    )
    op.drop_constraint(op.f("ck_customer_order_totals"), "customer_order", type_="check")
    op.create_check_constraint("totals", "customer_order", TOTALS)
    op.add_column(
        "user_account",
        sa.Column("groups", postgresql.ARRAY(sa.String(length=40)), server_default=sa.text("'{}'"), nullable=False),
    )
    _seed()
    op.add_column("variant", sa.Column("tax_class", sa.String(length=40), server_default="standard", nullable=False))
    op.create_foreign_key(
        op.f("fk_variant_tax_class_tax_class"),
        "variant",
        "tax_class",
        ["tax_class"],
        ["code"],
        onupdate="CASCADE",
        ondelete="RESTRICT",
    )
    # Deleting a tax class or a shipping method looks up what refers to it.
    op.create_index(op.f("ix_variant_tax_class"), "variant", ["tax_class"])
    op.create_index(op.f("ix_shipping_method_tax_class"), "shipping_method", ["tax_class"])
    op.create_index(
        "ix_cart_shipping_method_id",
        "cart",
        ["shipping_method_id"],
        postgresql_where=sa.text("shipping_method_id IS NOT NULL"),
    )
    op.create_index(
        "ix_customer_order_shipping_method_id",
        "customer_order",
        ["shipping_method_id"],
        postgresql_where=sa.text("shipping_method_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_customer_order_shipping_method_id", table_name="customer_order")
    op.drop_index("ix_cart_shipping_method_id", table_name="cart")
    op.drop_index(op.f("ix_shipping_method_tax_class"), table_name="shipping_method")
    op.drop_index(op.f("ix_variant_tax_class"), table_name="variant")
    op.drop_constraint(op.f("ck_customer_order_totals"), "customer_order", type_="check")
    op.create_check_constraint("totals", "customer_order", OLD_TOTALS)
    op.drop_constraint(op.f("ck_order_line_discount_range"), "order_line", type_="check")
    op.drop_constraint(op.f("fk_variant_tax_class_tax_class"), "variant", type_="foreignkey")
    op.drop_column("variant", "tax_class")
    op.drop_column("user_account", "groups")
    op.drop_column("order_line", "total_amount")
    op.drop_column("order_line", "tax_amount")
    op.drop_column("order_line", "tax_rate_ppm")
    op.drop_column("order_line", "tax_class")
    op.drop_column("order_line", "discounts")
    op.drop_column("order_line", "discount_amount")
    op.drop_constraint(
        op.f("fk_customer_order_shipping_method_id_shipping_method"), "customer_order", type_="foreignkey"
    )
    op.drop_column("customer_order", "shipping_method_name")
    op.drop_column("customer_order", "shipping_method_id")
    op.drop_column("customer_order", "coupon_code")
    op.drop_column("customer_order", "promotions")
    op.drop_column("customer_order", "taxes")
    op.drop_column("customer_order", "tax_amount")
    op.drop_column("customer_order", "shipping_tax_amount")
    op.drop_column("customer_order", "shipping_tax_rate_ppm")
    op.drop_column("customer_order", "shipping_discount_amount")
    op.drop_column("customer_order", "discount_amount")
    op.drop_column("customer_order", "prices_include_tax")
    op.drop_constraint(op.f("fk_cart_shipping_method_id_shipping_method"), "cart", type_="foreignkey")
    op.drop_column("cart", "coupon_code")
    op.drop_column("cart", "shipping_method_id")
    op.drop_column("cart", "shipping_address")
    op.drop_index(op.f("ix_shipping_zone_country_zone_id"), table_name="shipping_zone_country")
    op.drop_table("shipping_zone_country")
    op.drop_index(op.f("ix_shipping_method_zone_id"), table_name="shipping_method")
    op.drop_table("shipping_method")
    op.drop_table("promotion_customer_use")
    op.drop_index(op.f("ix_promotion_code_promotion_id"), table_name="promotion_code")
    op.drop_table("promotion_code")
    op.drop_index("uq_shipping_zone_default", table_name="shipping_zone", postgresql_where=sa.text("is_default"))
    op.drop_table("shipping_zone")
    op.drop_table("promotion")
    op.execute("DELETE FROM tax_class WHERE builtin")
