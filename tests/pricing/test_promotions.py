"""Promotions, rule by rule: conditions, every refusal of a code, and the stacking rule."""

import uuid
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shop.pricing import (
    AmountOff,
    Band,
    Benefit,
    Breakdown,
    Conditions,
    Coupon,
    CouponOutcome,
    Customer,
    FreeShipping,
    Line,
    LineFilter,
    PercentOff,
    Promotion,
    Refusal,
    ShippingRate,
    TaxMode,
    price,
)
from tests.pricing.carts import CATEGORIES, CUSTOMER_ID, DE, NOW, PRODUCTS, VARIANTS, line, promotion, rates

CART = [line(4_000, 1, n=0), line(1_000, 2, n=1, category_ids=frozenset({CATEGORIES[0]}))]  # 60.00


def priced(
    automatic: Sequence[Promotion] = (),
    coupon: Coupon | None = None,
    *,
    lines: list[Line] = CART,
    customer: Customer = Customer(id=CUSTOMER_ID),  # noqa: B008
    shipping: ShippingRate | None = None,
) -> Breakdown:
    return price(
        lines,
        currency="EUR",
        tax_mode=TaxMode.inclusive,
        destination=DE,
        tax_rates=rates(),
        now=NOW,
        shipping=shipping,
        customer=customer,
        promotions=automatic,
        coupon=coupon,
    )


def code(benefit: Benefit | None = None, **fields: Any) -> Coupon:
    conditions = fields.pop("conditions", Conditions())
    applies_to = fields.pop("applies_to", None)
    chosen = promotion(benefit or PercentOff(Decimal(10)), 50, conditions=conditions, applies_to=applies_to)
    return Coupon(code="SPRING", promotion=chosen, **fields)


class TestBenefits:
    def test_a_percentage_off_the_order_is_allocated_to_the_lines(self) -> None:
        breakdown = priced([promotion(PercentOff(Decimal(10)))])
        assert breakdown.discount == 600
        assert [ln.discount for ln in breakdown.lines] == [400, 200]

    def test_a_fixed_amount_off_matching_lines_only(self) -> None:
        breakdown = priced([promotion(AmountOff(500), applies_to=LineFilter(variant_ids=frozenset({VARIANTS[1]})))])
        assert [ln.discount for ln in breakdown.lines] == [0, 500]

    @pytest.mark.parametrize(
        "target",
        [
            LineFilter(product_ids=frozenset({PRODUCTS[0]})),
            LineFilter(variant_ids=frozenset({VARIANTS[0]})),
            LineFilter(category_ids=frozenset({CATEGORIES[1]})),
        ],
    )
    def test_a_line_matches_by_product_variant_or_category(self, target: LineFilter) -> None:
        lines = [line(4_000, n=0, category_ids=frozenset({CATEGORIES[1]})), line(1_000, n=1)]
        breakdown = priced([promotion(PercentOff(Decimal(50)), applies_to=target)], lines=lines)
        assert [ln.discount for ln in breakdown.lines] == [2_000, 0]

    def test_a_fixed_amount_never_takes_a_line_below_zero(self) -> None:
        breakdown = priced([promotion(AmountOff(100_000))])
        assert breakdown.discount == 6_000
        assert [ln.total for ln in breakdown.lines] == [0, 0]
        assert breakdown.tax == 0

    def test_free_shipping_waives_the_charge_and_names_the_promotion(self) -> None:
        breakdown = priced([promotion(FreeShipping())], shipping=ShippingRate.flat(495))
        assert (breakdown.shipping, breakdown.shipping_discount, breakdown.shipping_tax) == (0, 495, 0)
        assert breakdown.promotions[0].shipping_discount == 495
        assert breakdown.discount == 0

    def test_each_line_names_the_promotions_of_its_discount(self) -> None:
        breakdown = priced([promotion(AmountOff(1_000), 1)], code(PercentOff(Decimal(50))))
        first = breakdown.lines[0]
        assert [(d.promotion_id.int, d.amount) for d in first.discounts] == [(1001, 667), (1050, 1_667)]
        assert breakdown.promotions[1].code == "SPRING" and breakdown.promotions[0].code is None


class TestShipping:
    BANDS = ShippingRate(bands=(Band(0, 695), Band(5_000, 395)), free_from=10_000)

    @pytest.mark.parametrize(("unit_price", "charge"), [(4_999, 695), (5_000, 395), (9_999, 395), (10_000, 0)])
    def test_the_band_is_the_last_one_the_subtotal_reaches_and_free_from_the_threshold(
        self, unit_price: int, charge: int
    ) -> None:
        breakdown = priced(lines=[line(unit_price)], shipping=self.BANDS)
        assert breakdown.shipping == charge

    def test_the_band_is_judged_after_discounts(self) -> None:
        breakdown = priced([promotion(AmountOff(1))], lines=[line(10_000)], shipping=self.BANDS)
        assert breakdown.shipping == 395

    def test_an_empty_cart_is_charged_no_shipping_and_free_shipping_is_worth_nothing(self) -> None:
        waiver = promotion(FreeShipping())
        breakdown = priced([waiver], lines=[], shipping=ShippingRate.flat(495))
        assert (breakdown.shipping, breakdown.tax, breakdown.total) == (0, 0, 0)
        assert breakdown.promotions == ()


