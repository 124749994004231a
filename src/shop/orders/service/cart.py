"""The cart: lines a customer means to buy, where they go, how, and the code entered; shown with
today's prices, availability and the full price breakdown (service/prices.py).

A cart reserves nothing; stock is taken and promotion uses counted only at checkout.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from shop import pricing
from shop.core.config import Settings
from shop.core.errors import UnprocessableEntity
from shop.orders import repository, schemas
from shop.orders.errors import CouponRefused, ShippingMethodUnavailable, ShippingUnavailable, VariantUnavailable
from shop.orders.models import Cart
from shop.orders.schemas import MAX_ORDER_LINES
from shop.orders.service.present import applied_promotions, money, tax_lines
from shop.orders.service.prices import Priced, Shopper, destination_of, price_lines, promotion_rows, tax_rows
from shop.products.schemas import SaleVariant
from shop.products.service import catalog
from shop.shipping.service import quotes


class CartService:
    async def view(self, session: AsyncSession, *, settings: Settings, shopper: Shopper) -> schemas.Cart:
        row = await repository.get_cart(session, shopper.user_id)
        return await self._view(session, settings, shopper, row)

    async def set_quantity(
        self, session: AsyncSession, *, settings: Settings, shopper: Shopper, variant_id: uuid.UUID, quantity: int
    ) -> schemas.Cart:
        """Put a variant in the cart with this quantity (replacing any quantity it had).

        The lines and their variants are read once, under the cart's lock: they check the variant
        and the cart's size, and (with the new quantity) are what the answer prices.
        """
        row = await self._locked(session, shopper.user_id)
        items, variants = await self._contents(session, shopper.user_id, also=variant_id)
        variant = variants.get(variant_id)
        if variant is None or not variant.for_sale:
            raise VariantUnavailable("This variant cannot be bought.", errors=[{"variant_id": str(variant_id)}])
        has_line = any(line_variant == variant_id for line_variant, _ in items)
        if not has_line and len(items) >= MAX_ORDER_LINES:
            raise UnprocessableEntity(
                f"A cart holds at most {MAX_ORDER_LINES} different variants, as an order does.",
                errors=[{"loc": ["path", "variant_id"], "msg": "The cart is full", "type": "too_long"}],
            )
        await repository.put_line(session, row.id, variant_id, quantity)
        # As cart_items() will read them: a new line goes last (it is the newest).
        if has_line:
            items = [(line_variant, quantity if line_variant == variant_id else q) for line_variant, q in items]
        else:
            items.append((variant_id, quantity))
        priced = await self._price(session, settings, shopper, row, items, variants, code=row.coupon_code)
        return present_cart(priced, row, variants)

    async def remove(
        self, session: AsyncSession, *, settings: Settings, shopper: Shopper, variant_id: uuid.UUID
    ) -> schemas.Cart:
        """Remove a line; a variant not in the cart leaves it unchanged."""
        row = await repository.lock_cart(session, shopper.user_id, create=False)
        if row is not None:
            await repository.delete_lines(session, row.id, variant_id)
        return await self._view(session, settings, shopper, row)

    async def clear(self, session: AsyncSession, *, user_id: uuid.UUID) -> None:
        row = await repository.lock_cart(session, user_id, create=False)
        if row is not None:
            await repository.delete_lines(session, row.id)

    async def set_address(
        self, session: AsyncSession, *, settings: Settings, shopper: Shopper, address: schemas.Address
    ) -> schemas.Cart:
        """Where the cart goes: refused when nothing ships there; the chosen method stays if still offered."""
        offered = await quotes.offered(session, country=address.country)
        if not offered:
            raise ShippingUnavailable(address.country, ["body", "shipping_address", "country"])
        row = await self._locked(session, shopper.user_id)
        method_id = row.shipping_method_id if row.shipping_method_id in {q.id for q in offered} else None
        await repository.update_cart(
            session, row.id, shipping_address=address.model_dump(mode="json"), shipping_method_id=method_id
        )
        return await self.view(session, settings=settings, shopper=shopper)

    async def set_method(
        self, session: AsyncSession, *, settings: Settings, shopper: Shopper, method_id: uuid.UUID
    ) -> schemas.Cart:
        """How the cart ships: one of the methods offered at its address."""
        row = await self._locked(session, shopper.user_id)
        loc = ["body", "shipping_method_id"]
        if row.shipping_address is None:
            raise ShippingMethodUnavailable("Set the shipping address first: methods depend on it.", loc)
        offered = await quotes.offered(session, country=row.shipping_address["country"])
        if method_id not in {quote.id for quote in offered}:
            raise ShippingMethodUnavailable("This shipping method is not offered at the cart's address.", loc)
        await repository.update_cart(session, row.id, shipping_method_id=method_id)
        return await self.view(session, settings=settings, shopper=shopper)

    async def set_coupon(
        self, session: AsyncSession, *, settings: Settings, shopper: Shopper, code: str
    ) -> schemas.Cart:
        """Enter a code: kept only if it applies to the cart now (else 422 `coupon_refused`, why in `type`)."""
        row = await self._locked(session, shopper.user_id)
        items, variants = await self._contents(session, shopper.user_id)
        priced = await self._price(session, settings, shopper, row, items, variants, code=code)
        outcome = priced.breakdown.coupon
        assert outcome is not None
        if outcome.refusal is not None:
            raise CouponRefused(outcome.refusal, ["body", "code"])
        await repository.update_cart(session, row.id, coupon_code=outcome.code)
        # Priced with the code just kept: the cart as it now is, without pricing it a second time.
        return present_cart(priced, row, variants)

    async def remove_coupon(self, session: AsyncSession, *, settings: Settings, shopper: Shopper) -> schemas.Cart:
        row = await repository.lock_cart(session, shopper.user_id, create=False)
        if row is not None:
            await repository.update_cart(session, row.id, coupon_code=None)
        return await self.view(session, settings=settings, shopper=shopper)

    async def _locked(self, session: AsyncSession, user_id: uuid.UUID) -> Cart:
        row = await repository.lock_cart(session, user_id, create=True)
        assert row is not None
        return row

    async def _contents(
        self, session: AsyncSession, user_id: uuid.UUID, *, also: uuid.UUID | None = None
    ) -> tuple[list[tuple[uuid.UUID, int]], dict[uuid.UUID, SaleVariant]]:
        """The cart's (variant id, quantity) lines, and their variants (and `also`'s) as the catalog has them now."""
        items = await repository.cart_items(session, user_id)
        wanted = dict.fromkeys([*(variant_id for variant_id, _ in items), *([also] if also else [])])
        return items, await catalog.variants_for_sale(session, variant_ids=list(wanted))

    async def _price(
        self,
        session: AsyncSession,
        settings: Settings,
        shopper: Shopper,
        row: Cart | None,
        items: list[tuple[uuid.UUID, int]],
        variants: dict[uuid.UUID, SaleVariant],
        *,
        code: str | None,
    ) -> Priced:
        """The cart's `items` priced with `code`."""
        # A line whose variant is gone cannot be while the foreign key holds; never a 500 for it.
        lines = [(variants[variant_id], quantity) for variant_id, quantity in items if variant_id in variants]
        address = row.shipping_address if row else None
        now, generation = await repository.now_and_generation(session)
        return await price_lines(
            session,
            settings=settings,
            shopper=shopper,
            lines=lines,
            destination=destination_of(address),
            method_id=row.shipping_method_id if row else None,
            cheapest=False,
            code=code,
            now=now,
            generation=generation,
        )

    async def _view(
        self, session: AsyncSession, settings: Settings, shopper: Shopper, row: Cart | None
    ) -> schemas.Cart:
        items, variants = await self._contents(session, shopper.user_id)
        priced = await self._price(
            session, settings, shopper, row, items, variants, code=row.coupon_code if row else None
        )
        return present_cart(priced, row, variants)


