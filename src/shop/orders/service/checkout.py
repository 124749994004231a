"""Checkout: turn the lines a customer sends (or their cart) into an order, in one transaction.

Every line is checked; the order is priced as the cart is (service/prices.py): shipping method,
tax at the address, promotions and code. The refusals of the pricing (nothing ships there, a
method not offered there, a code that does not apply) come before anything is taken. Then the
stock of every variant is taken atomically (or none of it: 409), then the uses of the promotions
applied (or none: 422 `coupon_refused`, used_up), in that order in every checkout, so two
checkouts never wait on each other in a circle. The whole breakdown is copied onto the order and
its lines, the `order.placed` event recorded and the cart emptied (its code with it: it is used).
Everything commits together or not at all.

Which shipping method: the one in the body (refused when not offered at the address); else, when
checking out the cart, the cart's chosen method if it is offered at the address; else the
cheapest offered there for this order (on a tie, the first by name).
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shop import events
from shop.core.config import Settings
from shop.core.db import new_id
from shop.core.errors import ShopError, UnprocessableEntity
from shop.orders import repository, schemas
from shop.orders.errors import (
    REFUSALS,
    CouponRefused,
    EmptyOrder,
    ShippingMethodUnavailable,
    ShippingUnavailable,
    VariantUnavailable,
)
from shop.orders.metrics import checkout_rejections, count_after_commit, orders_placed
from shop.orders.models import Cart, Order, OrderLine, OrderStatusChange
from shop.orders.schemas import MAX_ORDER_LINES, Actor, OrderStatus
from shop.orders.service.present import notice, present_order
from shop.orders.service.prices import Priced, Shopper, destination_of, price_lines, promotion_rows, tax_rows
from shop.pricing import Refusal, TaxMode
from shop.pricing.arithmetic import ppm
from shop.products.schemas import SaleVariant
from shop.products.service import catalog
from shop.promotions.service import redemptions

ORDER_NUMBER_FORMAT = "SO-{:06d}"


@dataclass(frozen=True, slots=True)
class Buyer:
    user_id: uuid.UUID
    email: str
    actor: Actor
    groups: tuple[str, ...] = ()


class CheckoutService:
    async def place(
        self, session: AsyncSession, *, settings: Settings, buyer: Buyer, data: schemas.OrderCreate
    ) -> schemas.Order:
        try:
            order = await self._place(session, settings, buyer, data)
        except ShopError as error:
            if error.status < 500:  # a refusal, not an outage
                checkout_rejections.labels(error.code).inc()
            raise
        count_after_commit(session, orders_placed, order.currency)
        return order

    async def _place(
        self, session: AsyncSession, settings: Settings, buyer: Buyer, data: schemas.OrderCreate
    ) -> schemas.Order:
        cart_id: uuid.UUID | None = None
        # Checking out the cart: its chosen method and code, unless the body gives others.
        cart_method, cart_code, code = None, None, data.coupon_code
        if data.items is not None:
            requested = [(item.variant_id, item.quantity) for item in data.items]
        else:
            row, requested = await self._cart_lines(session, buyer.user_id)
            if row is not None:
                cart_id, cart_method, cart_code = row.id, row.shipping_method_id, row.coupon_code
                code = code or cart_code
        if not requested:
            raise EmptyOrder()
        quantities = _merge(requested)
        variants = await self._for_sale(session, quantities)
        now, sequence_number, generation = await repository.now_number_and_generation(session)
        priced = await self._price(
            session, settings, buyer, data, quantities, variants, code, cart_method, now, generation
        )
        order = _new_order(buyer, data.shipping_address, quantities, variants, priced, now, sequence_number)
        # The only locks of the checkout, taken last so they are held as briefly as possible: the
        # stock in variant order, then the promotions' counters in their fixed order.
        await catalog.reserve_stock(session, lines=quantities, reason=f"order {order.number}", actor_id=order.id)
        claims = priced.claims()
        refused = await redemptions.take(session, claims=claims, customer_id=buyer.user_id)
        if refused is not None:
            # Taken by other checkouts since the price was computed; nothing here is kept.
            automatic = refused.code_id is None
            detail = (
                "A promotion of this order has just run out; check out again for the new price." if automatic else None
            )
            raise CouponRefused(
                Refusal.used_up, ["body", "coupon_code"] if data.coupon_code else ["cart", "coupon"], detail
            )
        order.promotions = promotion_rows(priced.breakdown, claims)
        session.add(order)
        events.publish(session, events.ORDER_PLACED, notice(order))
        if cart_id is not None:
            await repository.delete_lines(session, cart_id)
            if cart_code is not None and cart_code.upper() == order.coupon_code:  # used by this order
                await repository.update_cart(session, cart_id, coupon_code=None)
        return present_order(order)

    async def _price(
        self,
        session: AsyncSession,
        settings: Settings,
        buyer: Buyer,
        data: schemas.OrderCreate,
        quantities: Mapping[uuid.UUID, int],
        variants: Mapping[uuid.UUID, SaleVariant],
        code: str | None,
        cart_method: uuid.UUID | None,
        now: datetime,
        generation: int,
    ) -> Priced:
        """The order priced; every refusal of its shipping or code is raised here, before any lock."""
        priced = await price_lines(
            session,
            settings=settings,
            shopper=Shopper(user_id=buyer.user_id, groups=buyer.groups),
            lines=[(variants[variant_id], quantity) for variant_id, quantity in quantities.items()],
            destination=destination_of(data.shipping_address.model_dump()),
            method_id=data.shipping_method_id or cart_method,
            cheapest=data.shipping_method_id is None,
            code=code,
            now=now,
            generation=generation,
        )
        if not priced.options:
            raise ShippingUnavailable(data.shipping_address.country, ["body", "shipping_address", "country"])
        if priced.method is None:
            raise ShippingMethodUnavailable(
                "This shipping method is not offered at the address.", ["body", "shipping_method_id"]
            )
        outcome = priced.breakdown.coupon
        if outcome is not None and outcome.refusal is not None:
            if data.coupon_code is None:  # the cart's own code, entered earlier, has stopped applying
                raise CouponRefused(
                    outcome.refusal,
                    ["cart", "coupon"],
                    f"The cart's code {outcome.code} no longer applies: {REFUSALS[outcome.refusal]}."
                    " Remove it from the cart or enter another, then check out again.",
                )
            raise CouponRefused(outcome.refusal, ["body", "coupon_code"])
        return priced

    async def _cart_lines(
        self, session: AsyncSession, user_id: uuid.UUID
    ) -> tuple[Cart | None, list[tuple[uuid.UUID, int]]]:
        # The cart's lock keeps a line added meanwhile from being emptied away unordered.
        cart = await repository.lock_cart(session, user_id, create=False)
        if cart is None:
            return None, []
        lines = await repository.cart_items(session, user_id)
        if len(lines) > MAX_ORDER_LINES:
            raise UnprocessableEntity(
                f"An order has at most {MAX_ORDER_LINES} lines.",
                errors=[{"loc": ["body", "items"], "msg": "Too many lines", "type": "too_long"}],
            )
        return cart, lines

    async def _for_sale(
        self, session: AsyncSession, quantities: Mapping[uuid.UUID, int]
    ) -> dict[uuid.UUID, SaleVariant]:
        variants = await catalog.variants_for_sale(session, variant_ids=list(quantities))
        unavailable = [v for v in quantities if v not in variants or not variants[v].for_sale]
        if unavailable:
            raise VariantUnavailable(
                "Some variants cannot be bought (unknown, inactive or archived).",
                errors=[{"variant_id": str(variant_id)} for variant_id in unavailable],
            )
        return variants


def _merge(lines: Sequence[tuple[uuid.UUID, int]]) -> dict[uuid.UUID, int]:
    """One line per variant, in the order first named: a variant on several lines is checked on its sum."""
    quantities: dict[uuid.UUID, int] = {}
    for variant_id, quantity in lines:
        quantities[variant_id] = quantities.get(variant_id, 0) + quantity
    return quantities


def _new_order(
    buyer: Buyer,
    address: schemas.Address,
    quantities: Mapping[uuid.UUID, int],
    variants: Mapping[uuid.UUID, SaleVariant],
    priced: Priced,
    now: datetime,
    sequence_number: int,
) -> Order:
    """The order and its lines, with the breakdown copied as it is now: nothing later changes it."""
    order_id = new_id()
    breakdown = priced.breakdown
    lines = [
        OrderLine(
            order_id=order_id,
            position=position,
            variant_id=variant_id,
            sku=variants[variant_id].sku,
            name=variants[variant_id].name,
            unit_price_amount=line.unit_price,
            quantity=line.quantity,
            discount_amount=line.discount,
            discounts=[{"promotion_id": str(d.promotion_id), "amount": d.amount} for d in line.discounts],
            tax_class=line.tax_class,
            tax_rate_ppm=ppm(line.tax_rate),
            tax_amount=line.tax,
            total_amount=line.total,
        )
        for position, (variant_id, line) in enumerate(zip(quantities, breakdown.lines, strict=True))
    ]
    method = priced.method
    coupon = breakdown.coupon
    return Order(
        id=order_id,
        number=ORDER_NUMBER_FORMAT.format(sequence_number),
        user_id=buyer.user_id,
        status=OrderStatus.pending_payment,
        currency=breakdown.currency,
        prices_include_tax=breakdown.tax_mode is TaxMode.inclusive,
        subtotal_amount=breakdown.subtotal,
        discount_amount=breakdown.discount,
        shipping_amount=breakdown.shipping,
        shipping_discount_amount=breakdown.shipping_discount,
        shipping_tax_rate_ppm=ppm(breakdown.shipping_tax_rate),
        shipping_tax_amount=breakdown.shipping_tax,
        tax_amount=breakdown.tax,
        total_amount=breakdown.total,
        taxes=tax_rows(breakdown),
        promotions=promotion_rows(breakdown),
        coupon_code=coupon.code if coupon is not None and coupon.applied else None,
        shipping_method_id=method.id if method else None,
        shipping_method_name=method.name if method else None,
        shipping_address=address.model_dump(mode="json"),
        email=buyer.email,
        created_at=now,
        updated_at=now,
        lines=lines,
        history=[
            OrderStatusChange(order_id=order_id, status=OrderStatus.pending_payment, actor_role=buyer.actor, at=now)
        ],
    )


checkout = CheckoutService()
