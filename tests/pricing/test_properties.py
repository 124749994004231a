"""Properties of price() over generated carts: every total adds up, nothing goes negative, no
discount exceeds what it applies to, the same input prices the same, and order-level results
agree with an independent reference calculation in currencies of 0, 2 and 3 decimals."""

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.pricing import (
    AmountOff,
    Breakdown,
    Coupon,
    Customer,
    FreeShipping,
    Line,
    PercentOff,
    Promotion,
    ShippingRate,
    TaxMode,
    TaxRate,
    price,
)
from tests.pricing import carts
from tests.pricing.carts import DE, NOW, PROPERTIES
from tests.pricing.reference import expected


def _price(
    lines: list[Line],
    mode: TaxMode,
    table: list[TaxRate],
    shipping: ShippingRate | None,
    automatic: list[Promotion],
    coupon: Coupon | None,
    customer: Customer,
    currency: str = "EUR",
) -> Breakdown:
    return price(
        lines,
        currency=currency,
        tax_mode=mode,
        destination=DE,
        tax_rates=table,
        now=NOW,
        shipping=shipping,
        customer=customer,
        promotions=automatic,
        coupon=coupon,
    )


Case = tuple[Any, ...]
anything = st.tuples(
    carts.carts,
    carts.modes,
    carts.tax_tables,
    carts.shipping_rates,
    carts.automatic,
    carts.coupons,
    carts.customers,
)


@PROPERTIES
@given(anything)
def test_every_total_is_the_sum_of_its_parts(case: Case) -> None:
    breakdown = _price(*case)
    exclusive = breakdown.tax_mode is TaxMode.exclusive
    for line in breakdown.lines:
        assert line.subtotal == line.unit_price * line.quantity
        assert line.discount == sum(d.amount for d in line.discounts)
        assert line.total == line.subtotal - line.discount + (line.tax if exclusive else 0)
    assert breakdown.subtotal == sum(line.subtotal for line in breakdown.lines)
    assert breakdown.discount == sum(line.discount for line in breakdown.lines)
    assert breakdown.shipping_total == breakdown.shipping + (breakdown.shipping_tax if exclusive else 0)
    assert breakdown.tax == sum(line.tax for line in breakdown.lines) + breakdown.shipping_tax
    assert breakdown.tax == sum(row.tax for row in breakdown.taxes)
    assert breakdown.total == sum(line.total for line in breakdown.lines) + breakdown.shipping_total
    charged = breakdown.subtotal - breakdown.discount + breakdown.shipping
    assert breakdown.total == charged + (breakdown.tax if exclusive else 0)
    assert sum(p.amount for p in breakdown.promotions) == breakdown.discount + breakdown.shipping_discount
    for applied in breakdown.promotions:
        from_lines = [
            d.amount for line in breakdown.lines for d in line.discounts if d.promotion_id == applied.promotion_id
        ]
        assert applied.lines_discount == sum(from_lines)


@PROPERTIES
@given(anything)
def test_no_amount_is_negative_and_no_discount_exceeds_what_it_applies_to(case: Case) -> None:
    shipping = case[3]
    breakdown = _price(*case)
    for line in breakdown.lines:
        assert 0 <= line.discount <= line.subtotal
        assert all(d.amount > 0 for d in line.discounts)
        assert line.tax >= 0 and line.net >= 0 and line.total >= 0
    assert breakdown.shipping >= 0 and breakdown.shipping_tax >= 0 and breakdown.total >= 0
    undiscounted_charge = 0 if shipping is None else max(band.amount for band in shipping.bands)
    assert 0 <= breakdown.shipping_discount <= undiscounted_charge
    for applied in breakdown.promotions:
        assert applied.lines_discount >= 0 and applied.shipping_discount >= 0


@PROPERTIES
@given(anything)
def test_a_line_promotion_touches_only_its_lines_and_a_percentage_stays_within_its_base(case: Case) -> None:
    lines, _, _, _, automatic, coupon, _ = case
    breakdown = _price(*case)
    by_id = {p.id: p for p in automatic}
    if coupon is not None and coupon.promotion is not None:
        by_id[coupon.promotion.id] = coupon.promotion
    for source, priced in zip(lines, breakdown.lines, strict=True):
        for discount in priced.discounts:
            promotion = by_id[discount.promotion_id]
            assert not isinstance(promotion.benefit, FreeShipping)
            assert promotion.applies_to is None or promotion.applies_to.matches(source)
    for applied in breakdown.promotions:
        benefit = by_id[applied.promotion_id].benefit
        if isinstance(benefit, PercentOff):
            # Rounded half up once: at most half a unit above the exact share of the whole subtotal.
            assert applied.lines_discount <= Fraction(breakdown.subtotal) * Fraction(benefit.percent) / 100 + Fraction(
                1, 2
            )
        if isinstance(benefit, AmountOff):
            assert applied.lines_discount <= benefit.amount


@PROPERTIES
@given(anything)
def test_each_line_carries_its_exact_share_of_the_tax_of_its_rate_within_one_unit(case: Case) -> None:
    breakdown = _price(*case)
    exclusive = breakdown.tax_mode is TaxMode.exclusive
    items = [(line.tax_rate, line.total - (line.tax if exclusive else 0), line.tax) for line in breakdown.lines]
    items.append((breakdown.shipping_tax_rate, breakdown.shipping, breakdown.shipping_tax))
    for row in breakdown.taxes:
        at_rate = [(amount, tax) for rate, amount, tax in items if rate == row.rate]
        base = sum(amount for amount, _ in at_rate)
        assert sum(tax for _, tax in at_rate) == row.tax
        for amount, tax in at_rate:
            assert abs(tax - Fraction(row.tax * amount, base)) < 1


@PROPERTIES
@given(anything)
def test_the_same_input_prices_the_same(case: Case) -> None:
    assert _price(*case) == _price(*case)


@pytest.mark.parametrize(("currency", "exponent"), [("JPY", 0), ("EUR", 2), ("BHD", 3)])
@PROPERTIES
@given(
    lines=carts.carts,
    mode=carts.modes,
    table=carts.tax_tables,
    shipping=carts.amounts,
    shipping_class=st.sampled_from(carts.CLASSES),
    order_discount=st.none()
    | st.builds(PercentOff, st.sampled_from(("5", "10", "12.5", "33.33", "100")).map(Decimal))
    | st.builds(AmountOff, st.integers(min_value=1, max_value=5_000_000)),
)
def test_order_totals_agree_with_a_reference_calculation(
    currency: str,
    exponent: int,
    lines: list[Line],
    mode: TaxMode,
    table: list[TaxRate],
    shipping: int,
    shipping_class: str,
    order_discount: PercentOff | AmountOff | None,
) -> None:
    automatic = [] if order_discount is None else [carts.promotion(order_discount)]
    shipping_rate = ShippingRate.flat(shipping, tax_class=shipping_class)
    breakdown = _price(lines, mode, table, shipping_rate, automatic, None, Customer(), currency)
    reference = expected(
        lines,
        exponent=exponent,
        mode=mode,
        percents={rate.tax_class: rate.percent for rate in table},
        shipping=shipping,
        shipping_class=shipping_class,
        order_discount=order_discount,
    )
    assert breakdown.subtotal == reference["subtotal"]
    assert breakdown.discount == reference["discount"]
    assert {row.rate: row.tax for row in breakdown.taxes} == reference["taxes"]
    assert breakdown.tax == reference["tax"]
    assert breakdown.total == reference["total"]
