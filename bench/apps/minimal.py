"""What the stack allows: a minimal FastAPI app doing one Redis GET, or the detail SQL via asyncpg."""

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
    prices = [v["price_amount"] for v in variants if v["is_active"]]
    body = {
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
    return Response(json.dumps(body, separators=(",", ":")).encode(), media_type="application/json")
