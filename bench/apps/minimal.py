"""What the stack allows: a minimal FastAPI app doing one Redis GET, or the shop's SQL via raw asyncpg.

Reads only: the checkout's writes have their own baseline (bench/apps/raw_checkout.py).

The SQL is what the shop sends for the same request (read off PostgreSQL's statement log), so
the ratio measures what the shop spends around its queries.
"""

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Response
from redis.asyncio import Redis

PRODUCT_SQL = """
SELECT p.id, p.slug, p.name, p.description, p.images, p.is_active, p.created_at, p.updated_at,
       c.id AS category_id, c.name AS category_name, c.slug AS category_slug, c.parent_id
FROM product p LEFT OUTER JOIN category c ON c.id = p.category_id
WHERE p.id = $1 AND p.is_active IS true AND p.archived_at IS NULL
"""
VARIANTS_SQL = """
SELECT id, sku, name, price_amount, stock, attributes, is_active, product_id
FROM variant WHERE product_id = ANY($1) ORDER BY created_at, id
"""
CATEGORY_SQL = """
WITH RECURSIVE tree(id) AS (
  SELECT category.id FROM category WHERE category.slug = $1
  UNION ALL SELECT category.id FROM category, tree WHERE category.parent_id = tree.id
) SELECT tree.id FROM tree
"""
CATEGORY_PAGE_SQL = """
SELECT p.id, p.slug, p.name, p.description, p.images, p.is_active, p.created_at, p.updated_at, p.price_sort,
c.id AS category_id, c.name AS category_name, c.slug AS category_slug, c.parent_id
FROM product p LEFT OUTER JOIN category c ON c.id = p.category_id
WHERE p.is_active IS true AND p.archived_at IS NULL AND p.category_id = ANY($2::uuid[])
ORDER BY p.price_sort, p.id LIMIT $1
"""
SEARCH_SQL = """
SELECT p.id, p.slug, p.name, p.description, p.images, p.is_active, p.created_at, p.updated_at, p.price_sort,
c.id AS category_id, c.name AS category_name, c.slug AS category_slug, c.parent_id,
       CAST(ts_rank_cd(p.search, websearch_to_tsquery('english', $1)) AS FLOAT)
         + word_similarity($1, p.name) AS rank
FROM product p LEFT OUTER JOIN category c ON c.id = p.category_id
WHERE p.is_active IS true AND p.archived_at IS NULL AND (
  p.search @@ websearch_to_tsquery('english', $1)
  OR NOT EXISTS (SELECT * FROM product p1 WHERE p1.is_active IS true AND p1.archived_at IS NULL
                 AND p1.search @@ websearch_to_tsquery('english', $1))
     AND $1 <% p.name)
ORDER BY rank DESC, p.id DESC LIMIT $2
"""
# The listing scenario's four pages (bench/lua/listing.lua), each as the shop words its statement:
# the products of the category's subtree, filtered by stock or price, in the asked-for order.
LISTING_SELECT = """
SELECT p.id, p.slug, p.name, p.description, p.images, p.is_active, p.created_at, p.updated_at, p.price_sort,
c.id AS category_id, c.name AS category_name, c.slug AS category_slug, c.parent_id
FROM product p LEFT OUTER JOIN category c ON c.id = p.category_id
WHERE p.is_active IS true AND p.archived_at IS NULL AND p.category_id = ANY($2::uuid[])
"""
IN_STOCK = """ AND EXISTS (SELECT * FROM variant v WHERE v.product_id = p.id AND v.is_active IS true
AND v.stock > 0)"""
IN_PRICE_RANGE = """ AND EXISTS (SELECT * FROM variant v WHERE v.product_id = p.id AND v.is_active IS true
AND v.price_amount >= $3 AND v.price_amount <= $4)"""
# price_sort holds this for a product without an active variant; `-price` sorts those last.
NO_PRICE = 4611686018427387904
LISTING_ORDER = {
    "price": " ORDER BY p.price_sort, p.id LIMIT $1",
    "-price": f" ORDER BY CASE WHEN p.price_sort = {NO_PRICE} THEN -1 ELSE p.price_sort END DESC, p.id DESC LIMIT $1",
    "name": " ORDER BY p.name, p.id LIMIT $1",
    "newest": " ORDER BY p.created_at DESC, p.id DESC LIMIT $1",
}
PAGE_SIZE = 20
state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    state["redis"] = Redis.from_url(os.environ["BENCH_REDIS_URL"])
    state["pool"] = await asyncpg.create_pool(os.environ["BENCH_ASYNCPG_DSN"], min_size=2, max_size=10)
    yield
    await state["redis"].aclose()
    await state["pool"].close()


