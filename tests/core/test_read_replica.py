"""SHOP_DATABASE_REPLICA_URL: storefront catalogue reads go to the replica, everything else to the primary.

The "replica" is a second migrated database on the same server holding different rows, so each
answer shows which database it came from.
"""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from shop.core.cache import CacheKey
from shop.core.config import Settings
from shop.core.db import Database
from shop.core.resources import Resources, open_resources
from shop.core.security import Role
from shop.products.models import Product
from tests.fixtures.app import client_for, running_app
from tests.fixtures.auth import Account, create_user
from tests.fixtures.catalog import create_category, create_products
from tests.fixtures.database import create_test_database, truncate_all
from tests.fixtures.orders import ADDRESS
from tests.fixtures.servers import free_port
from tests.fixtures.services import ServiceUrls
from tests.fixtures.settings import make_settings

PRODUCTS = "/api/v1/products"


@pytest.fixture(scope="module")
async def replica_url(services: ServiceUrls) -> AsyncIterator[str]:
    async for url in create_test_database(services.postgres_server, prefix="shop_replica"):
        yield url


@pytest.fixture(scope="module")
def replica_settings(settings: Settings, replica_url: str) -> Settings:
    return settings.model_copy(update={"database_replica_url": replica_url})


@pytest.fixture(scope="module")
async def replica_app(replica_settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(replica_settings) as app:
        yield app


@pytest.fixture
async def primary(replica_app: FastAPI) -> AsyncIterator[Resources]:
    """The app's resources (their `database` is the primary); both databases are emptied after."""
    resources: Resources = replica_app.state.resources
    yield resources
    assert resources.database.replica_engine is not None
    await truncate_all(resources.database.engine)
    await truncate_all(resources.database.replica_engine)
    await resources.redis.flushdb()


@pytest.fixture
async def replica(replica_settings: Settings, replica_url: str) -> AsyncIterator[Resources]:
    """Resources whose database is the replica: rows made here exist only there."""
    async with open_resources(replica_settings.model_copy(update={"database_url": replica_url})) as resources:
        yield resources


@pytest.fixture
async def client(replica_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(replica_app) as client:
        yield client


async def product_count(database: Database) -> int:
    async with database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Product)) or 0)


async def names(client: httpx.AsyncClient) -> list[str]:
    response = await client.get(PRODUCTS, params={"limit": 100})
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["items"])


async def create_product(client: httpx.AsyncClient, staff: Account, name: str, stock: int = 5) -> dict[str, Any]:
    body = {
        "name": name,
        "variants": [{"sku": f"SKU-{name}", "price": {"amount": 1500, "currency": "EUR"}, "stock": stock}],
    }
    response = await client.post("/api/v1/admin/products", json=body, headers=staff.headers)
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


class TestStorefrontReadsTheReplica:
    async def test_listing_detail_and_categories_come_from_the_replica(
        self, client: httpx.AsyncClient, primary: Resources, replica: Resources
    ) -> None:
        on_primary = await create_products(primary, 2, prefix="Primary")
        on_replica = await create_products(replica, 3, prefix="Replica")
        await create_category(replica, "Replica Only")

        assert await names(client) == ["Replica 000", "Replica 001", "Replica 002"]
        assert (await client.get(f"{PRODUCTS}/{on_replica[0]}")).json()["name"] == "Replica 000"
        assert (await client.get(f"{PRODUCTS}/{on_primary[0]}")).status_code == 404
        categories = (await client.get("/api/v1/categories")).json()["items"]
        assert [category["name"] for category in categories] == ["Replica Only"]

    async def test_catalogue_read_sessions_are_read_only(self, primary: Resources) -> None:
        async with primary.database.read_session() as session:
            with pytest.raises(DBAPIError, match="read-only transaction"):
                await session.execute(text("CREATE TABLE stray_write (id int)"))


class TestWritesAndTheirReadsUseThePrimary:
    async def test_admin_writes_land_on_the_primary_and_admin_reads_read_it(
        self, client: httpx.AsyncClient, primary: Resources, replica: Resources
    ) -> None:
        admin = await create_user(primary, role=Role.admin)
        await create_user(replica, email="only-on-replica@example.com")
        await create_product(client, admin, "Written")
        assert await product_count(primary.database) == 1
        assert await product_count(replica.database) == 0

        users = (await client.get("/api/v1/admin/users", headers=admin.headers)).json()["items"]
        assert [user["email"] for user in users] == [admin.email]

    async def test_a_product_just_written_is_served_from_the_primary_until_the_mark_expires(
        self, client: httpx.AsyncClient, primary: Resources
    ) -> None:
        staff = await create_user(primary, role=Role.staff)
        product = await create_product(client, staff, "Fresh")
        key = CacheKey.of("product", product["id"])

        # The replica has not got the product yet, but the write marked its key: read the primary.
        assert await primary.redis.exists(key.written)
        assert (await client.get(f"{PRODUCTS}/{product['id']}")).json()["name"] == "Fresh"

        # Once the mark has expired (the replica's tolerated lag), a miss reads the replica again.
        await primary.redis.delete(key.written, key.data)
        assert (await client.get(f"{PRODUCTS}/{product['id']}")).status_code == 404

    async def test_cart_and_checkout_read_and_write_the_primary(
        self, client: httpx.AsyncClient, primary: Resources, replica: Resources
    ) -> None:
        staff = await create_user(primary, role=Role.staff)
        customer = await create_user(primary)
        variant = (await create_product(client, staff, "Stocked", stock=5))["variants"][0]["id"]
        replica_product = await create_products(replica, 1, prefix="Ghost", stock=5)
        ghost = (await client.get(f"{PRODUCTS}/{replica_product[0]}")).json()["variants"][0]["id"]

        cart = f"/api/v1/cart/items/{variant}"
        assert (await client.put(cart, json={"quantity": 2}, headers=customer.headers)).status_code == 200
        ghost_line = await client.put(f"/api/v1/cart/items/{ghost}", json={"quantity": 1}, headers=customer.headers)
        assert ghost_line.status_code == 422  # a variant the primary does not have
        order = await client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=customer.headers)
        assert order.status_code == 201, order.text
        async with primary.database.sessionmaker() as session:
            stock = await session.scalar(text("SELECT stock FROM variant WHERE id = :id"), {"id": variant})
        assert stock == 3


class TestReplicaDown:
    @pytest.fixture
    async def app_with_dead_replica(self, settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
        dead = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/shop"
        assert settings.database_url is not None and settings.redis_url is not None
        own = make_settings(settings.database_url, settings.redis_url, tmp_path, database_replica_url=dead)
        async with running_app(own) as app:
            yield app

    async def test_ready_is_degraded_and_reads_fall_back_to_the_primary(self, app_with_dead_replica: FastAPI) -> None:
        database: Database = app_with_dead_replica.state.resources.database
        database.replica_breaker.cooldown = 3600  # no test timing can close it again
        async with client_for(app_with_dead_replica) as client:
            ready = await client.get("/health/ready")
            assert ready.status_code == 200
            assert ready.json()["status"] == "degraded"
            assert ready.json()["checks"]["database_replica"] == "down"
            assert ready.json()["checks"]["database"] == "ok"

            # The request that finds the replica gone fails fast and retryable; the next ones read the primary.
            assert (await client.get(PRODUCTS)).status_code == 503
            assert (await client.get(PRODUCTS)).status_code == 200
