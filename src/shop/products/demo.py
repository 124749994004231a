"""`shop seed-demo`: a realistic demo catalog, the same every time.

About three hundred products over a tree of categories, each with a few variants (sizes,
colours, capacities), prices, stock and image URLs. A seeded random generator makes every run
produce the same lines, and they go through the import's upsert by SKU: a second run changes
nothing and duplicates nothing.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop.core.db import commit
from shop.products import repository
from shop.products.catalog_file import SourceLine
from shop.products.importing import ImportReport, import_catalog
from shop.products.models import Product
from shop.products.schemas import CategoryCreate
from shop.products.service.catalog import slugify
from shop.products.service.categories import categories

SEED = 20261124
PRODUCTS_PER_CATEGORY = 15


@dataclass(frozen=True)
class Kind:
    """A leaf category and what its products are like."""

    category: str
    parent: str
    code: str  # starts the SKUs
    nouns: tuple[str, ...]
    materials: tuple[str, ...]
    sizes: tuple[str, ...]
    price: tuple[int, int]  # in whole units of the currency


APPAREL = ("XS", "S", "M", "L", "XL")
SHOE_SIZES = ("38", "39", "40", "41", "42", "43", "44")
ONE_SIZE = ("One size",)
FABRICS = ("Cotton", "Organic Cotton", "Linen", "Merino", "Recycled")
TECHNICAL = ("Lightweight", "Breathable", "Recycled", "Waterproof")
COLOURS = ("Black", "White", "Navy", "Olive", "Sand", "Burgundy", "Grey", "Sky Blue", "Rust", "Forest Green")
ADJECTIVES = (
    "Classic",
    "Everyday",
    "Essential",
    "Urban",
    "Heritage",
    "Coastal",
    "Alpine",
    "Studio",
    "Nordic",
    "Vintage",
)

# Top-level categories and their children; the leaves are the kinds below.
TREE = {
    "Clothing": ("Men", "Women", "Kids"),
    "Shoes": (),
    "Home": ("Kitchen", "Living"),
    "Sports": (),
    "Accessories": (),
}
KINDS = (
    Kind("Men's T-shirts", "Men", "TSH", ("T-Shirt", "Crew Tee", "Henley"), FABRICS, APPAREL, (15, 40)),
    Kind(
        "Men's Jackets",
        "Men",
        "MJK",
        ("Jacket", "Overshirt", "Parka"),
        ("Wool", "Canvas", "Quilted"),
        APPAREL,
        (80, 250),
    ),
    Kind(
        "Jeans",
        "Men",
        "JNS",
        ("Jeans", "Chinos"),
        ("Slim", "Straight", "Relaxed", "Tapered"),
        ("30", "32", "34", "36"),
        (50, 130),
    ),
    Kind(
        "Dresses",
        "Women",
        "DRS",
        ("Dress", "Midi Dress", "Wrap Dress"),
        ("Linen", "Silk", "Jersey", "Cotton"),
        APPAREL,
        (45, 160),
    ),
    Kind(
        "Tops",
        "Women",
        "TOP",
        ("Blouse", "Top", "Cardigan"),
        ("Silk", "Cotton", "Cashmere", "Linen"),
        APPAREL,
        (25, 90),
    ),
    Kind(
        "Kids' Wear",
        "Kids",
        "KID",
        ("Hoodie", "Romper", "Sweatshirt"),
        ("Cotton", "Fleece", "Organic"),
        ("2Y", "4Y", "6Y", "8Y"),
        (15, 45),
    ),
    Kind(
        "Socks",
        "Clothing",
        "SCK",
        ("Socks", "Ankle Socks", "Hiking Socks"),
        ("Merino", "Cotton", "Bamboo"),
        ("36-40", "41-46"),
        (6, 22),
    ),
    Kind(
        "Sneakers",
        "Shoes",
        "SNK",
        ("Sneaker", "Runner", "Court Shoe"),
        ("Leather", "Suede", "Canvas", "Knit"),
        SHOE_SIZES,
        (60, 170),
    ),
    Kind(
        "Boots",
        "Shoes",
        "BOT",
        ("Boot", "Chelsea Boot", "Hiking Boot"),
        ("Leather", "Suede", "Waxed"),
        SHOE_SIZES,
        (90, 260),
    ),
    Kind(
        "Mugs",
        "Kitchen",
        "MUG",
        ("Mug", "Cup", "Tumbler"),
        ("Stoneware", "Porcelain", "Enamel"),
        ("250 ml", "350 ml", "500 ml"),
        (8, 28),
    ),
    Kind(
        "Cookware",
        "Kitchen",
        "CKW",
        ("Frying Pan", "Saucepan", "Dutch Oven"),
        ("Cast Iron", "Stainless", "Copper"),
        ("20 cm", "24 cm", "28 cm"),
        (30, 180),
    ),
    Kind(
        "Tableware",
        "Kitchen",
        "TBL",
        ("Plate Set", "Bowl Set", "Serving Board"),
        ("Stoneware", "Oak", "Porcelain"),
        ONE_SIZE,
        (20, 95),
    ),
    Kind(
        "Cushions",
        "Living",
        "CSH",
        ("Cushion", "Throw Pillow", "Pouf"),
        ("Linen", "Velvet", "Wool"),
        ("40x40", "50x50"),
        (15, 70),
    ),
    Kind(
        "Lamps",
        "Living",
        "LMP",
        ("Table Lamp", "Floor Lamp", "Pendant Lamp"),
        ("Brass", "Rattan", "Ceramic", "Oak"),
        ONE_SIZE,
        (40, 220),
    ),
    Kind(
        "Yoga",
        "Sports",
        "YGA",
        ("Yoga Mat", "Yoga Leggings", "Yoga Bra"),
        ("Cork", "Natural Rubber", "Recycled"),
        ("S", "M", "L"),
        (20, 90),
    ),
    Kind("Cycling", "Sports", "CYC", ("Cycling Jersey", "Bib Shorts", "Cycling Gloves"), TECHNICAL, APPAREL, (30, 140)),
    Kind(
        "Running", "Sports", "RUN", ("Running Tee", "Running Shorts", "Running Jacket"), TECHNICAL, APPAREL, (25, 150)
    ),
    Kind(
        "Bags",
        "Accessories",
        "BAG",
        ("Backpack", "Tote", "Duffel"),
        ("Canvas", "Leather", "Recycled Nylon"),
        ("15 l", "25 l", "35 l"),
        (35, 180),
    ),
    Kind(
        "Hats",
        "Accessories",
        "HAT",
        ("Beanie", "Cap", "Bucket Hat"),
        ("Wool", "Cotton", "Corduroy"),
        ONE_SIZE,
        (12, 45),
    ),
    Kind(
        "Scarves", "Accessories", "SCF", ("Scarf", "Snood", "Shawl"), ("Wool", "Cashmere", "Silk"), ONE_SIZE, (18, 85)
    ),
)


def category_plan() -> list[tuple[str, str | None]]:
    """(name, parent name) of every demo category, parents first."""
    plan: list[tuple[str, str | None]] = [(name, None) for name in TREE]
    plan += [(child, parent) for parent, children in TREE.items() for child in children]
    return plan + [(kind.category, kind.parent) for kind in KINDS]


def demo_lines() -> Iterator[SourceLine]:
    """The catalog's lines, one per variant, numbered from 1."""
    rng = random.Random(SEED)
    slugs: set[str] = set()
    number = 0
    for kind in KINDS:
        names = [(a, m, n) for a in ADJECTIVES for m in kind.materials for n in kind.nouns]
        for index, (adjective, material, noun) in enumerate(rng.sample(names, PRODUCTS_PER_CATEGORY), start=1):
            name = f"{adjective} {material} {noun}"
            slug = _free(slugify(name), slugs)
            for values in _variants(rng, kind, f"{kind.code}-{index:03d}", slug, name):
                number += 1
                yield SourceLine(number, values)


