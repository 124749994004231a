"""Shipping tables: zones, the countries each zone holds, and the methods offered in a zone.

A country belongs to one zone at most (the country is the primary key of its row), so where an
address goes decides its zone without ambiguity. One zone may be the default: it serves every
country no other zone names (the "rest of the world").

A method's price is stored as shop.pricing reads it: bands of the order subtotal (after its
discounts), each `{"from_subtotal", "amount"}` in minor units, the first from 0, and an optional
free-shipping threshold.
"""

import uuid
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

import shop.taxes.models  # noqa: F401  (the tax_class table a method refers to)
from shop.core.db import Base, TimestampMixin, new_id


class ShippingZone(TimestampMixin, Base):
    __tablename__ = "shipping_zone"
    __table_args__ = (
        # At most one zone serves the countries no zone names.
        Index("uq_shipping_zone_default", "is_default", unique=True, postgresql_where=text("is_default")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class ShippingZoneCountry(Base):
    __tablename__ = "shipping_zone_country"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)  # ISO 3166-1 alpha-2, upper case
    zone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shipping_zone.id", ondelete="CASCADE"), index=True)


class ShippingMethod(TimestampMixin, Base):
    __tablename__ = "shipping_method"
    __table_args__ = (
        CheckConstraint("free_from IS NULL OR free_from >= 0", name="free_from_not_negative"),
        CheckConstraint(
            "min_delivery_days IS NULL OR max_delivery_days IS NULL OR min_delivery_days <= max_delivery_days",
            name="delivery_days_order",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    zone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shipping_zone.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    bands: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    free_from: Mapped[int | None] = mapped_column(BigInteger)
    tax_class: Mapped[str] = mapped_column(
        ForeignKey("tax_class.code", ondelete="RESTRICT", onupdate="CASCADE"),
        default="standard",
        server_default="standard",
        index=True,  # deleting a tax class checks that nothing uses it
    )
    min_delivery_days: Mapped[int | None] = mapped_column(SmallInteger)
    max_delivery_days: Mapped[int | None] = mapped_column(SmallInteger)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
