"""Storefront catalog routes: the hottest read path of the shop, served from the cache.

The product pages, the category tree and the listing (with its category and search forms; what
is cached of it, and how writes retire it, is in listing_cache.py). They read the read replica,
when one is set. A cache miss on an entry that was just written loads from the primary instead
(`primary=`), so an admin's change is visible to the next read even before the replica has
replayed it. The cached routes take no session dependency: a cache hit, most of their requests,
never opens one; a miss opens the session its load needs.
"""

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.cache import CacheKey
from shop.core.deps import resources_of
from shop.core.errors import NotFound, UnprocessableEntity, error_responses
from shop.core.openapi import NOT_MODIFIED, TAKES_IF_NONE_MATCH
from shop.core.routing import shop_router
from shop.core.schemas import Cursor, Page, PageSize
from shop.products import schemas
from shop.products.listing import ListingQuery, Sort, page_depth
from shop.products.listing_cache import LISTING_CACHE_SECONDS, listing_key, normalise_search
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


@router.get(
    "/products",
    response_model=Page[schemas.Product],
    responses={**error_responses(), **NOT_MODIFIED},
    dependencies=[TAKES_IF_NONE_MATCH],
)
async def list_products(
    request: Request,
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
) -> Response:
    """A page of products, filtered and sorted; full-text search with `q` (typos tolerated)."""
    if sort is Sort.relevance and not q:
        raise UnprocessableEntity(
            "Sorting by relevance needs a search (`q`).",
            errors=[{"loc": ["query", "sort"], "msg": "relevance needs q", "type": "value_error"}],
        )
    query = ListingQuery(
        q=normalise_search(q),
        min_price=min_price,
        max_price=max_price,
        in_stock=in_stock,
        sort=sort or (Sort.relevance if q else Sort.newest),
        limit=limit,
        cursor=cursor,
    )
    depth = page_depth(query.sort, cursor)
    currency = resources_of(request).settings.currency

    async def read(session: AsyncSession) -> tuple[bytes, bool]:
        return await catalog.listing_json(session, query=query, currency=currency, category_slug=category, depth=depth)

    body = await _cached_listing(request, listing_key(query, category, depth), cursor, read)
    return _json(body, request)


async def _cached_listing(
    request: Request,
    key: CacheKey | None,
    cursor: str | None,
    read: Callable[[AsyncSession], Awaitable[tuple[bytes, bool]]],
) -> bytes:
    """A listing page from the cache when `key` is one, else (or when the entry answers another
    cursor at the same depth) from the database. An entry is the cursor it answers, a newline,
    and the page."""
    answers = (cursor or "").encode()
    loaded: bytes | None = None

    async def load_and_keep(session: AsyncSession) -> bytes | None:
        nonlocal loaded
        loaded, has_items = await read(session)
        return answers + b"\n" + loaded if has_items else None

    if key is not None:
        stored = await _cached(request, key, LISTING_CACHE_SECONDS, load_and_keep)
        if loaded is not None:
            return loaded
        if stored is not None:
            stored_cursor, _, body = stored.partition(b"\n")
            if stored_cursor == answers:
                return body
    # Not cached, a page for another cursor, or a load shared with a request that stored nothing.
    async with resources_of(request).database.read_session() as session:
        body, _ = await read(session)
    return body


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
