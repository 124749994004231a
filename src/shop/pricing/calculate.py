"""price(): the one computation of what a cart or an order costs."""

from collections.abc import Sequence
from datetime import datetime

from shop.pricing.breakdown import (
    AppliedPromotion,
    Breakdown,
    CouponOutcome,
    LineDiscount,
    PricedLine,
)
from shop.pricing.inputs import Coupon, Customer, Destination, Line, Promotion, ShippingRate, TaxMode, TaxRate
from shop.pricing.promotions import Effect, best_automatic, coupon_refusal, effect
from shop.pricing.taxes import MissingTaxRate, percent, rates_for, tax

GUEST = Customer()


def price(
    lines: Sequence[Line],
    *,
    currency: str,
    tax_mode: TaxMode,
    destination: Destination,
    tax_rates: Sequence[TaxRate],
    now: datetime,
    shipping: ShippingRate | None = None,
    customer: Customer = GUEST,
    promotions: Sequence[Promotion] = (),
    coupon: Coupon | None = None,
) -> Breakdown:
    """The breakdown of `lines` sent to `destination` by `shipping` (None: none chosen yet, nothing
    charged), for `customer` at `now`, under the store's `tax_mode` and `tax_rates` (the rows of
    the destination's country suffice), with the best of the automatic `promotions` and `coupon`.

    Raises MissingTaxRate when a line's or the shipping's tax class has no rate at the destination.
    """
    subtotals = [line.unit_price * line.quantity for line in lines]
    subtotal = sum(subtotals)
    rates = _rates(lines, shipping, destination, tax_rates)

    applied: list[Effect] = []
    automatic = best_automatic(
        promotions,
        lines,
        subtotals=subtotals,
        shipping=shipping.charge(subtotal) if shipping and lines else 0,
        customer=customer,
        now=now,
    )
    remaining = subtotals
    if automatic is not None:
        applied.append(automatic)
        remaining = [worth - off for worth, off in zip(remaining, automatic.lines, strict=True)]
    outcome = None
    if coupon is not None:
        reason = coupon_refusal(coupon, lines, subtotal=subtotal, customer=customer, now=now)
        outcome = CouponOutcome(code=coupon.code, refusal=reason)
        if reason is None and coupon.promotion is not None:
            by_code = effect(coupon.promotion, lines, remaining, code=coupon.code)
            applied.append(by_code)
            remaining = [worth - off for worth, off in zip(remaining, by_code.lines, strict=True)]

    # Nothing to send, nothing to ship: an empty cart is never charged shipping.
    charge = shipping.charge(sum(remaining)) if shipping and lines else 0
    waived_by = next((index for index, done in enumerate(applied) if done.free_shipping), None)
    shipping_charged = 0 if waived_by is not None else charge

    line_rates = [rates[line.tax_class] for line in lines]
    shipping_rate = rates[shipping.tax_class] if shipping else 0
    # The shipping is taxed as one more line, at its own class's rate.
    taxed = tax([*remaining, shipping_charged], [*line_rates, shipping_rate], tax_mode)
    exclusive = tax_mode is TaxMode.exclusive

    priced = tuple(
        PricedLine(
            product_id=line.product_id,
            variant_id=line.variant_id,
            unit_price=line.unit_price,
            quantity=line.quantity,
            subtotal=subtotals[index],
            discount=subtotals[index] - remaining[index],
            discounts=tuple(
                LineDiscount(done.promotion.id, done.lines[index]) for done in applied if done.lines[index]
            ),
            tax_class=line.tax_class,
            tax_rate=percent(line_rates[index]),
            tax=taxed.taxes[index],
            total=remaining[index] + taxed.taxes[index] if exclusive else remaining[index],
        )
        for index, line in enumerate(lines)
    )
    shipping_tax = taxed.taxes[-1]
    shipping_total = shipping_charged + shipping_tax if exclusive else shipping_charged
    return Breakdown(
        currency=currency,
        tax_mode=tax_mode,
        lines=priced,
        subtotal=subtotal,
        discount=subtotal - sum(remaining),
        shipping=shipping_charged,
        shipping_discount=charge - shipping_charged,
        shipping_tax_rate=percent(shipping_rate),
        shipping_tax=shipping_tax,
        shipping_total=shipping_total,
        tax=sum(taxed.taxes),
        total=sum(line.total for line in priced) + shipping_total,
        taxes=taxed.totals,
        promotions=tuple(
            AppliedPromotion(
                promotion_id=done.promotion.id,
                name=done.promotion.name,
                code=done.code,
                lines_discount=done.lines_total,
                shipping_discount=charge if index == waived_by else 0,
            )
            for index, done in enumerate(applied)
        ),
        coupon=outcome,
    )


def _rates(
    lines: Sequence[Line], shipping: ShippingRate | None, destination: Destination, tax_rates: Sequence[TaxRate]
) -> dict[str, int]:
    """The rate (ppm) of every tax class the lines and the shipping use, at the destination."""
    found = rates_for(destination, tax_rates)
    needed = {line.tax_class for line in lines}
    if shipping is not None:
        needed.add(shipping.tax_class)
    missing = sorted(needed - found.keys())
    if missing:
        raise MissingTaxRate(missing[0], destination)
    return {tax_class: found[tax_class].ppm for tax_class in needed}
