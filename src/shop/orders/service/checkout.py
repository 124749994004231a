"""Checkout: turn the lines a customer sends (or their cart) into an order, in one transaction.

Every line is checked, the stock of every variant taken atomically (or none of it: 409), the
names and prices copied onto the order, the `order.placed` event recorded and the cart emptied.
Everything commits together or not at all.
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
from shop.orders.errors import EmptyOrder, VariantUnavailable
from shop.orders.metrics import checkout_rejections, count_after_commit, orders_placed
from shop.orders.models import Order, OrderLine, OrderStatusChange
from shop.orders.schemas import MAX_ORDER_LINES, Actor, OrderStatus
from shop.orders.service.present import notice, present_order
from shop.products.schemas import SaleVariant
from shop.products.service import catalog

ORDER_NUMBER_FORMAT = "SO-{:06d}"


@dataclass(frozen=True, slots=True)
class Buyer:
    user_id: uuid.UUID
    email: str
    actor: Actor


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
        if data.items is not None:
            requested = [(item.variant_id, item.quantity) for item in data.items]
        else:
            cart_id, requested = await self._cart_lines(session, buyer.user_id)
        if not requested:
            raise EmptyOrder()
        quantities = _merge(requested)
        variants = await self._for_sale(session, quantities)
        now, sequence_number = await repository.now_and_number(session)
        order = _new_order(buyer, data.shipping_address, quantities, variants, settings, now, sequence_number)
        # The only locks of the checkout, taken last so they are held as briefly as possible.
        await catalog.reserve_stock(session, lines=quantities, reason=f"order {order.number}", actor_id=order.id)
        session.add(order)
        events.publish(session, events.ORDER_PLACED, notice(order))
        if cart_id is not None:
            await repository.delete_lines(session, cart_id)
        return present_order(order)

    async def _cart_lines(
        self, session: AsyncSession, user_id: uuid.UUID
    ) -> tuple[uuid.UUID | None, list[tuple[uuid.UUID, int]]]:
        # The cart's lock keeps a line added meanwhile from being emptied away unordered.
        cart_id = await repository.lock_cart(session, user_id, create=False)
        if cart_id is None:
            return None, []
        lines = await repository.cart_items(session, user_id)
        if len(lines) > MAX_ORDER_LINES:
            raise UnprocessableEntity(
                f"An order has at most {MAX_ORDER_LINES} lines.",
                errors=[{"loc": ["body", "items"], "msg": "Too many lines", "type": "too_long"}],
            )
        return cart_id, lines

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
    settings: Settings,
    now: datetime,
    sequence_number: int,
) -> Order:
    order_id = new_id()
    lines = [
        OrderLine(
            order_id=order_id,
            position=position,
            variant_id=variant_id,
            sku=variants[variant_id].sku,
            name=variants[variant_id].name,
            unit_price_amount=variants[variant_id].price_amount,
            quantity=quantity,
            total_amount=variants[variant_id].price_amount * quantity,
        )
        for position, (variant_id, quantity) in enumerate(quantities.items())
    ]
    subtotal = sum(line.unit_price_amount * line.quantity for line in lines)
    shipping = settings.shipping_flat_amount
    return Order(
        id=order_id,
        number=ORDER_NUMBER_FORMAT.format(sequence_number),
        user_id=buyer.user_id,
        status=OrderStatus.pending_payment,
        currency=settings.currency,
        prices_include_tax=True,
        subtotal_amount=subtotal,
        discount_amount=0,
        shipping_amount=shipping,
        shipping_discount_amount=0,
        shipping_tax_rate_ppm=0,
        shipping_tax_amount=0,
        tax_amount=0,
        total_amount=subtotal + shipping,
        taxes=[],
        promotions=[],
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
