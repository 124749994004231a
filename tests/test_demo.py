"""`shop seed-demo`: a realistic catalog and an EU store set-up, the same on every run, never duplicated."""

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import func, select, text

from shop.core.config import Settings
from shop.core.resources import Resources
from shop.demo import COUPON_CODE, VAT, seed_demo_if_empty
from shop.products.catalog_file import parse_row
from shop.products.demo import DEMO_PRODUCTS, catalog_is_empty, category_plan, demo_lines
from shop.products.models import Category, Product, Variant
from shop.promotions.models import Promotion, PromotionCode
from shop.shipping.models import ShippingMethod, ShippingZone, ShippingZoneCountry
from shop.taxes.models import TaxRate
from tests.fixtures.catalog import create_products
from tests.fixtures.cli import shop


async def counts(resources: Resources) -> tuple[int, ...]:
    """Rows of the catalog (categories, products, variants), then of the store set-up."""
    tables = (Category, Product, Variant, TaxRate, ShippingZone, ShippingZoneCountry, ShippingMethod, Promotion)
    async with resources.database.sessionmaker() as session:
        return tuple([await session.scalar(select(func.count()).select_from(table)) or 0 for table in tables])


def test_the_demo_lines_are_valid_and_the_same_every_time() -> None:
    first = [line.values for line in demo_lines()]
    assert first == [line.values for line in demo_lines()]
    rows = [parse_row(line) for line in demo_lines()]
    assert not [row for row in rows if isinstance(row, str)]
    assert len({row.product_slug for row in rows if not isinstance(row, str)}) == DEMO_PRODUCTS
    assert len(rows) >= 3 * DEMO_PRODUCTS, "several variants per product"
    parents = dict(category_plan())

    def depth(name: str | None) -> int:
        return 0 if name is None else 1 + depth(parents[name])

    assert max(depth(name) for name in parents) == 3, "categories nest (Clothing > Men > Jeans)"


async def test_seed_demo_twice_gives_one_catalog_the_storefront_lists(
    settings: Settings, tmp_path: Path, resources: Resources, client: httpx.AsyncClient
) -> None:
    assert await catalog_is_empty(resources.database.sessionmaker)
    first = await asyncio.to_thread(shop, settings, tmp_path, "seed-demo")
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"demo shop ready: {DEMO_PRODUCTS} products, VAT for {len(VAT)} places, coupon WELCOME10\n"
    seeded = await counts(resources)
    assert seeded[:2] == (len(category_plan()), DEMO_PRODUCTS)
    # Three classes a place; three zones (Germany, the EU, the migrations' rest of the world) with
    # four methods; an automatic promotion and the coupon's.
    assert seeded[3:] == (3 * len(VAT), 3, 11, 4, 2)
    async with resources.database.sessionmaker() as session:
        code = (await session.execute(select(PromotionCode.code))).scalar_one()
        automatic = (await session.execute(select(Promotion).where(Promotion.automatic))).scalar_one()
    assert code == COUPON_CODE and automatic.category_ids, "the automatic promotion discounts a category"
    assert not await catalog_is_empty(resources.database.sessionmaker)

    again = await asyncio.to_thread(shop, settings, tmp_path, "seed-demo")
    assert again.returncode == 0, again.stderr
    assert await counts(resources) == seeded, "nothing duplicated"

    page = (await client.get("/api/v1/products", params={"limit": 100, "category": "clothing"})).json()
    assert len(page["items"]) == 100 and page["next_cursor"], "sub-categories are listed under their parent"
    product = page["items"][0]
    assert product["images"][0].startswith("https://picsum.photos/seed/")
    assert product["variants"] and product["price_range"] is not None
    assert {"colour"} <= set(product["variants"][0]["attributes"])
    found = (await client.get("/api/v1/products", params={"q": "merino"})).json()["items"]
    assert found, "the demo catalog is searchable"


async def test_shop_dev_seeds_only_a_shop_without_products(settings: Settings, resources: Resources) -> None:
    await create_products(resources, 1)
    assert not await asyncio.to_thread(seed_demo_if_empty, settings)
    assert (await counts(resources))[1] == 1, "a shop with products of its own is left alone"
    async with resources.database.engine.begin() as connection:
        await connection.execute(text("TRUNCATE variant, product CASCADE"))
    assert await asyncio.to_thread(seed_demo_if_empty, settings)
    assert (await counts(resources))[1] == DEMO_PRODUCTS
    assert not await asyncio.to_thread(seed_demo_if_empty, settings)