app = FastAPI(lifespan=lifespan)


@app.get("/redis/{product_id}")
async def from_redis(product_id: str) -> Response:
    body = await state["redis"].get(f"bench:product:{product_id}")
    return Response(body, media_type="application/json")


@app.get("/sql/{product_id}")
async def from_sql(product_id: uuid.UUID) -> Response:
    async with state["pool"].acquire() as connection:
        row = await connection.fetchrow(PRODUCT_SQL, product_id)
        variants = await connection.fetch(VARIANTS_SQL, [product_id])
    return _json(_present(row, variants))


@app.get("/listing")
async def category_page(category: str) -> Response:
    async with state["pool"].acquire() as connection:
        ids = [r["id"] for r in await connection.fetch(CATEGORY_SQL, category)]
        rows = await connection.fetch(CATEGORY_PAGE_SQL, PAGE_SIZE + 1, ids)
        return await _page(connection, rows)


@app.get("/products")
async def listing(
    category: str,
    sort: str = "newest",
    in_stock: bool = False,
    min_price: int | None = None,
    max_price: int | None = None,
    limit: int = PAGE_SIZE,
) -> Response:
    sql, args = LISTING_SELECT, [limit + 1]
    if in_stock:
        sql += IN_STOCK
    if min_price is not None and max_price is not None:
        sql += IN_PRICE_RANGE
        args += [min_price, max_price]
    sql += LISTING_ORDER[sort]
    async with state["pool"].acquire() as connection:
        ids = [r["id"] for r in await connection.fetch(CATEGORY_SQL, category)]
        rows = await connection.fetch(sql, args[0], ids, *args[1:])
        return await _page(connection, rows)


@app.get("/search")
async def search(q: str) -> Response:
    async with state["pool"].acquire() as connection:
        rows = await connection.fetch(SEARCH_SQL, q, PAGE_SIZE + 1)
        return await _page(connection, rows)


async def _page(connection: asyncpg.Connection, rows: list[asyncpg.Record]) -> Response:
    variants = await connection.fetch(VARIANTS_SQL, [r["id"] for r in rows])
    by_product: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for v in variants:
        by_product.setdefault(v["product_id"], []).append(v)
    items = [_present(row, by_product.get(row["id"], [])) for row in rows[:PAGE_SIZE]]
    cursor = f"{rows[PAGE_SIZE - 1]['id']}" if len(rows) > PAGE_SIZE else None
    return _json({"items": items, "next_cursor": cursor})


def _present(row: asyncpg.Record, variants: list[asyncpg.Record]) -> dict[str, Any]:
    prices = [v["price_amount"] for v in variants if v["is_active"]]
    return {
        "id": str(row["id"]),
        "slug": row["slug"],
        "name": row["name"],
        "description": row["description"],
        "category": {
            "id": str(row["category_id"]),
            "name": row["category_name"],
            "slug": row["category_slug"],
            "parent_id": str(row["parent_id"]) if row["parent_id"] else None,
        }
        if row["category_id"]
        else None,
        "images": json.loads(row["images"]),
        "is_active": row["is_active"],
        "variants": [
            {
                "id": str(v["id"]),
                "sku": v["sku"],
                "name": v["name"],
                "price": {"amount": v["price_amount"], "currency": "EUR"},
                "stock_available": v["stock"],
                "attributes": json.loads(v["attributes"]),
                "is_active": v["is_active"],
            }
            for v in variants
            if v["is_active"]
        ],
        "price_range": {
            "min": {"amount": min(prices), "currency": "EUR"},
            "max": {"amount": max(prices), "currency": "EUR"},
        }
        if prices
        else None,
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


def _json(body: object) -> Response:
    return Response(json.dumps(body, separators=(",", ":")).encode(), media_type="application/json")
