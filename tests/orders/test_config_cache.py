"""The pricing's configuration cache (shop/core/config_cache.py): whatever writes the tax rates,
the shipping methods or the promotions (another server, the CLI, psql), the next price uses it.

Every write here is plain SQL on its own connection: this process is told nothing, as a server is
told nothing of a write another server made, and only the generation can tell it.
"""

import httpx
from sqlalchemy import text

from shop.core.resources import Resources
from tests.fixtures.auth import Account
from tests.fixtures.orders import create_variants, get_cart, put
from tests.fixtures.pricing import create_method, create_promotion, create_zone
from tests.orders.test_cart_pricing import DE, eur, german_store, set_address


async def sql(resources: Resources, statement: str) -> None:
    async with resources.database.engine.begin() as connection:
        await connection.execute(text(statement))


async def generation(resources: Resources) -> int:
    async with resources.database.engine.connect() as connection:
        return int((await connection.execute(text("SELECT generation FROM config_generation"))).scalar_one())


class TestWritesArePricedAtOnce:
    async def test_a_tax_rate_a_shipping_price_and_a_promotion_changed_in_sql(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        shirt, _ = await german_store(resources)
        zone = await create_zone(resources, "Germany", ["DE"])
        await create_method(resources, zone, "DHL", 495)
        await create_promotion(resources, "Winter", automatic=True, amount=100)  # the only promotion
        await put(client, customer, shirt, 1)
        await set_address(client, customer, DE)
        cart = await get_cart(client, customer)  # priced, and the configuration cached
        assert (cart["items"][0]["tax_rate"], cart["shipping_methods"][0]["price"], cart["discount_total"]) == (
            "19",
            eur(495),
            eur(100),
        )

        await sql(resources, "UPDATE tax_rate SET rate_ppm = 70000 WHERE country = 'DE'")
        assert (await get_cart(client, customer))["items"][0]["tax_rate"] == "7"
        await sql(resources, """UPDATE shipping_method SET bands = '[{"from_subtotal": 0, "amount": 295}]'""")
        assert (await get_cart(client, customer))["shipping_methods"][0]["price"] == eur(295)
        await sql(resources, "UPDATE promotion SET is_active = false")
        assert (await get_cart(client, customer))["discount_total"] == eur(0)
        await sql(resources, "DELETE FROM tax_rate")
        assert (await get_cart(client, customer))["items"][0]["tax_rate"] == "0"

    async def test_a_limited_promotion_used_up_meanwhile_no_longer_applies(
        self, client: httpx.AsyncClient, resources: Resources, customer: Account
    ) -> None:
        (variant,) = await create_variants(resources, [5], prices=[1000])
        await create_promotion(resources, "Ten first", automatic=True, amount=100, max_uses=10)
        await put(client, customer, variant, 1)
        assert (await get_cart(client, customer))["discount_total"] == eur(100)
        before = await generation(resources)
        # Uses are taken by checkouts, not configured: the cache stays, its counter is read live.
        await sql(resources, "UPDATE promotion SET uses = 10")
        assert await generation(resources) == before
        assert (await get_cart(client, customer))["discount_total"] == eur(0)


class TestTheGeneration:
    async def test_a_use_taken_leaves_it_and_any_edit_bumps_it(self, resources: Resources) -> None:
        await create_promotion(resources, "Spring", automatic=True, percent="5", max_uses=5)
        start = await generation(resources)
        await sql(resources, "UPDATE promotion SET uses = uses + 1, updated_at = now()")
        assert await generation(resources) == start
        await sql(resources, "UPDATE promotion SET max_uses = 6")
        assert await generation(resources) != start
        for statement in (
            "UPDATE tax_class SET name = 'Standard' WHERE code = 'standard'",
            "INSERT INTO tax_rate (id, tax_class_id, country, rate_ppm)"
            " SELECT gen_random_uuid(), id, 'FR', 200000 FROM tax_class WHERE code = 'standard'",
            "UPDATE shipping_zone SET name = 'World'",
            "DELETE FROM shipping_zone_country",
            "UPDATE shipping_method SET is_active = true",
        ):
            before = await generation(resources)
            await sql(resources, statement)
            assert await generation(resources) != before, statement
