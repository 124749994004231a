"""The app of the post this project grew from: FastAPI, SQLAlchemy and a Redis cache-aside.

A read asks Redis for the product's JSON; on a miss it loads the product with its category and
variants through an ORM session, serializes the pydantic model once, stores it for five minutes
and answers it. Written as a careful engineer would: the cached bytes are answered as they are
(no model rebuilt on a hit), one Redis round trip per hit, no middleware; it has none of the
shop's invalidation, request log, metrics or security headers, so it is the lighter of the two.
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload

from shop.products.models import Product

engine = create_async_engine(os.environ["BENCH_DATABASE_URL"], pool_size=10)
Session = async_sessionmaker(engine, expire_on_commit=False)
redis = Redis.from_url(os.environ["BENCH_REDIS_URL"])
CACHE_SECONDS = 300


class Money(BaseModel):
    amount: int
    currency: str


class VariantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    sku: str
    name: str
    price: Money
    stock_available: int
    attributes: dict[str, str]
    is_active: bool


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    slug: str
    parent_id: uuid.UUID | None


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    await redis.aclose()
    await engine.dispose()


class ProductOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    category: CategoryOut | None
    images: list[str]
    is_active: bool
    variants: list[VariantOut]
    created_at: datetime
    updated_at: datetime


app = FastAPI(lifespan=lifespan)


@app.get("/products/{product_id}", response_model=ProductOut)
async def read_product(product_id: uuid.UUID) -> Response:
    key = f"seed:product:{product_id}"
    body = await redis.get(key)
    if body is None:
        async with Session() as session:
            product = await load_product(session, product_id)
        body = product.model_dump_json().encode()
        await redis.set(key, body, ex=CACHE_SECONDS)
    return Response(body, media_type="application/json")


async def load_product(session: AsyncSession, product_id: uuid.UUID) -> ProductOut:
    product = await session.scalar(
        select(Product)
        .where(Product.id == product_id)
        .options(selectinload(Product.category), selectinload(Product.variants))
    )
    if product is None:
        raise HTTPException(404)
    variants = [
        VariantOut(
            id=v.id,
            sku=v.sku,
            name=v.name,
            price=Money(amount=v.price_amount, currency="EUR"),
            stock_available=v.stock,
            attributes=v.attributes,
            is_active=v.is_active,
        )
        for v in product.variants
        if v.is_active
    ]
    return ProductOut(
        id=product.id,
        slug=product.slug,
        name=product.name,
        description=product.description,
        category=CategoryOut.model_validate(product.category) if product.category else None,
        images=product.images,
        is_active=product.is_active,
        variants=variants,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )
