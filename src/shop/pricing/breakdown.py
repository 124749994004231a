"""What a price is: the breakdown every view of a cart or an order shows, line by line and in total.

Amounts are integers of the store currency's minor unit. In a store with prices including tax,
`subtotal`, `discount` and `shipping` are gross and the tax is inside them; in one with prices
excluding tax they are net and the tax comes on top. The `total`s are always what the customer
pays, and every total is the exact sum of its parts:

    line.total    = line.subtotal - line.discount (+ line.tax when prices exclude tax)
    shipping_total = shipping (+ shipping_tax when prices exclude tax)
    total          = sum(line.total) + shipping_total
    tax            = sum(line.tax) + shipping_tax = sum(t.tax for t in taxes)
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from shop.pricing.inputs import TaxMode


class Refusal(StrEnum):
    """Why a coupon code was not applied, in words a storefront can show."""

    unknown = "unknown"
    expired = "expired"
    not_yet_valid = "not_yet_valid"
    used_up = "used_up"
    not_for_this_customer = "not_for_this_customer"
    minimum_not_met = "minimum_not_met"
    # The code is valid, but nothing in the cart is what it discounts.
    not_applicable = "not_applicable"


@dataclass(frozen=True, slots=True)
class LineDiscount:
    promotion_id: uuid.UUID
    amount: int


@dataclass(frozen=True, slots=True)
class PricedLine:
    product_id: uuid.UUID
    variant_id: uuid.UUID
    unit_price: int
    quantity: int
    subtotal: int
    discount: int
    discounts: tuple[LineDiscount, ...]
    tax_class: str
    tax_rate: Decimal  # percent, snapshot for the order line
    tax: int
    total: int

    @property
    def net(self) -> int:
        """What the line earns before tax, after its discounts."""
        return self.total - self.tax


@dataclass(frozen=True, slots=True)
class AppliedPromotion:
    promotion_id: uuid.UUID
    name: str
    code: str | None  # None: applied automatically
    lines_discount: int
    shipping_discount: int

    @property
    def amount(self) -> int:
        return self.lines_discount + self.shipping_discount


@dataclass(frozen=True, slots=True)
class TaxTotal:
    """One row of the invoice's tax breakdown: everything taxed at one rate (EN 16931 BG-23)."""

    rate: Decimal
    taxable: int  # net amount taxed at this rate, shipping included
    tax: int


@dataclass(frozen=True, slots=True)
class CouponOutcome:
    code: str
    refusal: Refusal | None  # None: applied

    @property
    def applied(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True, slots=True)
class Breakdown:
    currency: str
    tax_mode: TaxMode
    lines: tuple[PricedLine, ...]
    subtotal: int
    discount: int  # off the lines; a shipping discount is in shipping_discount
    shipping: int  # charged, after shipping_discount
    shipping_discount: int
    shipping_tax_rate: Decimal
    shipping_tax: int
    shipping_total: int
    tax: int
    total: int
    taxes: tuple[TaxTotal, ...]
    promotions: tuple[AppliedPromotion, ...]
    coupon: CouponOutcome | None
