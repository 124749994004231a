"""Catalog business rules: products and variants, stock, and what the storefront sees.

Every write goes through here; each one invalidates the cached storefront views of what it
changed, after its transaction commits.
"""

import re
import unicodedata
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.cache import CacheKey, invalidate_after_commit
from shop.core.db import violated_constraint
from shop.core.schemas import Money, Page, store_amount
from shop.products import repository, schemas
from shop.products.errors import (
    InsufficientStock,
    InvalidReference,
    ProductNotFound,
    SkuTaken,
    SlugTaken,
    VariantNotFound,
)
from shop.products.listing import ListingQuery, next_cursor
from shop.products.listing_cache import LISTINGS
from shop.products.models import Category, Product, Variant
from shop.taxes.errors import UnknownTaxClass
from shop.taxes.service import tax_classes

PRODUCT_CACHE_SECONDS = 300
_SLUG_BAD_CHARS = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG_BAD_CHARS.sub("-", ascii_text.lower()).strip("-")[:100] or "item"


async def free_slug(session: AsyncSession, *, model: type[Product] | type[Category], name: str) -> str:
    """A slug derived from `name`, with `-2`, `-3`, … when taken."""
    base = slugify(name)
    taken = await repository.taken_slugs(session, model, base)
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


def product_keys(product_id: uuid.UUID, *slugs: str) -> list[CacheKey]:
    """A product's cached views, and every listing page: any change to a product may change them."""
    return [CacheKey.of("product", product_id), *(CacheKey.of("product-slug", slug) for slug in slugs), LISTINGS]