def present_cart(priced: Priced, row: Cart | None, variants: dict[uuid.UUID, SaleVariant]) -> schemas.Cart:
    breakdown = priced.breakdown
    currency = breakdown.currency
    return schemas.Cart(
        items=[_line(line, variants[line.variant_id], currency) for line in breakdown.lines],
        subtotal=money(breakdown.subtotal, currency),
        item_count=sum(line.quantity for line in breakdown.lines),
        shipping_address=schemas.Address.model_validate(row.shipping_address) if row and row.shipping_address else None,
        shipping_method_id=priced.method.id if priced.method else None,
        shipping_methods=[
            schemas.ShippingOption(
                id=option.quote.id,
                name=option.quote.name,
                price=money(option.price, currency),
                delivery_estimate=(
                    schemas.DeliveryEstimate(min_days=option.quote.min_days, max_days=option.quote.max_days)
                    if option.quote.min_days is not None or option.quote.max_days is not None
                    else None
                ),
            )
            for option in priced.options
        ],
        coupon=(
            schemas.CouponState(
                code=breakdown.coupon.code,
                applied=breakdown.coupon.applied,
                reason=breakdown.coupon.refusal.value if breakdown.coupon.refusal else None,
            )
            if breakdown.coupon
            else None
        ),
        discount_total=money(breakdown.discount, currency),
        shipping_total=money(breakdown.shipping_total, currency) if priced.method else None,
        tax_total=money(breakdown.tax, currency),
        total=money(breakdown.total, currency),
        # No address, no tax known yet: no invoice rows rather than a row at 0 %.
        taxes=tax_lines(tax_rows(breakdown), currency) if row and row.shipping_address else [],
        promotions=applied_promotions(promotion_rows(breakdown), currency),
        prices_include_tax=breakdown.tax_mode is pricing.TaxMode.inclusive,
    )


def _line(line: pricing.PricedLine, variant: SaleVariant, currency: str) -> schemas.CartLine:
    return schemas.CartLine(
        variant_id=line.variant_id,
        sku=variant.sku,
        name=variant.name,
        unit_price=money(line.unit_price, currency),
        quantity=line.quantity,
        line_total=money(line.subtotal, currency),
        available=variant.for_sale and variant.stock >= line.quantity,
        discount=money(line.discount, currency),
        tax_rate=str(line.tax_rate),
        tax=money(line.tax, currency),
        total=money(line.total, currency),
    )


cart = CartService()
