"""The cart: lines a customer means to buy, shown with today's prices and availability.

A cart reserves nothing; stock is taken only at checkout.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.errors import UnprocessableEntity
from shop.orders import repository, schemas
from shop.orders.errors import VariantUnavailable
from shop.orders.schemas import MAX_ORDER_LINES
from shop.orders.service.present import money
from shop.products.service import catalog


class CartService:
    async def view(self, session: AsyncSession, *, user_id: uuid.UUID, currency: str) -> schemas.Cart:
        items = await repository.cart_items(session, user_id)
        variants = await catalog.variants_for_sale(session, variant_ids=[variant_id for variant_id, _ in items])
        lines = []
        for variant_id, quantity in items:
            variant = variants.get(variant_id)
            if variant is None:  # cannot happen while the foreign key holds; never a 500 for it
                continue
            lines.append(
                schemas.CartLine(
                    variant_id=variant_id,
                    sku=variant.sku,
                    name=variant.name,
                    unit_price=money(variant.price_amount, currency),
                    quantity=quantity,
                    line_total=money(variant.price_amount * quantity, currency),
                    available=variant.for_sale and variant.stock >= quantity,
                )
            )
        return schemas.Cart(
            items=lines,
            subtotal=money(sum(line.line_total.amount for line in lines), currency),
            item_count=sum(line.quantity for line in lines),
        )

    async def set_quantity(
        self, session: AsyncSession, *, user_id: uuid.UUID, variant_id: uuid.UUID, quantity: int, currency: str
    ) -> schemas.Cart:
        """Put a variant in the cart with this quantity (replacing any quantity it had)."""
        variant = (await catalog.variants_for_sale(session, variant_ids=[variant_id])).get(variant_id)
        if variant is None or not variant.for_sale:
            raise VariantUnavailable("This variant cannot be bought.", errors=[{"variant_id": str(variant_id)}])
        cart_id = await repository.lock_cart(session, user_id, create=True)
        assert cart_id is not None
        is_new = not await repository.has_line(session, cart_id, variant_id)
        if is_new and await repository.count_lines(session, cart_id) >= MAX_ORDER_LINES:
            raise UnprocessableEntity(
                f"A cart holds at most {MAX_ORDER_LINES} different variants, as an order does.",
                errors=[{"loc": ["path", "variant_id"], "msg": "The cart is full", "type": "too_long"}],
            )
        await repository.put_line(session, cart_id, variant_id, quantity)
        return await self.view(session, user_id=user_id, currency=currency)

    async def remove(
        self, session: AsyncSession, *, user_id: uuid.UUID, variant_id: uuid.UUID, currency: str
    ) -> schemas.Cart:
        """Remove a line; a variant not in the cart leaves it unchanged."""
        cart_id = await repository.lock_cart(session, user_id, create=False)
        if cart_id is not None:
            await repository.delete_lines(session, cart_id, variant_id)
        return await self.view(session, user_id=user_id, currency=currency)

    async def clear(self, session: AsyncSession, *, user_id: uuid.UUID) -> None:
        cart_id = await repository.lock_cart(session, user_id, create=False)
        if cart_id is not None:
            await repository.delete_lines(session, cart_id)


cart = CartService()