def _free(slug: str, taken: set[str]) -> str:
    candidate, suffix = slug, 2
    while candidate in taken:
        candidate, suffix = f"{slug}-{suffix}", suffix + 1
    taken.add(candidate)
    return candidate


def _variants(rng: random.Random, kind: Kind, code: str, slug: str, name: str) -> list[dict[str, object]]:
    base = rng.randint(*kind.price) * 100 - 1  # prices end in .99
    sizes = sorted(rng.sample(kind.sizes, k=min(len(kind.sizes), 4)), key=kind.sizes.index)
    colours = rng.sample(COLOURS, k=3 if sizes == list(ONE_SIZE) else rng.randint(1, 2))
    product = {
        "product_slug": slug,
        "product_name": name,
        "description": f"{name}: {rng.choice(PITCHES)}. {rng.choice(PROMISES)}",
        "category_slug": slugify(kind.category),
        "images": [f"https://picsum.photos/seed/{slug}/800/800", f"https://picsum.photos/seed/{slug}-2/800/800"],
    }
    rows: list[dict[str, object]] = []
    for colour in colours:
        colour_code = colour[:3].upper()  # unique among COLOURS
        for step, size in enumerate(sizes):
            one_size = size == ONE_SIZE[0]
            rows.append(
                {
                    **product,
                    "sku": f"{code}-{colour_code}" if one_size else f"{code}-{slugify(size).upper()}-{colour_code}",
                    "variant_name": colour if one_size else f"{size} / {colour}",
                    "price_amount": base + step * 200,  # bigger sizes cost a little more
                    "stock": 0 if rng.random() < 0.1 else rng.randint(1, 60),
                    "attributes": {"colour": colour} if one_size else {"size": size, "colour": colour},
                    "is_active": rng.random() > 0.03,
                }
            )
    return rows


DEMO_PRODUCTS = len(KINDS) * PRODUCTS_PER_CATEGORY
PITCHES = ("made to last", "light and comfortable", "designed in Lisbon", "our bestseller", "new this season")
PROMISES = ("Easy care.", "Responsibly sourced.", "Ships in two days.", "Free returns within 30 days.")


async def seed_demo(sessions: async_sessionmaker[AsyncSession]) -> ImportReport:
    """Create the demo categories that are missing, then upsert the demo products."""
    async with sessions() as session:
        await _ensure_categories(session)
        await commit(session)
    return await import_catalog(sessions, demo_lines())


async def catalog_is_empty(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as session:
        return not await session.scalar(select(func.count()).select_from(select(Product.id).limit(1).subquery()))


async def _ensure_categories(session: AsyncSession) -> None:
    plan = category_plan()
    known = await repository.category_ids_by_slug(session, {slugify(name) for name, _ in plan})
    for name, parent in plan:
        slug = slugify(name)
        if slug not in known:
            parent_id = known[slugify(parent)] if parent else None
            created = await categories.create(session, data=CategoryCreate(name=name, slug=slug, parent_id=parent_id))
            known[slug] = created.id
