"""Tax tables: the classes a product or variant is sold under, and each class's rate by destination.

A rate is stored in parts per million of the price, as shop.pricing computes with it (19 % is
190000, New York City's 8.875 % is 88750): exact, and no Numeric to convert on the hot path.
A rate with a region wins over its country's rate for that region (shop.pricing.rates_for).
"""

import uuid

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.db import Base, TimestampMixin, new_id


class TaxClass(TimestampMixin, Base):
    __tablename__ = "tax_class"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # Marks the classes every store has (standard, reduced, zero), which their admin API (still to
    # come, with the rows themselves) will refuse to delete.
    builtin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class TaxRate(TimestampMixin, Base):
    __tablename__ = "tax_rate"
    __table_args__ = (
        CheckConstraint("rate_ppm BETWEEN 0 AND 1000000", name="rate_range"),
        # One rate per class and place; a country's own rate has no region, and NULLs must clash too.
        Index(
            "uq_tax_rate_class_place",
            "tax_class_id",
            "country",
            "region",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tax_class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tax_class.id", ondelete="CASCADE"))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    region: Mapped[str | None] = mapped_column(String(6))  # ISO 3166-2, such as ES-CN
    rate_ppm: Mapped[int] = mapped_column(Integer)
