"""Cart, checkout and order request and response models (API.md, "Cart" and "Orders").

Request bodies name only what a client may choose: prices, totals and statuses are the
server's, so a body that tries to set them is rejected (422) like any unknown field.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from shop.core.countries import CountryCode
from shop.core.schemas import Money, Schema

MAX_ORDER_LINES = 100
MAX_LINE_QUANTITY = 99


class OrderStatus(StrEnum):
    pending_payment = "pending_payment"
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
    refunded = "refunded"


class Actor(StrEnum):
    """Who moved an order: the caller's role, or the shop itself (webhook, expiry)."""

    customer = "customer"
    staff = "staff"
    admin = "admin"
    system = "system"


class PaymentStatus(StrEnum):
    pending = "pending"  # recorded before the provider is called; its outcome is not known yet
    succeeded = "succeeded"
    declined = "declined"
    failed = "failed"
    refunded = "refunded"


class RefundStatus(StrEnum):
    pending = "pending"  # recorded before the provider is called; retried until it succeeds
    succeeded = "succeeded"


# Free text the customer types: surrounding blanks dropped, never empty.
Text20 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_LINE_QUANTITY)]


class Address(Schema):
    full_name: Text200
    line1: Text200
    line2: Text200 | None = None
    city: Text100
    postal_code: Text20
    country: CountryCode
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()./-]{2,29}$")] | None = None


# -- cart --------------------------------------------------------------------------------------


class CartItemUpdate(Schema):
    quantity: Quantity


class CartLine(Schema):
    variant_id: uuid.UUID
    sku: str
    name: str
    unit_price: Money
    quantity: int
    line_total: Money
    available: bool = Field(description="Active, not archived, and enough stock for the quantity right now.")


class Cart(Schema):
    items: list[CartLine]
    subtotal: Money
    item_count: int = Field(description="The sum of the quantities.")


# -- checkout and orders ---------------------------------------------------------------------


class OrderItemCreate(Schema):
    variant_id: uuid.UUID
    quantity: Quantity


class OrderCreate(Schema):
    shipping_address: Address
    items: Annotated[list[OrderItemCreate], Field(max_length=MAX_ORDER_LINES)] | None = Field(
        default=None, description="The lines to order; without it, the caller's cart is ordered and emptied."
    )


class OrderItem(Schema):
    variant_id: uuid.UUID
    sku: str
    name: str
    unit_price: Money
    quantity: int
    line_total: Money


class Tracking(Schema):
    carrier: str
    tracking_number: str


class HistoryEntry(Schema):
    status: OrderStatus
    at: datetime
    actor_role: Actor


class Order(Schema):
    id: uuid.UUID
    number: str
    status: OrderStatus
    items: list[OrderItem]
    subtotal: Money
    shipping_total: Money
    total: Money
    currency: str
    shipping_address: Address
    email: str
    tracking: Tracking | None
    history: list[HistoryEntry]
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None


class PaymentRequest(Schema):
    payment_token: Text200


class Shipment(Schema):
    carrier: Text100
    tracking_number: Text100


# -- payment provider webhook ----------------------------------------------------------------


class WebhookData(BaseModel):
    # Providers add fields over time: unknown ones are ignored, not refused.
    model_config = ConfigDict(extra="ignore")

    order_id: uuid.UUID
    amount: StrictInt
    # ISO 4217; compared with the order's, so a longer one could only ever mismatch.
    currency: Annotated[str, Field(max_length=3)]
    reference: Annotated[str, Field(min_length=1, max_length=200)]


class WebhookEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=255)]
    type: Annotated[str, Field(min_length=1, max_length=50)]
    data: WebhookData


class WebhookReceipt(Schema):
    received: bool = True
    duplicate: bool = False
