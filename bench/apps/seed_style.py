"""The way the seed's blog post writes a read: the baseline the shop must leave far behind.

An ORM session per request through `Depends`, Prometheus in a `BaseHTTPMiddleware` labelled by
the raw path with an `X-Process-Time` header, GZip on everything, and a pydantic response model.
"""

import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload
from starlette.middleware.base import BaseHTTPMiddleware

from shop.products.models import Product

engine = create_async_engine(os.environ["BENCH_DATABASE_URL"], pool_size=10)
Session = async_sessionmaker(engine, expire_on_commit=False)
REQUESTS = Counter("seed_requests_total", "Requests", ["method", "path", "status"])
LATENCY = Histogram("seed_request_seconds", "Latency", ["method", "path"])


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


class Metrics(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        REQUESTS.labels(request.method, request.url.path, response.status_code).inc()
        LATENCY.labels(request.method, request.url.path).observe(elapsed)
        response.headers["X-Process-Time"] = str(elapsed)
        return response


async def get_session() -> AsyncIterator[AsyncSession]:
    async with Session() as session:
        yield session


app = FastAPI()
app.add_middleware(GZipMiddleware)
app.add_middleware(Metrics)


@app.get("/products/{product_id}", response_model=ProductOut)
async def read_product(product_id: uuid.UUID, session: Annotated[AsyncSession, Depends(get_session)]) -> ProductOut:
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
