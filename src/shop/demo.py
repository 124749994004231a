"""`shop seed-demo`: the demo catalog and a realistic EU store set-up around it.

The set-up is what a shop in Germany selling across the EU starts with: VAT rates (standard,
reduced, zero) for a dozen countries, the Canary Islands' own zero rate, a German and an EU
shipping zone with their methods, a rest-of-the-world rate, one automatic promotion and one
coupon code. Every row is found by its natural key before it is written, so a second run changes
nothing and duplicates nothing.
"""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop.core.config import Settings
from shop.core.db import commit
from shop.products.cli import run_on_database, seed_demo_catalog, with_database
from shop.products.models import Category
from shop.promotions.models import Promotion, PromotionCode
from shop.shipping.models import ShippingMethod, ShippingZone, ShippingZoneCountry
from shop.taxes.models import TaxClass, TaxRate

if TYPE_CHECKING:
    from shop.core.resources import Resources

# Country (or ISO 3166-2 region) → (standard, reduced) VAT in parts per million, as of 2026.
VAT: dict[tuple[str, str | None], tuple[int, int]] = {
    ("DE", None): (190_000, 70_000),
    ("AT", None): (200_000, 100_000),
    ("BE", None): (210_000, 60_000),
    ("DK", None): (250_000, 250_000),  # Denmark has no reduced rate
    ("ES", None): (210_000, 100_000),
    ("ES", "ES-CN"): (0, 0),  # the Canary Islands are outside the EU VAT area
    ("FR", None): (200_000, 55_000),
    ("IE", None): (230_000, 135_000),
    ("IT", None): (220_000, 100_000),
    ("NL", None): (210_000, 90_000),
    ("PL", None): (230_000, 80_000),
    ("PT", None): (230_000, 60_000),
}
GERMANY = ("DE",)
EUROPEAN_UNION = ("AT", "BE", "DK", "ES", "FR", "IE", "IT", "NL", "PL", "PT")


@dataclass(frozen=True)
class DemoMethod:
    name: str
    bands: tuple[tuple[int, int], ...]  # (from subtotal, amount), in cents
    free_from: int | None
    days: tuple[int, int]


ZONES: dict[str, tuple[Sequence[str], tuple[DemoMethod, ...]]] = {
    "Germany": (
        GERMANY,
        (
            DemoMethod("DHL Paket", ((0, 490),), free_from=5_000, days=(1, 3)),
            DemoMethod("DHL Express", ((0, 1_290),), free_from=None, days=(1, 1)),
        ),
    ),
    "European Union": (
        EUROPEAN_UNION,
        (DemoMethod("EU Standard", ((0, 990), (10_000, 590)), free_from=15_000, days=(3, 7)),),
    ),
}
# The default zone (migration 0011's "Everywhere") keeps its method, at a real international price.
REST_OF_WORLD = DemoMethod("Standard shipping", ((0, 2_490),), free_from=None, days=(7, 14))

AUTOMATIC_PROMOTION = "Scarf season: 15 % off every scarf"
PROMOTED_CATEGORY_SLUG = "scarves"
COUPON_PROMOTION = "Welcome: 10 % off your first order from 30 EUR"
COUPON_CODE = "WELCOME10"


def seed_demo() -> None:
    """`shop seed-demo` (shop/cli.py): the demo catalog and its store set-up, then one line saying so."""
    from shop.products.demo import DEMO_PRODUCTS

    run_on_database(seed_everything)
    typer.echo(f"demo shop ready: {DEMO_PRODUCTS} products, VAT for {len(VAT)} places, coupon {COUPON_CODE}")


def seed_demo_if_empty(settings: Settings) -> bool:
    """The demo shop for a shop without any product yet (`shop dev` on its first run)."""
    from shop.products.demo import catalog_is_empty

    async def seed(resources: "Resources") -> bool:
        if not await catalog_is_empty(resources.database.sessionmaker):
            return False
        await seed_everything(resources)
        return True

    return asyncio.run(with_database(settings, seed))


async def seed_everything(resources: "Resources") -> None:
    await seed_demo_catalog(resources)
    await seed_store_setup(resources.database.sessionmaker)


async def seed_store_setup(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Write the demo tax rates, shipping zones and promotions that are missing."""
    async with sessions() as session:
        await _vat_rates(session)
        await _shipping(session)
        await _promotions(session)
        await commit(session)


async def _vat_rates(session: AsyncSession) -> None:
    classes: dict[str, uuid.UUID] = dict((await session.execute(select(TaxClass.code, TaxClass.id))).all())
    rows = [
        {"tax_class_id": classes[code], "country": country, "region": region, "rate_ppm": rate}
        for (country, region), (standard, reduced) in VAT.items()
        for code, rate in (("standard", standard), ("reduced", reduced), ("zero", 0))
    ]
    await session.execute(insert(TaxRate).values(rows).on_conflict_do_nothing())


async def _shipping(session: AsyncSession) -> None:
    for name, (countries, methods) in ZONES.items():
        zone = await session.scalar(select(ShippingZone).where(ShippingZone.name == name))
        if zone is None:
            zone = ShippingZone(name=name)
            session.add(zone)
            await session.flush()
            await session.execute(
                insert(ShippingZoneCountry)
                .values([{"country": country, "zone_id": zone.id} for country in countries])
                .on_conflict_do_nothing()
            )
        for method in methods:
            await _method(session, zone, method)
    default = await session.scalar(select(ShippingZone).where(ShippingZone.is_default))
    if default is not None:
        await _method(session, default, REST_OF_WORLD)


async def _method(session: AsyncSession, zone: ShippingZone, demo: DemoMethod) -> None:
    method = await session.scalar(
        select(ShippingMethod).where(ShippingMethod.zone_id == zone.id, ShippingMethod.name == demo.name)
    )
    if method is None:
        method = ShippingMethod(zone_id=zone.id, name=demo.name)
        session.add(method)
    method.bands = [{"from_subtotal": start, "amount": amount} for start, amount in demo.bands]
    method.free_from = demo.free_from
    method.min_delivery_days, method.max_delivery_days = demo.days


async def _promotions(session: AsyncSession) -> None:
    scarves = await session.scalar(select(Category.id).where(Category.slug == PROMOTED_CATEGORY_SLUG))
    if scarves is not None and not await _promotion_named(session, AUTOMATIC_PROMOTION):
        session.add(
            Promotion(
                name=AUTOMATIC_PROMOTION, automatic=True, benefit="percent", percent_ppm=150_000, category_ids=[scarves]
            )
        )
    if not await _promotion_named(session, COUPON_PROMOTION):
        welcome = Promotion(
            name=COUPON_PROMOTION,
            automatic=False,
            benefit="percent",
            percent_ppm=100_000,
            min_subtotal=3_000,
            first_order_only=True,
            max_uses_per_customer=1,
        )
        session.add(welcome)
        await session.flush()
        await session.execute(
            insert(PromotionCode).values(promotion_id=welcome.id, code=COUPON_CODE).on_conflict_do_nothing()
        )


async def _promotion_named(session: AsyncSession, name: str) -> bool:
    return await session.scalar(select(Promotion.id).where(Promotion.name == name).limit(1)) is not None
