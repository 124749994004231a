"""The benchmark's data: 10,000 products with 3 variants each in nested categories, 1,000 customers,
and the pricing a German shop runs: VAT, a shipping method and an automatic promotion, so every
checkout computes tax, shipping and a discount.

Rows go straight into the database in large batches (seeding is not what is measured); the
lists the load scripts draw from are written next to them.
"""

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from shop.core.config import Settings
from shop.core.db import Database, new_id, unit_of_work
from shop.core.security import Role
from shop.products import repository
from shop.products.models import Category, Product, Variant
from shop.promotions.models import Promotion
from shop.shipping.models import ShippingMethod, ShippingZone, ShippingZoneCountry
from shop.taxes.models import TaxClass, TaxRate
from shop.users.models import User
from shop.users.passwords import hash_password
from shop.users.tokens import create_access_token

ADJECTIVES = ["classic", "light", "warm", "slim", "rugged", "soft", "bold", "urban", "vintage", "summer"]
MATERIALS = ["cotton", "linen", "wool", "denim", "leather", "canvas", "fleece", "silk", "merino", "suede"]
NOUNS = ["shirt", "jacket", "sneaker", "boot", "hoodie", "scarf", "backpack", "trousers", "dress", "cap"]
SIZES = ["S", "M", "L"]
BATCH = 2000
PASSWORD = "benchmark password"


async def seed(settings: Settings, data_dir: Path, products: int = 10_000, customers: int = 1_000) -> None:
    rng = random.Random(7)
    database = Database(settings)
    try:
        categories = await _categories(database)
        product_ids, variant_ids = await _products(database, rng, categories, products)
        tokens = await _customers(database, settings, customers)
        await _pricing(database)
        # Measure the tables as autovacuum would leave them, not full of the seed's dead rows.
        async with database.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
            await connection.execute(text("VACUUM ANALYZE"))
    finally:
        await database.dispose()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "product_ids.txt").write_text("\n".join(str(i) for i in product_ids) + "\n")
    (data_dir / "variant_ids.txt").write_text("\n".join(str(i) for i in variant_ids) + "\n")
    (data_dir / "category_slugs.txt").write_text("\n".join(slug for _, slug in categories) + "\n")
    queries = [f"{a}+{n}" for a in ADJECTIVES for n in NOUNS] + MATERIALS + ["jaket", "sneakr", "hoody"]
    (data_dir / "search_queries.txt").write_text("\n".join(queries) + "\n")
    (data_dir / "customer_tokens.txt").write_text("\n".join(tokens) + "\n")


async def _categories(database: Database) -> list[tuple[uuid.UUID, str]]:
    """Ten departments with six sub-categories each; products live in the sub-categories."""
    rows, leaves = [], []
    for department in NOUNS:
        parent = new_id()
        rows.append({"id": parent, "name": department.title(), "slug": department, "parent_id": None})
        for material in MATERIALS[:6]:
            leaf = new_id()
            slug = f"{material}-{department}"
            rows.append({"id": leaf, "name": f"{material.title()} {department}", "slug": slug, "parent_id": parent})
            leaves.append((leaf, slug))
    async with unit_of_work(database) as session:
        await session.execute(insert(Category), rows)
    return leaves


async def _products(
    database: Database, rng: random.Random, categories: list[tuple[uuid.UUID, str]], count: int
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """The products, and the variants a buyer can order (some run out under checkout load)."""
    start = datetime.now(UTC) - timedelta(days=365)
    ids, orderable = [], []
    for offset in range(0, count, BATCH):
        products, variants = [], []
        for index in range(offset, min(offset + BATCH, count)):
            product_id = new_id()
            ids.append(product_id)
            category_id, slug = categories[index % len(categories)]
            name = f"{rng.choice(ADJECTIVES).title()} {slug.replace('-', ' ')} {index}"
            products.append(
                {
                    "id": product_id,
                    "slug": f"{slug}-{index}",
                    "name": name,
                    "description": f"A {rng.choice(ADJECTIVES)} {slug.replace('-', ' ')} for every day.",
                    "category_id": category_id,
                    "images": [f"https://picsum.photos/seed/{slug}-{index}/800/800"],
                    "created_at": start + timedelta(minutes=index),
                }
            )
            base = rng.randrange(1500, 12000, 100)
            for number, size in enumerate(SIZES):
                variant_id, stock = new_id(), rng.choice([0, 5, 20, 100, 1000])
                if stock:
                    orderable.append(variant_id)
                variants.append(
                    {
                        "id": variant_id,
                        "product_id": product_id,
                        "sku": f"B{index:06d}-{size}",
                        "name": size,
                        "price_amount": base + number * 200,
                        "stock": stock,
                        "attributes": {"size": size},
                    }
                )
        async with unit_of_work(database) as session:
            await session.execute(insert(Product), products)
            await session.execute(insert(Variant), variants)
    async with unit_of_work(database) as session:
        await repository.refresh_price_sort(session, *ids)
    return ids, orderable


async def _pricing(database: Database) -> None:
    """German VAT (the load's address is in Berlin), DHL at 4.90, and 5 % off every order."""
    async with unit_of_work(database) as session:
        classes = dict((await session.execute(select(TaxClass.code, TaxClass.id))).all())
        await session.execute(
            insert(TaxRate),
            [
                {"tax_class_id": classes["standard"], "country": "DE", "rate_ppm": 190_000},
                {"tax_class_id": classes["reduced"], "country": "DE", "rate_ppm": 70_000},
            ],
        )
        zone = new_id()
        await session.execute(insert(ShippingZone).values(id=zone, name="Germany"))
        await session.execute(insert(ShippingZoneCountry).values(country="DE", zone_id=zone))
        await session.execute(
            insert(ShippingMethod).values(zone_id=zone, name="DHL Paket", bands=[{"from_subtotal": 0, "amount": 490}])
        )
        await session.execute(
            insert(Promotion).values(name="5 % off every order", automatic=True, benefit="percent", percent_ppm=50_000)
        )


async def _customers(database: Database, settings: Settings, count: int) -> list[str]:
    password_hash = await hash_password(PASSWORD)
    rows = [
        {
            "id": new_id(),
            "email": f"customer{n}@example.com",
            "full_name": f"Customer {n}",
            "password_hash": password_hash,
        }
        for n in range(count)
    ]
    async with unit_of_work(database) as session:
        await session.execute(insert(User), rows)
    return [create_access_token(row["id"], Role.customer, settings) for row in rows]