def present(product: Product, currency: str, *, storefront: bool) -> schemas.Product:
    """The API view of a product; the storefront sees only its active variants."""
    shown = [v for v in product.variants if v.is_active or not storefront]
    prices = [v.price_amount for v in product.variants if v.is_active]
    category = product.category
    return schemas.Product(
        id=product.id,
        slug=product.slug,
        name=product.name,
        description=product.description,
        category=schemas.Category.model_validate(category) if category is not None else None,
        images=list(product.images),
        is_active=product.is_active and product.archived_at is None,
        variants=[present_variant(v, currency) for v in shown],
        price_range=schemas.PriceRange(
            min=Money(amount=min(prices), currency=currency), max=Money(amount=max(prices), currency=currency)
        )
        if prices
        else None,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


def present_variant(variant: Variant, currency: str) -> schemas.Variant:
    return schemas.Variant(
        id=variant.id,
        sku=variant.sku,
        name=variant.name,
        price=Money(amount=variant.price_amount, currency=currency),
        stock_available=variant.stock,
        attributes=dict(variant.attributes),
        is_active=variant.is_active,
        tax_class=variant.tax_class,
    )


class CatalogService:
    # -- storefront reads -------------------------------------------------------------------

    async def product_json(self, session: AsyncSession, *, product_id: uuid.UUID, currency: str) -> bytes | None:
        product = await repository.get_product(session, product_id, storefront=True)
        return present(product, currency, storefront=True).model_dump_json().encode() if product else None

    async def product_json_by_slug(self, session: AsyncSession, *, slug: str, currency: str) -> bytes | None:
        product = await repository.get_product_by_slug(session, slug)
        return present(product, currency, storefront=True).model_dump_json().encode() if product else None

    async def listing_json(
        self, session: AsyncSession, *, query: ListingQuery, currency: str, category_slug: str | None, depth: int | None
    ) -> tuple[bytes, bool]:
        """A listing page as the API sends it (`depth` as `page_depth` says), and whether it has items."""
        items, last_keys = await self.list_products(
            session, query=query, currency=currency, category_slug=category_slug
        )
        cursor = next_cursor(query.sort, last_keys, depth) if last_keys else None
        return Page[schemas.Product](items=items, next_cursor=cursor).model_dump_json().encode(), bool(items)

    async def list_products(
        self, session: AsyncSession, *, query: ListingQuery, currency: str, category_slug: str | None
    ) -> tuple[list[schemas.Product], list[object] | None]:
        """A page of products, and the sort keys of its last one when another page follows."""
        if category_slug is not None:
            query = replace(query, category_ids=await repository.category_subtree(session, category_slug))
        rows = await repository.list_products(session, query)
        page = rows[: query.limit]
        more = len(rows) > query.limit
        return [present(p, currency, storefront=True) for p, _ in page], (page[-1][1] if more and page else None)

    # -- products --------------------------------------------------------------------------

    async def create_product(
        self, session: AsyncSession, *, data: schemas.ProductCreate, currency: str
    ) -> schemas.Product:
        await self._check_category(session, data.category_id)
        slug = data.slug or await free_slug(session, model=Product, name=data.name)
        if data.slug and await repository.slug_owner(session, Product, data.slug):
            raise SlugTaken(f"The slug {data.slug!r} is taken.")
        await self._check_skus(session, [v.sku for v in data.variants], owner=None)
        await _check_tax_classes(session, data.variants, ("body", "variants"))
        product = Product(
            slug=slug,
            name=data.name,
            description=data.description,
            category_id=data.category_id,
            images=list(data.images),
            is_active=data.is_active,
        )
        session.add(product)
        await flush(session)
        for variant in data.variants:
            session.add(self._new_variant(product.id, variant, currency))
        await flush(session)
        await repository.refresh_price_sort(session, product.id)
        invalidate_after_commit(session, *product_keys(product.id, slug))
        return await self.admin_view(session, product_id=product.id, currency=currency)

    async def update_product(
        self, session: AsyncSession, *, product_id: uuid.UUID, data: schemas.ProductUpdate, currency: str
    ) -> schemas.Product:
        product = await repository.lock_product(session, product_id)
        if product is None or product.archived_at is not None:
            raise ProductNotFound()
        old_slug = product.slug
        fields = data.model_fields_set
        if "category_id" in fields:
            await self._check_category(session, data.category_id)
            product.category_id = data.category_id
        if data.slug is not None and data.slug != product.slug:
            if await repository.slug_owner(session, Product, data.slug):
                raise SlugTaken(f"The slug {data.slug!r} is taken.")
            product.slug = data.slug
        for name in ("name", "description", "is_active"):
            value = getattr(data, name)
            if name in fields and value is not None:
                setattr(product, name, value)
        if "images" in fields and data.images is not None:
            product.images = list(data.images)
        if data.variants:
            await _check_tax_classes(session, data.variants, ("body", "variants"))
            await self._upsert_variants(session, product, data.variants, currency)
        await flush(session)
        await repository.refresh_price_sort(session, product.id)
        await repository.touch_product(session, product.id)
        invalidate_after_commit(session, *product_keys(product.id, old_slug, product.slug))
        return await self.admin_view(session, product_id=product.id, currency=currency)

    async def archive_product(self, session: AsyncSession, *, product_id: uuid.UUID) -> None:
        product = await repository.lock_product(session, product_id)
        if product is None:
            raise ProductNotFound()
        if product.archived_at is None:
            await repository.archive(session, product.id)
        invalidate_after_commit(session, *product_keys(product.id, product.slug))

    async def admin_view(self, session: AsyncSession, *, product_id: uuid.UUID, currency: str) -> schemas.Product:
        session.expire_all()  # re-read what this transaction wrote (price sort, timestamps)
        product = await repository.get_product(session, product_id, storefront=False)
        if product is None:
            raise ProductNotFound()
        return present(product, currency, storefront=False)

    # -- variants and stock ------------------------------------------------------------------

    async def add_variant(
        self, session: AsyncSession, *, product_id: uuid.UUID, data: schemas.VariantCreate, currency: str
    ) -> schemas.Variant:
        product = await repository.lock_product(session, product_id)
        if product is None or product.archived_at is not None:
            raise ProductNotFound()
        await self._check_skus(session, [data.sku], owner=None)
        await tax_classes.require(session, code=data.tax_class, loc=("body", "tax_class"))
        variant = self._new_variant(product.id, data, currency)
        session.add(variant)
        await flush(session)
        await repository.refresh_price_sort(session, product.id)
        await repository.touch_product(session, product.id)
        invalidate_after_commit(session, *product_keys(product.id, product.slug))
        return present_variant(variant, currency)

    async def update_variant(
        self, session: AsyncSession, *, variant_id: uuid.UUID, data: schemas.VariantUpdate, currency: str
    ) -> schemas.Variant:
        variant = await repository.get_variant(session, variant_id, lock=True)
        if variant is None:
            raise VariantNotFound()
        if data.price is not None:
            variant.price_amount = store_amount(data.price, currency, ("body", "price"))
        if data.name is not None:
            variant.name = data.name
        if data.attributes is not None:
            variant.attributes = dict(data.attributes)
        if data.is_active is not None:
            variant.is_active = data.is_active
        if data.tax_class is not None and data.tax_class != variant.tax_class:
            await tax_classes.require(session, code=data.tax_class, loc=("body", "tax_class"))
            variant.tax_class = data.tax_class
        await flush(session)
        await self._variant_changed(session, variant.product_id)
        return present_variant(variant, currency)

    async def adjust_stock(
        self,
        session: AsyncSession,
        *,
        variant_id: uuid.UUID,
        change: schemas.StockAdjustment,
        actor_id: uuid.UUID | None,
        currency: str,
    ) -> schemas.Variant:
        """Add or remove units in one conditional UPDATE: concurrent changes never go below zero."""
        new_stock = await repository.add_to_stock(session, variant_id, change.delta)
        if new_stock is None:
            variant = await repository.get_variant(session, variant_id)
            if variant is None:
                raise VariantNotFound()
            raise InsufficientStock(
                "Not enough stock to remove.",
                errors=[{"variant_id": str(variant_id), "requested": -change.delta, "available": variant.stock}],
            )
        repository.record_movement(session, variant_id, change.delta, new_stock, change.reason, actor_id)
        variant = await repository.get_variant(session, variant_id)
        assert variant is not None
        await session.refresh(variant)
        await self._variant_changed(session, variant.product_id)
        return present_variant(variant, currency)

    # -- helpers -------------------------------------------------------------------------------

    async def _variant_changed(self, session: AsyncSession, product_id: uuid.UUID) -> None:
        await repository.refresh_price_sort(session, product_id)
        await repository.touch_product(session, product_id)
        slug = await repository.product_slug(session, product_id)
        invalidate_after_commit(session, *product_keys(product_id, *([slug] if slug else [])))

    def _new_variant(self, product_id: uuid.UUID, data: schemas.VariantCreate, currency: str) -> Variant:
        return Variant(
            product_id=product_id,
            sku=data.sku,
            name=data.name,
            price_amount=store_amount(data.price, currency, ("body", "price")),
            stock=data.stock,
            attributes=dict(data.attributes),
            is_active=data.is_active,
            tax_class=data.tax_class,
        )

    async def _upsert_variants(
        self, session: AsyncSession, product: Product, variants: Sequence[schemas.VariantCreate], currency: str
    ) -> None:
        await self._check_skus(session, [v.sku for v in variants], owner=product.id)
        existing = {variant.sku: variant for variant in product.variants}
        for data in variants:
            current = existing.get(data.sku)
            if current is None:
                session.add(self._new_variant(product.id, data, currency))
                continue
            current.name = data.name
            current.price_amount = store_amount(data.price, currency, ("body", "variants", "price"))
            current.attributes = dict(data.attributes)
            current.is_active = data.is_active
            if "tax_class" in data.model_fields_set:  # not given: the variant keeps its class
                current.tax_class = data.tax_class
            if current.stock != data.stock:
                await self._set_stock(session, current, data.stock)

    async def _set_stock(self, session: AsyncSession, variant: Variant, stock: int) -> None:
        delta = stock - variant.stock
        variant.stock = stock
        repository.record_movement(session, variant.id, delta, stock, "set by product update", None)

    async def _check_skus(self, session: AsyncSession, skus: Sequence[str], owner: uuid.UUID | None) -> None:
        if not skus:
            return
        taken = [sku for sku, product_id in (await repository.sku_owners(session, skus)).items() if product_id != owner]
        if taken:
            raise SkuTaken(f"SKU already in use: {', '.join(sorted(taken))}.", errors=[{"sku": sku} for sku in taken])

    async def _check_category(self, session: AsyncSession, category_id: uuid.UUID | None) -> None:
        if category_id is not None and await repository.get_category(session, category_id) is None:
            raise InvalidReference(
                "The category does not exist.",
                errors=[{"loc": ["body", "category_id"], "msg": "Unknown category", "type": "value_error"}],
            )

    async def category_lineages(
        self, session: AsyncSession, *, category_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, frozenset[uuid.UUID]]:
        """Each category with all those above it: a promotion on Clothing discounts a T-shirt in Men."""
        return await repository.lineages(session, category_ids)

    # -- stock for orders (run inside the caller's transaction) --------------------------------

    async def variants_for_sale(
        self, session: AsyncSession, *, variant_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, schemas.SaleVariant]:
        if not variant_ids:
            return {}
        rows = await repository.variants_for_sale(session, list(variant_ids))
        return {
            variant.id: schemas.SaleVariant(
                id=variant.id,
                product_id=variant.product_id,
                sku=variant.sku,
                name=f"{product_name} - {variant.name}" if variant.name else product_name,
                price_amount=variant.price_amount,
                stock=variant.stock,
                for_sale=variant.is_active and product_on_sale,
                tax_class=variant.tax_class,
                category_id=category_id,
            )
            for variant, product_name, product_on_sale, category_id in rows
        }

    async def reserve_stock(
        self,
        session: AsyncSession,
        *,
        lines: Mapping[uuid.UUID, int],
        reason: str,
        actor_id: uuid.UUID | None,
    ) -> None:
        """Take every line's units, or raise 409 naming each short variant (the caller rolls back).

        One conditional UPDATE per variant, in variant-id order: two buyers can never take the
        same unit, and checkouts sharing variants lock them in one order, so they cannot deadlock.
        """
        short: list[dict[str, object]] = []
        for variant_id in sorted(lines):
            quantity = lines[variant_id]
            stock_after = await repository.add_to_stock(session, variant_id, -quantity)
            if stock_after is None:
                # Units may have come back (a cancel) since the UPDATE refused: decide again with
                # the row locked, so the answer is either the units or a count that is true.
                variant = await repository.get_variant(session, variant_id, lock=True)
                available = variant.stock if variant is not None else 0
                if available >= quantity:
                    stock_after = await repository.add_to_stock(session, variant_id, -quantity)
                else:
                    short.append({"variant_id": str(variant_id), "requested": quantity, "available": available})
            if stock_after is not None:
                repository.record_movement(session, variant_id, -quantity, stock_after, reason, actor_id)
        if short:
            raise InsufficientStock("Not enough stock for every line; nothing was reserved.", errors=short)
        await self._stock_changed(session, list(lines))

    async def release_stock(self, session: AsyncSession, *, changes: Sequence[schemas.StockChange]) -> None:
        """Give units back (a cancelled or refunded order), locking variants in id order like `reserve_stock`."""
        for change in sorted(changes, key=lambda c: c.variant_id):
            stock_after = await repository.add_to_stock(session, change.variant_id, change.quantity)
            if stock_after is not None:
                repository.record_movement(
                    session, change.variant_id, change.quantity, stock_after, change.reason, change.actor_id
                )
        await self._stock_changed(session, [change.variant_id for change in changes])

    async def _stock_changed(self, session: AsyncSession, variant_ids: Sequence[uuid.UUID]) -> None:
        # The product rows are not touched: locking them too would serialise checkouts of
        # different variants of one product. The cached views show stock, so they go.
        refs = await repository.product_refs(session, variant_ids)
        invalidate_after_commit(session, *(key for ref in refs for key in product_keys(*ref)))


async def flush(session: AsyncSession) -> None:
    """Flush, turning a unique violation into the API's conflict (two writers raced)."""
    try:
        await session.flush()
    except IntegrityError as exc:
        constraint = violated_constraint(exc) or ""
        if constraint.startswith("uq_variant_sku"):
            raise SkuTaken("SKU already in use.") from None
        if constraint.startswith(("uq_product_slug", "uq_category_slug")):
            raise SlugTaken("The slug is taken.") from None
        if constraint == "fk_variant_tax_class_tax_class":  # the class was deleted meanwhile
            raise UnknownTaxClass("A tax class of the body no longer exists.") from None
        raise


async def _check_tax_classes(
    session: AsyncSession, variants: Sequence[schemas.VariantCreate], loc: tuple[str, ...]
) -> None:
    """422 `unknown_tax_class` at the first variant whose class does not exist."""
    checked: set[str] = set()
    for index, variant in enumerate(variants):
        if variant.tax_class not in checked:
            await tax_classes.require(session, code=variant.tax_class, loc=(*loc, index, "tax_class"))
            checked.add(variant.tax_class)


catalog = CatalogService()
