"""Pricing: what a cart or an order costs, line by line, in integer minor units of the store currency.

Pure and deterministic: no database, no I/O, no clock (the time is an argument). It is not wired
in yet: the cart and the checkout still compute their own totals until the tax, shipping and
promotion tables feed it; then the cart, the checkout, the order, its emails and the admin API
will all show the breakdown `price()` returns.

Amounts are integers of the currency's minor unit (core/money.py: EUR cents, JPY yen, BHD fils),
and every rounding is to one minor unit, so a currency's exponent never enters the arithmetic.
Rates and percentages are exact to four decimals of a percent (8.875 %).

Rounding. Tax is computed per rate, as an EU VAT invoice states it (EN 16931, rule BR-CO-17):
the amounts taxed at one rate (the lines after their discounts, and the shipping) are summed,
the tax of that sum is rounded once, half up, to the minor unit, and that tax is allocated to
the lines and the shipping in proportion to their amounts by largest remainder. Prices entered
excluding tax: tax = net * r. Including tax: tax = gross * r / (1 + r), and the net is what is
left, so the gross the customer saw is what they pay. Excluding tax, the invoice's tax per rate
is exactly the rounded tax of its taxable amount (BR-CO-17); including tax it can differ from
taxable * r by one minor unit (EUR 9.99 at 19 %: net 8.39, tax 1.60, where 8.39 * 19 % rounds to
1.59), the price kept over the check. Either way each line carries an exact integer share of the
tax for a later partial refund. A percentage off is
likewise rounded half up once, on the matching lines together, and allocated the same way.

Stacking. At most two promotions apply to an order: the best automatic promotion, then at most
one coupon code. The best automatic promotion is the one whose conditions hold and that takes
the most off the undiscounted cart on its own (what it takes off the lines, or the shipping
charge it waives); on a tie, the one with the smaller id (ids are time-ordered: the older). The
code then applies to what is left of each line after the automatic discount, so a percentage
code is a percentage of what the customer would pay and no line ever goes below zero. Every
condition (minimum subtotal included) is judged on the cart before any discount. Free shipping
waives the shipping charge computed on the lines after their discounts.

A refused code does not stop the pricing: the breakdown says why (`Breakdown.coupon.refusal`)
and prices the cart without it.
"""

from shop.pricing.breakdown import (
    AppliedPromotion,
    Breakdown,
    CouponOutcome,
    LineDiscount,
    PricedLine,
    Refusal,
    TaxTotal,
)
from shop.pricing.calculate import price
from shop.pricing.inputs import (
    REDUCED,
    STANDARD,
    ZERO,
    AmountOff,
    Band,
    Benefit,
    Conditions,
    Coupon,
    Customer,
    Destination,
    FreeShipping,
    Line,
    LineFilter,
    PercentOff,
    Promotion,
    ShippingRate,
    TaxMode,
    TaxRate,
)
from shop.pricing.taxes import MissingTaxRate, rates_for

__all__ = [
    "REDUCED",
    "STANDARD",
    "ZERO",
    "AmountOff",
    "AppliedPromotion",
    "Band",
    "Benefit",
    "Breakdown",
    "Conditions",
    "Coupon",
    "CouponOutcome",
    "Customer",
    "Destination",
    "FreeShipping",
    "Line",
    "LineDiscount",
    "LineFilter",
    "MissingTaxRate",
    "PercentOff",
    "PricedLine",
    "Promotion",
    "Refusal",
    "ShippingRate",
    "TaxMode",
    "TaxRate",
    "TaxTotal",
    "price",
    "rates_for",
]
