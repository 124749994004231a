"""Storefront catalog routes: the hottest read path of the shop, served from the cache.

They read the read replica, when one is set. A cache miss on an entry that was just written
loads from the primary instead (`primary=`), so an admin's change is visible to the next read
even before the replica has replayed it. The cached routes take no session dependency: a cache
hit, most of their requests, never opens one; a miss opens the session its load needs.
"""

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.cache import CacheKey
from shop.core.deps import ReadSessionDep, SettingsDep, resources_of
from shop.core.errors import NotFound, UnprocessableEntity, error_responses
from shop.core.openapi import NOT_MODIFIED, TAKES_IF_NONE_MATCH
from shop.core.routing import shop_router
from shop.core.schemas import Cursor, Page, PageSize
from shop.products import schemas
from shop.products.listing import ListingQuery, Sort, next_cursor
from shop.products.service.catalog import PRODUCT_CACHE_SECONDS, catalog
from shop.products.service.categories import CATEGORIES_CACHE_SECONDS, CATEGORIES_KEY, categories

router = shop_router(tags=["catalog"])

# Shared caches may keep a copy but must revalidate it (ETag) on every use: a change is visible
# to the very next read, and an unchanged product still costs only a 304.
CACHE_CONTROL = "public, no-cache"


def _json(body: bytes, request: Request) -> Response:
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if etag in _if_none_match(request):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _if_none_match(request: Request) -> list[str]:
    header = request.headers.get("if-none-match", "")
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


async def _cached(
    request: Request, key: CacheKey, ttl: int, read: Callable[[AsyncSession], Awaitable[bytes | None]]
) -> bytes | None:
    """The cached bytes of `key`, or what `read` makes of the catalogue (replica, else primary)."""
    shop = resources_of(request)
    database = shop.database

    async def from_replica() -> bytes | None:
        async with database.read_session() as session:
            return await read(session)

    async def from_primary() -> bytes | None:
        async with database.read_session(primary=True) as session:
            return await read(session)

    return await shop.cache.get_or_load(key, from_replica, ttl, primary=from_primary)


@router.get(
    "/categories", response_model=schemas.CategoryList, responses=NOT_MODIFIED, dependencies=[TAKES_IF_NONE_MATCH]
)
async def list_categories(request: Request) -> Response:
    """The whole category tree, flat, each with its `parent_id`."""
    body = await _cached(request, CATEGORIES_KEY, CATEGORIES_CACHE_SECONDS, categories.tree_json)
    assert body is not None
    return _json(body, request)


@router.get("/products", responses=error_responses())
async def list_products(
    reads: ReadSessionDep,
    settings: SettingsDep,
    limit: PageSize = 20,
    cursor: Cursor = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="Words, a phrase, or -excluded.")] = None,
    category: Annotated[
        str | None, Query(max_length=120, description="Category slug; includes sub-categories.")
    ] = None,
    min_price: Annotated[int | None, Query(ge=0, le=schemas.MAX_AMOUNT, description="Minor units.")] = None,
    max_price: Annotated[int | None, Query(ge=0, le=schemas.MAX_AMOUNT, description="Minor units.")] = None,
    in_stock: bool | None = None,
    sort: Sort | None = None,
) -> Page[schemas.Product]:
    """A page of products, filtered and sorted; full-text search with `q` (typos tolerated)."""
    if sort is Sort.relevance and not q:
        raise UnprocessableEntity(
            "Sorting by relevance needs a search (`q`).",
            errors=[{"loc": ["query", "sort"], "msg": "relevance needs q", "type": "value_error"}],
        )
    query = ListingQuery(
        q=q,
        min_price=min_price,
        max_price=max_price,
        in_stock=in_stock,
        sort=sort or (Sort.relevance if q else Sort.newest),
        limit=limit,
        cursor=cursor,
    )
    items, last_keys = await catalog.list_products(
        reads, query=query, currency=settings.currency, category_slug=category
    )
    return Page(items=items, next_cursor=next_cursor(query.sort, last_keys) if last_keys else None)


@router.get(
    "/products/by-slug/{slug}",
    response_model=schemas.Product,
    responses={**error_responses(NotFound), **NOT_MODIFIED},
    dependencies=[TAKES_IF_NONE_MATCH],
)
async def get_product_by_slug(slug: Annotated[str, Path(max_length=220)], request: Request) -> Response:
    """One product by its slug."""
    currency = resources_of(request).settings.currency
    body = await _cached(
        request,
        CacheKey.of("product-slug", slug),
        PRODUCT_CACHE_SECONDS,
        lambda session: catalog.product_json_by_slug(session, slug=slug, currency=currency),
    )
    return _product(body, request)


@router.get(
    "/products/{product_id}",
    response_model=schemas.Product,
    responses={**error_responses(NotFound), **NOT_MODIFIED},
    dependencies=[TAKES_IF_NONE_MATCH],
)
async def get_product(product_id: uuid.UUID, request: Request) -> Response:
    """One product with its variants; `ETag`, and 304 for `If-None-Match`."""
    currency = resources_of(request).settings.currency
    body = await _cached(
        request,
        CacheKey.of("product", product_id),
        PRODUCT_CACHE_SECONDS,
        lambda session: catalog.product_json(session, product_id=product_id, currency=currency),
    )
    return _product(body, request)


def _product(body: bytes | None, request: Request) -> Response:
    if body is None:
        raise NotFound("No such product.")
    return _json(body, request)
