"""Orders tables: carts, orders with their lines and status history, payments, webhook events.

An order line is a snapshot (SKU, name, unit price at checkout): later catalog changes never
alter what was bought. Foreign keys point at users and variants; no relationship crosses domains.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    SmallInteger,
    String,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

import shop.shipping.models  # noqa: F401  (the shipping_method table a cart refers to)
from shop.core.db import Base, TimestampMixin, new_id
from shop.orders.schemas import Actor, OrderStatus, PaymentStatus, RefundStatus

# Human-readable order numbers (SO-000123): a sequence never hands out one number twice, even
# to concurrent checkouts, and costs no lock.
ORDER_NUMBER_SEQUENCE = Sequence("order_number_seq", metadata=Base.metadata)


def _enum(enum: type[OrderStatus] | type[Actor] | type[PaymentStatus] | type[RefundStatus], name: str) -> Enum:
    return Enum(enum, name=name, native_enum=False, create_constraint=True, length=20)


class Cart(TimestampMixin, Base):
    __tablename__ = "cart"
    __table_args__ = (
        # Deleting a shipping method sets it to NULL here: an index lookup, not a scan of all carts.
        Index(
            "ix_cart_shipping_method_id", "shipping_method_id", postgresql_where=text("shipping_method_id IS NOT NULL")
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    # What the cart is priced with until checkout: where it goes, how, and the code entered.
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    shipping_method_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("shipping_method.id", ondelete="SET NULL"))
    coupon_code: Mapped[str | None] = mapped_column(String(40))


class CartItem(Base):
    __tablename__ = "cart_item"
    __table_args__ = (CheckConstraint("quantity BETWEEN 1 AND 99", name="quantity_range"),)

    cart_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cart.id", ondelete="CASCADE"), primary_key=True)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"), primary_key=True)
    quantity: Mapped[int] = mapped_column(SmallInteger)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Order(TimestampMixin, Base):
    __tablename__ = "customer_order"  # "order" is a reserved word
    __table_args__ = (
        # A customer's history and the admin list are keyset pages over (created_at, id).
        Index("ix_customer_order_user_id_created_at", "user_id", "created_at", "id"),
        Index("ix_customer_order_created_at", "created_at", "id"),
        # The expiry sweep looks only at unpaid orders: a small partial index.
        Index("ix_customer_order_unpaid", "created_at", postgresql_where=text("status = 'pending_payment'")),
        # The breakdown adds up (shop.pricing.breakdown): the tax is inside the prices of a store that
        # enters them including tax, on top of them in one that enters them excluding it.
        CheckConstraint(
            "subtotal_amount >= 0 AND discount_amount BETWEEN 0 AND subtotal_amount AND shipping_amount >= 0"
            " AND tax_amount >= 0 AND total_amount = subtotal_amount - discount_amount + shipping_amount"
            " + CASE WHEN prices_include_tax THEN 0 ELSE tax_amount END",
            name="totals",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "order_status"))
    currency: Mapped[str] = mapped_column(String(3))
    # The price breakdown at checkout, kept as it was: a later change of rates, methods or
    # promotions never changes a past order. Amounts are in the store's tax mode of that day.
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    subtotal_amount: Mapped[int] = mapped_column(BigInteger)  # the lines before their discounts
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # off the lines
    shipping_amount: Mapped[int] = mapped_column(BigInteger)  # charged, after any shipping discount
    shipping_discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shipping_tax_rate_ppm: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    shipping_tax_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # lines and shipping
    total_amount: Mapped[int] = mapped_column(BigInteger)
    # One row per rate, as an invoice states it: [{"rate_ppm", "taxable", "tax"}].
    taxes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    # The promotions applied: [{"promotion_id", "name", "code", "lines_discount", "shipping_discount",
    # "code_id", "counted", "per_customer"}]; the last three say which use counters the checkout
    # took (promotions/service/redemptions.py), which a cancel gives back.
    promotions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    # A snapshot of the method, as the order's prices are: no foreign key. The method may change or
    # go after the order, which keeps what it was; and a key would have every checkout lock the
    # method's row (FOR KEY SHARE), one hot row that all concurrent checkouts share.
    shipping_method_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    shipping_method_name: Mapped[str | None] = mapped_column(String(100))
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSONB)
    email: Mapped[str] = mapped_column(String(320))
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["OrderLine"]] = relationship(lazy="raise", order_by="OrderLine.position")
    history: Mapped[list["OrderStatusChange"]] = relationship(
        lazy="raise", order_by="OrderStatusChange.at, OrderStatusChange.id"
    )


class OrderLine(Base):
    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_amount >= 0", name="price_not_negative"),
        CheckConstraint("discount_amount BETWEEN 0 AND unit_price_amount * quantity", name="discount_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    # Kept for past orders: the catalog archives products, it does not delete them.
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("variant.id", ondelete="RESTRICT"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(420))
    unit_price_amount: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    # The line's share of the order's discounts and tax, exact to the minor unit, so a later
    # partial refund gives back what the line cost.
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # [{"promotion_id", "amount"}]: which promotion took what off this line.
    discounts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    tax_class: Mapped[str] = mapped_column(String(40), default="standard", server_default="standard")
    tax_rate_ppm: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    total_amount: Mapped[int] = mapped_column(BigInteger)  # what the customer pays for the line


class OrderStatusChange(Base):
    """One row per status an order entered, with who moved it there."""

    __tablename__ = "order_status_change"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"), index=True)
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "order_status"))
    actor_role: Mapped[Actor] = mapped_column(_enum(Actor, "actor_role"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Payment(TimestampMixin, Base):
    """A charge of an order: an attempt through the API, or a payment reported by the webhook.

    An attempt is recorded `pending` and committed before the provider is called, with the
    idempotency key the provider gets; its outcome is recorded in a second transaction, or by
    the reconciliation once `settle_after` has passed (service/payments.py).
    """

    __tablename__ = "payment"
    __table_args__ = (
        # One attempt in flight per order: a second concurrent pay is refused, never charged.
        Index("uq_payment_order_id_pending", "order_id", unique=True, postgresql_where=text("status = 'pending'")),
        Index("ix_payment_settle_after_pending", "settle_after", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, "payment_status"))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    # What the provider is told for this attempt, so a repeated call never charges twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    # Until then the request that made the attempt may still record its outcome.
    settle_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Refund(TimestampMixin, Base):
    """Giving a payment back in full: recorded `pending` and committed before the provider is
    called, then retried with the same idempotency key until the provider confirms it."""

    __tablename__ = "refund"
    __table_args__ = (
        Index("ix_refund_settle_after_pending", "settle_after", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # A payment is refunded once, whoever asks and however often.
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payment.id", ondelete="CASCADE"), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer_order.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(30))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[RefundStatus] = mapped_column(_enum(RefundStatus, "refund_status"))
    # The order moves to `refunded` when the refund succeeds (False: money that arrived for an
    # order that could not take it goes back, and the order stays as it is).
    refunds_order: Mapped[bool] = mapped_column()
    actor_role: Mapped[Actor] = mapped_column(_enum(Actor, "actor_role"))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    reference: Mapped[str | None] = mapped_column(String(200))  # the provider's id of the refund
    last_error: Mapped[str | None] = mapped_column(String(200))
    settle_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PaymentEvent(Base):
    """A provider webhook event already handled: a redelivery of its id does nothing."""

    __tablename__ = "payment_event"

    provider: Mapped[str] = mapped_column(String(30), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(50))
    order_id: Mapped[uuid.UUID | None] = mapped_column()  # as the provider sent it; may name no order
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
