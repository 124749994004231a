"""Promotions: whether one applies (and if a code does not, why), what it takes off, and which apply.

Stacking: the best automatic promotion, then at most one code on what is left (the module
docstring of shop.pricing says it in full).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shop.pricing.arithmetic import allocate, share
from shop.pricing.breakdown import Refusal
from shop.pricing.inputs import (
    Conditions,
    Coupon,
    Customer,
    FreeShipping,
    Line,
    PercentOff,
    Promotion,
)


def refusal(conditions: Conditions, *, subtotal: int, customer: Customer, now: datetime) -> Refusal | None:
    """The first condition that does not hold, or None when the promotion applies."""
    return _window(conditions, now) or _audience(conditions, customer, subtotal)


def coupon_refusal(
    coupon: Coupon, lines: Sequence[Line], *, subtotal: int, customer: Customer, now: datetime
) -> Refusal | None:
    """Why `coupon` cannot be used on this cart, or None.

    The reasons are checked from the most lasting to the most easily fixed, so the customer hears
    the one that matters: an unknown code, then its dates, its uses, who may use it, the minimum,
    and last whether anything in the cart is what it discounts.
    """
    promotion = coupon.promotion
    if promotion is None:
        return Refusal.unknown
    conditions = promotion.conditions
    if reason := _window(conditions, now):
        return reason
    if _used_up(coupon):
        return Refusal.used_up
    if reason := _audience(conditions, customer, subtotal):
        return reason
    target = promotion.applies_to
    if isinstance(promotion.benefit, FreeShipping) or target is None:
        return None
    return None if any(target.matches(line) for line in lines) else Refusal.not_applicable


def _window(conditions: Conditions, now: datetime) -> Refusal | None:
    if conditions.starts_at is not None and now < conditions.starts_at:
        return Refusal.not_yet_valid
    if conditions.ends_at is not None and now >= conditions.ends_at:
        return Refusal.expired
    return None


def _audience(conditions: Conditions, customer: Customer, subtotal: int) -> Refusal | None:
    if conditions.first_order_only and not customer.first_order:
        return Refusal.not_for_this_customer
    if conditions.customer_ids or conditions.customer_groups:
        named = customer.id is not None and customer.id in conditions.customer_ids
        if not named and conditions.customer_groups.isdisjoint(customer.groups):
            return Refusal.not_for_this_customer
    if conditions.min_subtotal is not None and subtotal < conditions.min_subtotal:
        return Refusal.minimum_not_met
    return None


def _used_up(coupon: Coupon) -> bool:
    if coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
        return True
    return coupon.max_uses_per_customer is not None and coupon.customer_uses >= coupon.max_uses_per_customer


@dataclass(frozen=True, slots=True)
class Effect:
    """What one promotion takes off: an amount per line, or the shipping."""

    promotion: Promotion
    code: str | None
    lines: list[int]
    free_shipping: bool

    @property
    def lines_total(self) -> int:
        return sum(self.lines)


def effect(promotion: Promotion, lines: Sequence[Line], remaining: Sequence[int], code: str | None = None) -> Effect:
    """What `promotion` takes off lines still worth `remaining` each: never more than a line is worth.

    A percentage is taken of the matching lines together and rounded half up once; it and a fixed
    amount are then allocated to those lines in proportion to their worth (largest remainder).
    """
    benefit = promotion.benefit
    if isinstance(benefit, FreeShipping):
        return Effect(promotion, code, [0] * len(lines), free_shipping=True)
    target = promotion.applies_to
    weights = [
        worth if target is None or target.matches(line) else 0 for line, worth in zip(lines, remaining, strict=True)
    ]
    base = sum(weights)
    amount = share(base, benefit.ppm) if isinstance(benefit, PercentOff) else min(benefit.amount, base)
    return Effect(promotion, code, allocate(amount, weights), free_shipping=False)


def best_automatic(
    promotions: Sequence[Promotion],
    lines: Sequence[Line],
    *,
    subtotals: Sequence[int],
    shipping: int,
    customer: Customer,
    now: datetime,
) -> Effect | None:
    """The automatic promotion that takes the most off the undiscounted cart on its own.

    Its worth is what it takes off the lines, or the shipping charge it waives. On a tie the
    promotion with the smaller id wins (ids are time-ordered: the older one). One that would
    take nothing off does not apply.
    """
    subtotal = sum(subtotals)
    best: Effect | None = None
    best_key: tuple[int, int] | None = None
    for promotion in promotions:
        if refusal(promotion.conditions, subtotal=subtotal, customer=customer, now=now) is not None:
            continue
        candidate = effect(promotion, lines, subtotals)
        worth = shipping if candidate.free_shipping else candidate.lines_total
        if worth <= 0:
            continue
        key = (-worth, promotion.id.int)
        if best_key is None or key < best_key:
            best, best_key = candidate, key
    return best
