"""Accounts, catalog rows and helpers for the cart, checkout and order tests."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from shop.core.db import new_id, unit_of_work
from shop.core.resources import Resources
from shop.core.security import Role
from shop.products.models import Product, StockMovement, Variant
from tests.fixtures import logscan
from tests.fixtures.auth import Account, create_user

ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
WEBHOOK_SECRET = "whsec_test_0123456789abcdef"


@pytest.fixture
async def customer(resources: Resources) -> Account:
    return await create_user(resources, email=f"buyer-{uuid.uuid4().hex[:8]}@example.com")


@pytest.fixture
async def other_customer(resources: Resources) -> Account:
    return await create_user(resources)


@pytest.fixture
async def staff(resources: Resources) -> Account:
    return await create_user(resources, role=Role.staff)


@pytest.fixture
async def admin(resources: Resources) -> Account:
    return await create_user(resources, role=Role.admin)


@pytest.fixture
def webhook_secret(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(resources.settings, "payment_webhook_secret", WEBHOOK_SECRET)
    logscan.secret(WEBHOOK_SECRET)
    return WEBHOOK_SECRET


async def create_variants(
    resources: Resources,
    stocks: list[int],
    *,
    prices: list[int] | None = None,
    name: str = "Linen Shirt",
    product_active: bool = True,
    archived: bool = False,
) -> list[uuid.UUID]:
    """One product with a variant per entry of `stocks` (straight in the database); their ids."""
    product_id = new_id()
    ids = [new_id() for _ in stocks]
    async with unit_of_work(resources.database) as session:
        session.add(
            Product(
                id=product_id,
                slug=f"p-{product_id.hex}",
                name=name,
                is_active=product_active,
                archived_at=datetime.now(UTC) if archived else None,
            )
        )
        await session.flush()
        for index, (variant_id, stock) in enumerate(zip(ids, stocks, strict=True)):
            session.add(
                Variant(
                    id=variant_id,
                    product_id=product_id,
                    sku=f"SKU-{variant_id.hex[-12:]}",
                    name=f"Size {index}",
                    price_amount=(prices or [1000 + 500 * i for i in range(len(stocks))])[index],
                    stock=stock,
                )
            )
    return ids


async def stock_of(resources: Resources, *variant_ids: uuid.UUID) -> list[int]:
    async with resources.database.sessionmaker() as session:
        rows = dict((await session.execute(select(Variant.id, Variant.stock).where(Variant.id.in_(variant_ids)))).all())
        return [rows[variant_id] for variant_id in variant_ids]


async def movements(resources: Resources, variant_id: uuid.UUID) -> list[tuple[int, int, str]]:
    """(delta, stock after, reason) of a variant's stock changes, oldest first."""
    async with resources.database.sessionmaker() as session:
        rows = await session.execute(
            select(StockMovement.delta, StockMovement.stock_after, StockMovement.reason)
            .where(StockMovement.variant_id == variant_id)
            .order_by(StockMovement.created_at, StockMovement.id)
        )
        return [(delta, after, reason) for delta, after, reason in rows]


def items(*lines: tuple[uuid.UUID, int]) -> list[dict[str, Any]]:
    return [{"variant_id": str(variant_id), "quantity": quantity} for variant_id, quantity in lines]


async def place(
    client: httpx.AsyncClient,
    account: Account,
    *lines: tuple[uuid.UUID, int],
    key: str | None = None,
    expect: int | None = 201,
) -> httpx.Response:
    body: dict[str, Any] = {"shipping_address": ADDRESS}
    if lines:
        body["items"] = items(*lines)
    headers = {**account.headers, **({"Idempotency-Key": key} if key else {})}
    response = await client.post("/api/v1/orders", json=body, headers=headers)
    if expect is not None:
        assert response.status_code == expect, response.text
    return response


async def place_order(client: httpx.AsyncClient, account: Account, *lines: tuple[uuid.UUID, int]) -> dict[str, Any]:
    order: dict[str, Any] = (await place(client, account, *lines)).json()
    return order


async def pay(client: httpx.AsyncClient, account: Account, order_id: str, card: str = "tok_success") -> httpx.Response:
    """Pay with a test provider token (`card`)."""
    return await client.post(f"/api/v1/orders/{order_id}/pay", json={"payment_token": card}, headers=account.headers)


async def backdate(resources: Resources, order_id: str, minutes: int) -> None:
    """Make an order `minutes` old (the expiry of unpaid orders goes by created_at)."""
    async with resources.database.sessionmaker() as session:
        await session.execute(
            text("UPDATE customer_order SET created_at = now() - make_interval(mins => :minutes) WHERE id = :id"),
            {"minutes": minutes, "id": uuid.UUID(order_id)},
        )
        await session.commit()
