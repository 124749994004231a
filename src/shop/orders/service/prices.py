"""What a cart or an order costs: the pricing inputs gathered in a few queries, then `shop.pricing.price`.

The cart and the checkout price through this one function, so the breakdown the cart shows is the
one the order keeps. The inputs: the lines (variants with their tax class and category), where
they go (the address's country; none yet: no tax, see below), the shipping methods offered there,
the chosen one, the automatic promotions, the code, and the customer.

No address yet: there is nothing to tax against, so the cart is priced with no tax (every class
at 0 %) and no shipping; its tax is known once the address is. In a store whose prices include
tax the total does not change when the address comes (unless the destination is taxed
differently); in one whose prices exclude it, the tax is then added on top.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shop import pricing
from shop.core.config import Settings
from shop.orders import repository
from shop.pricing.arithmetic import ppm
from shop.products.schemas import SaleVariant
from shop.products.service import catalog
from shop.promotions.service import Claim, FoundCode, Offer, redemptions
from shop.shipping.service import Quote, quotes
from shop.taxes.service import NOWHERE, rates


@dataclass(frozen=True, slots=True)
class Option:
    """A shipping method offered at the address, and what shipping this cart with it costs."""

    quote: Quote
    price: int  # the breakdown's shipping_total with this method


@dataclass(frozen=True, slots=True)
class Priced:
    breakdown: pricing.Breakdown
    options: list[Option]  # empty until the address is known, or when nothing ships there
    method: Quote | None
    offer: Offer
    code: FoundCode | None

    def claims(self) -> list[Claim]:
        """The uses the applied promotions take at checkout (redemptions.take)."""
        found = []
        for applied in self.breakdown.promotions:
            if applied.code is not None and self.code is not None:
                # A code that takes nothing off this order (free shipping where shipping is free
                # already) is shown but holds none of its uses.
                if applied.lines_discount or applied.shipping_discount:
                    found.append(Claim(applied.promotion_id, self.code.code_id, True, self.code.per_customer))
            elif (limits := self.offer.limits.get(applied.promotion_id)) is not None:
                found.append(Claim(applied.promotion_id, None, limits.counted, limits.per_customer))
        return found


@dataclass(frozen=True, slots=True)
class Shopper:
    """Who the price is for: the account's id and customer groups."""

    user_id: uuid.UUID
    groups: tuple[str, ...] = ()


def destination_of(address: Mapping[str, Any] | None) -> pricing.Destination | None:
    """Where an address (as stored, or an Address dumped) sends the order: its country, and its
    region (ISO 3166-2) when given, whose own tax rates then win (the Canary Islands, ES-CN)."""
    if address is None:
        return None
    return pricing.Destination(country=address["country"], region=address.get("region"))


def tax_mode(settings: Settings) -> pricing.TaxMode:
    return pricing.TaxMode.inclusive if settings.prices_include_tax else pricing.TaxMode.exclusive


async def price_lines(
    session: AsyncSession,
    *,
    settings: Settings,
    shopper: Shopper,
    lines: Sequence[tuple[SaleVariant, int]],
    destination: pricing.Destination | None,
    method_id: uuid.UUID | None,
    cheapest: bool,
    code: str | None,
    now: datetime,
    generation: int,
) -> Priced:
    """The breakdown of `lines` sent to `destination` by the method `method_id` (when offered there; else,
    with `cheapest`, the cheapest for this cart; else none yet) with `code`, for `shopper` at `now`.

    `now` and the configuration's `generation` are read together first (repository.now_and_generation):
    the tax rates, methods and automatic promotions come from the configuration cache at that generation.
    """
    offered = await quotes.offered(session, country=destination.country, generation=generation) if destination else []
    offer = await redemptions.automatic(session, customer_id=shopper.user_id, generation=generation)
    found = await redemptions.find_code(session, code=code, customer_id=shopper.user_id) if code else None
    in_play = [*offer.promotions, *([found.coupon.promotion] if found and found.coupon.promotion else [])]
    # A line is in its product's category and every one above it; asked only when a promotion
    # in play targets categories.
    lineages = (
        await catalog.category_lineages(
            session, category_ids={variant.category_id for variant, _ in lines if variant.category_id}
        )
        if any(promotion.applies_to and promotion.applies_to.category_ids for promotion in in_play)
        else {}
    )
    priced_lines = [
        pricing.Line(
            product_id=variant.product_id,
            variant_id=variant.id,
            unit_price=variant.price_amount,
            quantity=quantity,
            tax_class=variant.tax_class,
            category_ids=lineages.get(variant.category_id, frozenset([variant.category_id]))
            if variant.category_id
            else frozenset(),
        )
        for variant, quantity in lines
    ]
    # Whether this is a first order matters only to a first-order promotion: no query otherwise.
    first_order_rules = any(promotion.conditions.first_order_only for promotion in in_play)
    has_orders = await repository.has_live_order(session, shopper.user_id) if first_order_rules else True
    customer = redemptions.customer(customer_id=shopper.user_id, groups=shopper.groups, has_orders=has_orders)
    destination = destination or NOWHERE
    classes = {line.tax_class for line in priced_lines} | {quote.rate.tax_class for quote in offered}
    tax_rates = await rates.for_destination(
        session, destination=destination, tax_classes=classes, generation=generation
    )

    def run(shipping: pricing.ShippingRate | None) -> pricing.Breakdown:
        return pricing.price(
            priced_lines,
            currency=settings.currency,
            tax_mode=tax_mode(settings),
            destination=destination,
            tax_rates=tax_rates,
            now=now,
            shipping=shipping,
            customer=customer,
            promotions=offer.promotions,
            coupon=found.coupon if found else None,
        )

    options = [Option(quote, run(quote.rate).shipping_total) for quote in offered]
    chosen = next((option for option in options if option.quote.id == method_id), None)
    if chosen is None and cheapest and options:
        chosen = min(options, key=lambda option: option.price)  # ties: the first by name
    method = chosen.quote if chosen else None
    return Priced(run(method.rate if method else None), options, method, offer, found)


def tax_rows(breakdown: pricing.Breakdown) -> list[dict[str, Any]]:
    """The breakdown's tax rows as the order keeps them."""
    return [{"rate_ppm": ppm(row.rate), "taxable": row.taxable, "tax": row.tax} for row in breakdown.taxes]


def promotion_rows(breakdown: pricing.Breakdown, claims: Sequence[Claim] = ()) -> list[dict[str, Any]]:
    """The applied promotions as the order keeps them, with the uses each took (to give them back)."""
    taken = {claim.promotion_id: claim for claim in claims}
    rows = []
    for applied in breakdown.promotions:
        claim = taken.get(applied.promotion_id)
        rows.append(
            {
                "promotion_id": str(applied.promotion_id),
                "name": applied.name,
                "code": applied.code,
                "lines_discount": applied.lines_discount,
                "shipping_discount": applied.shipping_discount,
                "code_id": str(claim.code_id) if claim and claim.code_id else None,
                "counted": bool(claim and claim.counted),
                "per_customer": bool(claim and claim.per_customer),
            }
        )
    return rows


def claims_of(promotions: Sequence[dict[str, Any]]) -> list[Claim]:
    """The uses an order's snapshot says it took (an order placed before this kept none)."""
    return [
        Claim(
            promotion_id=uuid.UUID(row["promotion_id"]),
            code_id=uuid.UUID(row["code_id"]) if row.get("code_id") else None,
            counted=bool(row.get("counted")),
            per_customer=bool(row.get("per_customer")),
        )
        for row in promotions
    ]