class TestConditions:
    @pytest.mark.parametrize(
        ("conditions", "customer", "applies"),
        [
            (Conditions(min_subtotal=6_000), Customer(), True),
            (Conditions(min_subtotal=6_001), Customer(), False),
            (Conditions(starts_at=NOW), Customer(), True),
            (Conditions(starts_at=NOW + timedelta(seconds=1)), Customer(), False),
            (Conditions(ends_at=NOW + timedelta(seconds=1)), Customer(), True),
            (Conditions(ends_at=NOW), Customer(), False),
            (Conditions(first_order_only=True), Customer(first_order=True), True),
            (Conditions(first_order_only=True), Customer(first_order=False), False),
            (Conditions(customer_groups=frozenset({"vip"})), Customer(groups=frozenset({"vip"})), True),
            (Conditions(customer_groups=frozenset({"vip"})), Customer(groups=frozenset({"staff"})), False),
            (Conditions(customer_ids=frozenset({CUSTOMER_ID})), Customer(id=CUSTOMER_ID), True),
            (Conditions(customer_ids=frozenset({CUSTOMER_ID})), Customer(id=uuid.UUID(int=9)), False),
            (Conditions(customer_ids=frozenset({CUSTOMER_ID})), Customer(), False),  # a guest
        ],
    )
    def test_an_automatic_promotion_applies_only_when_its_conditions_hold(
        self, conditions: Conditions, customer: Customer, applies: bool
    ) -> None:
        breakdown = priced([promotion(AmountOff(100), conditions=conditions)], customer=customer)
        assert breakdown.discount == (100 if applies else 0)


class TestRefusals:
    @pytest.mark.parametrize(
        ("coupon", "reason"),
        [
            (Coupon(code="NOPE", promotion=None), Refusal.unknown),
            (code(conditions=Conditions(ends_at=NOW)), Refusal.expired),
            (code(conditions=Conditions(starts_at=NOW + timedelta(days=1))), Refusal.not_yet_valid),
            (code(max_uses=10, uses=10), Refusal.used_up),
            (code(max_uses_per_customer=1, customer_uses=1), Refusal.used_up),
            (code(conditions=Conditions(first_order_only=True)), Refusal.not_for_this_customer),
            (code(conditions=Conditions(customer_groups=frozenset({"vip"}))), Refusal.not_for_this_customer),
            (code(conditions=Conditions(min_subtotal=6_001)), Refusal.minimum_not_met),
            (code(applies_to=LineFilter(product_ids=frozenset({PRODUCTS[3]}))), Refusal.not_applicable),
        ],
    )
    def test_a_refused_code_says_why_and_the_cart_is_priced_without_it(self, coupon: Coupon, reason: Refusal) -> None:
        breakdown = priced(coupon=coupon)
        assert breakdown.coupon is not None
        assert (breakdown.coupon.code, breakdown.coupon.refusal) == (coupon.code, reason)
        assert breakdown.discount == 0 and breakdown.promotions == ()

    def test_a_code_below_its_limits_applies(self) -> None:
        breakdown = priced(coupon=code(max_uses=10, uses=9, max_uses_per_customer=2, customer_uses=1))
        assert breakdown.coupon is not None and breakdown.coupon.applied
        assert breakdown.discount == 600

    def test_the_most_lasting_reason_is_given_first(self) -> None:
        expired_and_used_up = code(conditions=Conditions(ends_at=NOW, min_subtotal=10**9), max_uses=1, uses=1)
        assert priced(coupon=expired_and_used_up).coupon == CouponOutcome(code="SPRING", refusal=Refusal.expired)


class TestStacking:
    def test_the_best_automatic_promotion_applies_alone(self) -> None:
        breakdown = priced([promotion(PercentOff(Decimal(5)), 1), promotion(AmountOff(400), 2)])
        assert [p.promotion_id.int for p in breakdown.promotions] == [1002]
        assert breakdown.discount == 400

    def test_free_shipping_is_worth_the_charge_it_waives(self) -> None:
        shipping = ShippingRate.flat(695)
        breakdown = priced([promotion(AmountOff(600), 1), promotion(FreeShipping(), 2)], shipping=shipping)
        assert [p.promotion_id.int for p in breakdown.promotions] == [1002]
        assert (breakdown.discount, breakdown.shipping_discount) == (0, 695)

    def test_on_a_tie_the_older_promotion_wins(self) -> None:
        breakdown = priced([promotion(AmountOff(600), 7), promotion(PercentOff(Decimal(10)), 3)])
        assert [p.promotion_id.int for p in breakdown.promotions] == [1003]

    def test_a_promotion_whose_conditions_fail_is_not_a_candidate(self) -> None:
        breakdown = priced(
            [promotion(AmountOff(5_000), 1, conditions=Conditions(min_subtotal=10**6)), promotion(AmountOff(100), 2)]
        )
        assert [p.promotion_id.int for p in breakdown.promotions] == [1002]

    def test_a_code_applies_on_top_to_what_is_left(self) -> None:
        breakdown = priced([promotion(AmountOff(1_000))], code(PercentOff(Decimal(10))))
        # 60.00 - 10.00 automatic = 50.00; 10 % of that is 5.00.
        assert [p.amount for p in breakdown.promotions] == [1_000, 500]
        assert breakdown.discount == 1_500

    def test_one_code_at_most_and_a_full_discount_leaves_nothing_to_take(self) -> None:
        breakdown = priced([promotion(PercentOff(Decimal(100)))], code(AmountOff(500)))
        assert [p.amount for p in breakdown.promotions] == [6_000, 0]
        assert breakdown.total == 0

    def test_the_minimum_of_a_code_is_judged_before_any_discount(self) -> None:
        breakdown = priced([promotion(AmountOff(1_000))], code(conditions=Conditions(min_subtotal=6_000)))
        assert breakdown.coupon is not None and breakdown.coupon.applied
