"""Every query on the catalog's tables."""

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from shop.products import typos
from shop.products.listing import ListingQuery, build_listing, is_plain_search, visible
from shop.products.models import NO_PRICE, Category, Product, SearchWord, StockMovement, Variant

# A result row of any shape (bulk queries return columns, not entities).
AnyRow = Row[*tuple[Any, ...]]
_WITH_DETAILS = (joinedload(Product.category), selectinload(Product.variants))


async def get_product(session: AsyncSession, product_id: uuid.UUID, *, storefront: bool) -> Product | None:
    statement = select(Product).where(Product.id == product_id).options(*_WITH_DETAILS)
    if storefront:
        statement = statement.where(visible())
    return (await session.scalars(statement)).unique().one_or_none()


async def get_product_by_slug(session: AsyncSession, slug: str) -> Product | None:
    statement = select(Product).where(Product.slug == slug, visible()).options(*_WITH_DETAILS)
    return (await session.scalars(statement)).unique().one_or_none()


async def lock_product(session: AsyncSession, product_id: uuid.UUID) -> Product | None:
    """The product with its variants, its row locked for the rest of the transaction."""
    statement = select(Product).where(Product.id == product_id).options(*_WITH_DETAILS).with_for_update(of=Product)
    return (await session.scalars(statement)).unique().one_or_none()


async def list_products(session: AsyncSession, query: ListingQuery) -> list[tuple[Product, list[Any]]]:
    """Up to `limit + 1` products (the extra one tells that a next page exists) with sort keys."""
    corrections = await typo_corrections(session, query.q) if query.q and is_plain_search(query.q) else {}
    statement, keys = build_listing(query, corrections)
    rows = (await session.execute(statement)).unique().all()
    return [(row[0], list(row[1 : 1 + len(keys)])) for row in rows]


async def typo_corrections(session: AsyncSession, q: str) -> dict[str, list[str]]:
    """For each word of `q` that is no word of the catalog, the catalog's words it may be a typo of.

    One round trip: per word, the vocabulary is narrowed through its indexes (same first letter
    and a length within the budget; for two typos, any first letter and a length within one) and
    by a Levenshtein bound that a swap costs two in, then the exact rule is applied here.
    """
    checked = [word for word in dict.fromkeys(typos.words(q)) if typos.typo_budget(word)]
    if not checked:
        return {}
    lookups = [_near(word, typos.typo_budget(word)) for word in checked]
    rows = (await session.execute(union_all(*lookups))).all()
    near: dict[str, list[str]] = {word: [] for word in checked}
    for row in rows:
        near[row[0]].append(row[1])
    return {
        typed: sorted(word for word in found if typos.is_typo_of(typed, word))
        for typed, found in near.items()
        if typed not in found
    }


def _near(word: str, budget: int) -> Select[str, str]:
    n = len(word)
    same_initial = and_(
        SearchWord.initial == word[0],
        SearchWord.length.between(n - budget, n + budget),
        func.levenshtein_less_equal(SearchWord.word, word, 2 * budget) <= 2 * budget,
    )
    # A wrong first letter costs two: with a budget of two, the rest must be right but for one edit.
    other_initial = and_(
        SearchWord.length.between(n - 1, n + 1), func.levenshtein_less_equal(SearchWord.word, word, 2) <= 2
    )
    condition = or_(same_initial, other_initial) if budget >= 2 else same_initial
    return select(literal(word).label("typed"), SearchWord.word).where(condition)


async def category_subtree(session: AsyncSession, slug: str) -> list[uuid.UUID]:
    """The ids of the category with `slug` and of all its descendants ([] when unknown)."""
    tree = select(Category.id).where(Category.slug == slug).cte("tree", recursive=True)
    tree = tree.union_all(select(Category.id).where(Category.parent_id == tree.c.id))
    return list(await session.scalars(select(tree.c.id)))


async def list_categories(session: AsyncSession) -> Sequence[Category]:
    return (await session.scalars(select(Category).order_by(Category.name, Category.id))).all()


async def get_category(session: AsyncSession, category_id: uuid.UUID) -> Category | None:
    return await session.get(Category, category_id)


async def category_ancestors(session: AsyncSession, category_id: uuid.UUID) -> list[uuid.UUID]:
    """`category_id` and every category above it."""
    chain = select(Category.id, Category.parent_id).where(Category.id == category_id).cte("chain", recursive=True)
    chain = chain.union_all(select(Category.id, Category.parent_id).where(Category.id == chain.c.parent_id))
    return list(await session.scalars(select(chain.c.id)))


