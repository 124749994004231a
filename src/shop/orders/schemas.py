"""Cart, checkout and order request and response models (API.md, "Cart" and "Orders").

Request bodies name only what a client may choose: prices, totals and statuses are the
server's, so a body that tries to set them is rejected (422) like any unknown field.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from shop.core.countries import CountryCode, RegionCode
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
    # Where the shop has a tax rate of its own for the region (the Canary Islands), that rate applies.
    region: RegionCode | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()./-]{2,29}$")] | None = None

    @model_validator(mode="after")
    def _region_in_country(self) -> "Address":
        if self.region is not None and not self.region.startswith(f"{self.country}-"):
            raise ValueError(f"region {self.region} is not in {self.country}")
        return self


# A code as a customer types it; matched case-insensitively, shown upper case.
CouponCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
TaxRatePercent = Annotated[str, Field(description="Percent, as a decimal string: `19`, `5.5`, `8.875`.")]


# -- the price breakdown (shop.pricing), shown by the cart and kept by the order ----------------


class TaxLine(Schema):
    """Everything taxed at one rate, as an invoice states it (shipping included)."""

    rate: TaxRatePercent
    taxable: Money = Field(description="The net amount taxed at this rate.")
    tax: Money


class AppliedPromotion(Schema):
    promotion_id: uuid.UUID
    name: str
    code: str | None = Field(description="The code it came with; null for an automatic promotion.")
    amount: Money = Field(description="What it took off the lines and the shipping.")


# -- cart --------------------------------------------------------------------------------------


class CartItemUpdate(Schema):
    quantity: Quantity


class ShippingAddressUpdate(Schema):
    shipping_address: Address


class ShippingMethodChoice(Schema):
    shipping_method_id: uuid.UUID


class CouponUpdate(Schema):
    code: CouponCode


class DeliveryEstimate(Schema):
    min_days: int | None
    max_days: int | None


class ShippingOption(Schema):
    id: uuid.UUID
    name: str
    price: Money = Field(description="What shipping this cart with this method costs (tax included when taxed on top).")
    delivery_estimate: DeliveryEstimate | None


class CouponState(Schema):
    code: str
    applied: bool
    reason: str | None = Field(description="Why a stored code does not apply now (a coupon_refused reason).")


class CartLine(Schema):
    variant_id: uuid.UUID
    sku: str
    name: str
    unit_price: Money
    quantity: int
    line_total: Money = Field(description="unit_price x quantity, before discounts and tax.")
    available: bool = Field(description="Active, not archived, and enough stock for the quantity right now.")
    discount: Money
    tax_rate: TaxRatePercent
    tax: Money = Field(
        description="Its share of the tax: inside `total` or on top of it, as `prices_include_tax` says."
    )
    total: Money = Field(description="What the customer pays for the line.")


class Cart(Schema):
    items: list[CartLine]
    subtotal: Money
    item_count: int = Field(description="The sum of the quantities.")
    shipping_address: Address | None
    shipping_method_id: uuid.UUID | None
    shipping_methods: list[ShippingOption] = Field(description="Offered at the address; empty until it is known.")
    coupon: CouponState | None
    discount_total: Money
    shipping_total: Money | None = Field(description="Null until a shipping method is chosen.")
    tax_total: Money = Field(description="0 until the address is known: tax depends on where the order goes.")
    total: Money
    taxes: list[TaxLine]
    promotions: list[AppliedPromotion]
    prices_include_tax: bool


# -- checkout and orders ---------------------------------------------------------------------


class OrderItemCreate(Schema):
    variant_id: uuid.UUID
    quantity: Quantity


class OrderCreate(Schema):
    shipping_address: Address
    shipping_method_id: uuid.UUID | None = Field(
        default=None,
        description="Without it: the cart's chosen method when offered at the address, else the cheapest offered.",
    )
    coupon_code: CouponCode | None = Field(default=None, description="Without it: the cart's code, if any.")
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
    discount: Money
    tax_rate: TaxRatePercent
    tax: Money
    total: Money


class ShippingMethodRef(Schema):
    id: uuid.UUID | None = Field(description="Null once the method has been deleted; the name is kept.")
    name: str


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
    discount_total: Money
    shipping_total: Money
    tax_total: Money
    total: Money
    taxes: list[TaxLine]
    promotions: list[AppliedPromotion]
    coupon_code: str | None
    shipping_method: ShippingMethodRef | None
    prices_include_tax: bool
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
