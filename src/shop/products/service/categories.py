"""Category rules: unique slugs, a tree without cycles, no deleting what is in use."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.cache import CacheKey, invalidate_after_commit
from shop.products import repository, schemas
from shop.products.errors import CategoryNotEmpty, CategoryNotFound, InvalidReference, SlugTaken
from shop.products.listing_cache import LISTINGS
from shop.products.models import Category
from shop.products.service.catalog import flush, free_slug, product_keys

CATEGORIES_KEY = CacheKey.of("categories", "all")
CATEGORIES_CACHE_SECONDS = 300


class CategoryService:
    async def tree_json(self, session: AsyncSession) -> bytes:
        rows = await repository.list_categories(session)
        return schemas.CategoryList(items=[schemas.Category.model_validate(c) for c in rows]).model_dump_json().encode()

    async def create(self, session: AsyncSession, *, data: schemas.CategoryCreate) -> schemas.Category:
        if data.parent_id is not None and await repository.get_category(session, data.parent_id) is None:
            raise _unknown_parent()
        if data.slug and await repository.slug_owner(session, Category, data.slug):
            raise SlugTaken(f"The slug {data.slug!r} is taken.")
        slug = data.slug or await free_slug(session, model=Category, name=data.name)
        category = Category(name=data.name, slug=slug, parent_id=data.parent_id)
        session.add(category)
        await flush(session)
        # A listing by this slug is no longer the empty page of an unknown category.
        invalidate_after_commit(session, CATEGORIES_KEY, LISTINGS)
        return schemas.Category.model_validate(category)

    async def update(
        self, session: AsyncSession, *, category_id: uuid.UUID, data: schemas.CategoryUpdate
    ) -> schemas.Category:
        category = await repository.get_category(session, category_id)
        if category is None:
            raise CategoryNotFound()
        if "parent_id" in data.model_fields_set:
            await self._check_parent(session, category.id, data.parent_id)
            category.parent_id = data.parent_id
        if data.slug is not None and data.slug != category.slug:
            if await repository.slug_owner(session, Category, data.slug):
                raise SlugTaken(f"The slug {data.slug!r} is taken.")
            category.slug = data.slug
        if data.name is not None:
            category.name = data.name
        await flush(session)
        # Products embed their category, and the listings select by its slug and place in the
        # tree: the cached product views and listing pages go stale too.
        products = await repository.products_in_category(session, category.id)
        keys = [key for product_id, slug in products for key in product_keys(product_id, slug)]
        invalidate_after_commit(session, CATEGORIES_KEY, LISTINGS, *keys)
        return schemas.Category.model_validate(category)

    async def delete(self, session: AsyncSession, *, category_id: uuid.UUID) -> None:
        category = await repository.get_category(session, category_id)
        if category is None:
            raise CategoryNotFound()
        if await repository.category_in_use(session, category.id):
            raise CategoryNotEmpty("The category still has sub-categories or products.")
        await session.delete(category)
        await flush(session)
        invalidate_after_commit(session, CATEGORIES_KEY, LISTINGS)

    async def _check_parent(self, session: AsyncSession, category_id: uuid.UUID, parent_id: uuid.UUID | None) -> None:
        if parent_id is None:
            return
        if await repository.get_category(session, parent_id) is None:
            raise _unknown_parent()
        if category_id in await repository.category_ancestors(session, parent_id):
            raise InvalidReference(
                "A category cannot be placed under itself or its own sub-categories.",
                errors=[{"loc": ["body", "parent_id"], "msg": "Would make a cycle", "type": "value_error"}],
            )


def _unknown_parent() -> InvalidReference:
    return InvalidReference(
        "The parent category does not exist.",
        errors=[{"loc": ["body", "parent_id"], "msg": "Unknown category", "type": "value_error"}],
    )


categories = CategoryService()