async def lineages(session: AsyncSession, category_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
    """Each of `category_ids` with every category above it, in one query."""
    if not category_ids:
        return {}
    chain = (
        select(Category.id.label("start"), Category.id, Category.parent_id)
        .where(Category.id.in_(category_ids))
        .cte("lineage", recursive=True)
    )
    chain = chain.union_all(
        select(chain.c.start, Category.id, Category.parent_id).where(Category.id == chain.c.parent_id)
    )
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for start, category_id in await session.execute(select(chain.c.start, chain.c.id)):
        found.setdefault(start, set()).add(category_id)
    return {start: frozenset(ids) for start, ids in found.items()}


async def category_in_use(session: AsyncSession, category_id: uuid.UUID) -> bool:
    child = select(Category.id).where(Category.parent_id == category_id).limit(1)
    product = select(Product.id).where(Product.category_id == category_id).limit(1)
    return bool(await session.scalar(select(child.exists() | product.exists())))


async def taken_slugs(session: AsyncSession, model: type[Product] | type[Category], base: str) -> set[str]:
    """Slugs equal to `base` or `base-N`, to pick the next free suffix."""
    pattern = base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%"
    rows = await session.scalars(select(model.slug).where((model.slug == base) | model.slug.like(pattern)))
    return set(rows)


async def slug_owner(session: AsyncSession, model: type[Product] | type[Category], slug: str) -> uuid.UUID | None:
    owner: uuid.UUID | None = await session.scalar(select(model.id).where(model.slug == slug))
    return owner


async def sku_owners(session: AsyncSession, skus: Sequence[str]) -> dict[str, uuid.UUID]:
    """For each SKU that exists, the product it belongs to."""
    rows = await session.execute(select(Variant.sku, Variant.product_id).where(Variant.sku.in_(skus)))
    return {row.sku: row.product_id for row in rows}


async def get_variant(session: AsyncSession, variant_id: uuid.UUID, *, lock: bool = False) -> Variant | None:
    statement = select(Variant).where(Variant.id == variant_id)
    if lock:
        # A locked read must show the row as it is now, not as this session loaded it before.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(statement)


def _has_active_variant() -> tuple[ColumnElement[bool], ...]:
    """Correlated to the product being updated."""
    return (Variant.product_id == Product.id, Variant.is_active.is_(True))


def _lowest_active_price() -> ScalarSelect[int]:
    return (
        select(func.coalesce(func.min(Variant.price_amount), NO_PRICE)).where(*_has_active_variant()).scalar_subquery()
    )


async def refresh_price_sort(session: AsyncSession, *product_ids: uuid.UUID) -> None:
    """Each product's price sort: its lowest active variant price (NO_PRICE when none)."""
    await session.execute(update(Product).where(Product.id.in_(product_ids)).values(price_sort=_lowest_active_price()))


async def add_to_stock(session: AsyncSession, variant_id: uuid.UUID, delta: int) -> int | None:
    """Change stock atomically, refusing to go below zero; the new stock, or None if refused."""
    new_stock: int | None = await session.scalar(
        update(Variant)
        .where(Variant.id == variant_id, Variant.stock + delta >= 0)
        .values(stock=Variant.stock + delta, updated_at=func.now())
        .returning(Variant.stock)
    )
    return new_stock


def record_movement(
    session: AsyncSession, variant_id: uuid.UUID, delta: int, stock_after: int, reason: str, actor_id: uuid.UUID | None
) -> None:
    session.add(
        StockMovement(variant_id=variant_id, delta=delta, stock_after=stock_after, reason=reason, actor_id=actor_id)
    )


async def touch_product(session: AsyncSession, product_id: uuid.UUID) -> None:
    await session.execute(update(Product).where(Product.id == product_id).values(updated_at=func.now()))


async def archive(session: AsyncSession, product_id: uuid.UUID) -> None:
    await session.execute(
        update(Product).where(Product.id == product_id).values(archived_at=func.now(), updated_at=func.now())
    )


async def product_slug(session: AsyncSession, product_id: uuid.UUID) -> str | None:
    slug: str | None = await session.scalar(select(Product.slug).where(Product.id == product_id))
    return slug


async def products_in_category(session: AsyncSession, category_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    rows = await session.execute(select(Product.id, Product.slug).where(Product.category_id == category_id))
    return [(product_id, slug) for product_id, slug in rows]


# -- bulk import and export ----------------------------------------------------------------


async def category_ids_by_slug(session: AsyncSession, slugs: Collection[str]) -> dict[str, uuid.UUID]:
    if not slugs:
        return {}
    rows = await session.execute(select(Category.slug, Category.id).where(Category.slug.in_(slugs)))
    return {slug: category_id for slug, category_id in rows.all()}  # noqa: C416  (rows are not pairs to mypy)


async def lock_products_by_slug(session: AsyncSession, slugs: Collection[str]) -> Sequence[AnyRow]:
    """Product columns (archived ones too), the rows locked; in id order, as every batch locks them."""
    if not slugs:
        return []
    statement = (
        select(
            Product.id,
            Product.slug,
            Product.name,
            Product.description,
            Product.category_id,
            Product.images,
            Product.archived_at,
        )
        .where(Product.slug.in_(slugs))
        .order_by(Product.id)
        .with_for_update()
    )
    return (await session.execute(statement)).all()


async def lock_variants_by_sku(session: AsyncSession, skus: Collection[str]) -> Sequence[AnyRow]:
    """Variant columns and their product's slug, the variant rows locked (stock is set from them)."""
    if not skus:
        return []
    statement = (
        select(
            Variant.id,
            Variant.sku,
            Variant.product_id,
            Product.slug.label("product_slug"),
            Variant.name,
            Variant.price_amount,
            Variant.stock,
            Variant.attributes,
            Variant.is_active,
        )
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.sku.in_(skus))
        .order_by(Variant.id)
        .with_for_update(of=Variant)
    )
    return (await session.execute(statement)).all()


async def insert_products(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(Product), list(rows))


async def update_products(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Set the given columns of each product (every row names the same columns, and its `id`)."""
    await _update_many(session, Product, rows)


async def insert_variants(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(Variant), list(rows))


async def update_variants(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await _update_many(session, Variant, rows)


async def _update_many(
    session: AsyncSession, model: type[Product] | type[Variant], rows: Sequence[dict[str, Any]]
) -> None:
    if not rows:
        return
    columns = [name for name in rows[0] if name != "id"]
    statement = (
        update(model)
        .where(model.id == bindparam("row_id"))
        .values({**{name: bindparam(name) for name in columns}, "updated_at": func.now()})
    )
    # One statement sent for all rows (executemany) on the session's connection, in its transaction.
    connection = await session.connection()
    await connection.execute(
        statement, [{"row_id": row["id"], **{name: row[name] for name in columns}} for row in rows]
    )


async def record_movements(session: AsyncSession, movements: Sequence[dict[str, Any]]) -> None:
    if movements:
        await session.execute(insert(StockMovement), list(movements))


async def refresh_products(session: AsyncSession, product_ids: Collection[uuid.UUID]) -> None:
    """After bulk variant changes: each product's price sort, and visible exactly when a variant is active."""
    if not product_ids:
        return
    await session.execute(
        update(Product)
        .where(Product.id.in_(product_ids))
        .values(
            price_sort=_lowest_active_price(),
            is_active=exists().where(*_has_active_variant()),
            updated_at=func.now(),
        )
    )


async def export_products(session: AsyncSession, after_slug: str | None, limit: int) -> Sequence[AnyRow]:
    """A page of the products that are not archived, by slug, with their category's slug."""
    statement = (
        select(
            Product.id,
            Product.slug,
            Product.name,
            Product.description,
            Category.slug.label("category_slug"),
            Product.images,
            Product.is_active,
        )
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.archived_at.is_(None))
        .order_by(Product.slug)
        .limit(limit)
    )
    if after_slug is not None:
        statement = statement.where(Product.slug > after_slug)
    return (await session.execute(statement)).all()


async def export_variants(session: AsyncSession, product_ids: Collection[uuid.UUID]) -> Sequence[Variant]:
    statement = select(Variant).where(Variant.product_id.in_(product_ids)).order_by(Variant.sku)
    return (await session.scalars(statement)).all()


async def variants_for_sale(
    session: AsyncSession, variant_ids: Sequence[uuid.UUID]
) -> list[tuple[Variant, str, bool, uuid.UUID | None]]:
    """The variants with their product's name, whether that product is on sale, and its category."""
    on_sale = Product.is_active & Product.archived_at.is_(None)
    rows = await session.execute(
        select(Variant, Product.name, on_sale, Product.category_id)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.id.in_(variant_ids))
    )
    return [(variant, name, bool(product_on_sale), category_id) for variant, name, product_on_sale, category_id in rows]


async def product_refs(session: AsyncSession, variant_ids: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    """(product id, slug) of the products the variants belong to."""
    rows = await session.execute(
        select(Product.id, Product.slug)
        .where(Product.id.in_(select(Variant.product_id).where(Variant.id.in_(variant_ids))))
        .order_by(Product.id)
    )
    return [(product_id, slug) for product_id, slug in rows]
