"""Promotion tables: promotions, their codes, and the redemptions that count against their limits.

A promotion is automatic (it applies to every cart whose conditions hold) or code-only (it applies
when the customer enters one of its codes). Its benefit is a percentage off (in parts per million,
as shop.pricing computes: 15 % is 150000), a fixed amount off, or free shipping; it applies to the
whole order, or to the lines whose product, variant or category it names.

Usage limits hold under any concurrency because they are counters the database checks: a checkout
takes a use with one conditional UPDATE (`uses < max_uses`) under the row's lock, and the CHECK
constraints below refuse any write that would exceed a limit, whatever wrote it. The order keeps
which promotions and code it used (its `promotions` snapshot); a cancelled or expired order gives
those uses back in the transaction that cancels it, which the status machine runs once.
"""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.db import Base, TimestampMixin, new_id
from shop.core.groups import GROUP_MAX_LENGTH

BENEFITS = ("percent", "amount", "free_shipping")
CODE_MAX_LENGTH = 40


class Promotion(TimestampMixin, Base):
    __tablename__ = "promotion"
    __table_args__ = (
        CheckConstraint(f"benefit IN {BENEFITS}", name="benefit_kind"),
        CheckConstraint(
            "(benefit = 'percent' AND percent_ppm BETWEEN 1 AND 1000000 AND amount IS NULL)"
            " OR (benefit = 'amount' AND amount > 0 AND percent_ppm IS NULL)"
            " OR (benefit = 'free_shipping' AND amount IS NULL AND percent_ppm IS NULL)",
            name="benefit_value",
        ),
        CheckConstraint("starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at", name="window"),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
        CheckConstraint("max_uses_per_customer IS NULL OR max_uses_per_customer > 0", name="per_customer_positive"),
        CheckConstraint("uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name="uses_within_limit"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    # False: it applies only through one of its codes.
    automatic: Mapped[bool] = mapped_column(Boolean)
    benefit: Mapped[str] = mapped_column(String(20))
    percent_ppm: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    # The lines it discounts: those whose product, variant or category is named; none named, the order.
    product_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default=text("'{}'"), default=list)
    variant_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default=text("'{}'"), default=list)
    category_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default=text("'{}'"), default=list)
    # Conditions: every one given must hold.
    min_subtotal: Mapped[int | None] = mapped_column(BigInteger)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_order_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    customer_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default=text("'{}'"), default=list)
    customer_groups: Mapped[list[str]] = mapped_column(
        ARRAY(String(GROUP_MAX_LENGTH)), server_default=text("'{}'"), default=list
    )
    # Limits (None: unlimited) and the uses taken so far by orders not cancelled.
    max_uses: Mapped[int | None] = mapped_column(Integer)
    max_uses_per_customer: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class PromotionCode(TimestampMixin, Base):
    """A code of a code-only promotion. Codes are stored upper case and matched case-insensitively;
    a code may carry its own limit (bulk-generated codes are usually single-use)."""

    __tablename__ = "promotion_code"
    __table_args__ = (
        CheckConstraint("code = upper(code)", name="code_upper_case"),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
        CheckConstraint("uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name="uses_within_limit"),
        # A promotion's codes in id order: the export's and the list's keyset pages (it also
        # serves the foreign key, so promotion_id needs no index of its own).
        Index("ix_promotion_code_promotion_id_id", "promotion_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotion.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(CODE_MAX_LENGTH), unique=True)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CustomerUse(Base):
    """How many uses of a promotion one customer's orders hold (for `max_uses_per_customer`)."""

    __tablename__ = "promotion_customer_use"
    __table_args__ = (CheckConstraint("uses >= 0", name="uses_not_negative"),)

    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotion.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    uses: Mapped[int] = mapped_column(Integer)
