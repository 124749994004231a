"""The product cache: served from Redis, never stale after a write returned, fine without Redis."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from shop.core.cache import EPOCH_KEY, CacheKey
from shop.core.config import Settings
from shop.core.embedded import EmbeddedValkey
from shop.core.resources import Resources
from shop.core.security import Role
from tests.fixtures.app import client_for, running_app, running_app_without_redis
from tests.fixtures.auth import Account, bearer, create_user
from tests.fixtures.catalog import create, eur, new_product
from tests.fixtures.invariants import audit_invariants
from tests.fixtures.settings import make_settings
from tests.fixtures.waiting import eventually


@pytest.fixture
async def staff(resources: Resources) -> Account:
    return await create_user(resources, role=Role.staff)


async def test_detail_is_served_from_the_cache(
    client: httpx.AsyncClient, staff: Account, redis: Redis, resources: Resources
) -> None:
    product = await create(client, staff)
    key = CacheKey.of("product", product["id"])
    await client.get(f"/api/v1/products/{product['id']}")
    assert await redis.exists(key.data) == 1
    # Proof that the cached bytes are what is served: plant a marker in them.
    stored = await redis.get(key.data)
    assert stored is not None
    await redis.set(key.data, stored.replace(b'"Blue Tee"', b'"From cache"'))
    assert (await client.get(f"/api/v1/products/{product['id']}")).json()["name"] == "From cache"


async def test_two_hundred_updates_are_each_visible_to_the_very_next_read(
    client: httpx.AsyncClient, staff: Account
) -> None:
    product = await create(client, staff)
    variant_id = product["variants"][0]["id"]
    stop = asyncio.Event()

    async def hammer_reads() -> None:
        # Readers keep re-filling the cache concurrently with the writes.
        while not stop.is_set():
            await client.get(f"/api/v1/products/{product['id']}")

    readers = [asyncio.create_task(hammer_reads()) for _ in range(4)]
    try:
        for price in range(3000, 3200):
            response = await client.patch(
                f"/api/v1/admin/variants/{variant_id}", json={"price": eur(price)}, headers=staff.headers
            )
            assert response.status_code == 200
            detail = (await client.get(f"/api/v1/products/{product['id']}")).json()
            assert detail["variants"][0]["price"]["amount"] == price, f"stale read after update to {price}"
            by_slug = (await client.get(f"/api/v1/products/by-slug/{product['slug']}")).json()
            assert by_slug["variants"][0]["price"]["amount"] == price
    finally:
        stop.set()
        await asyncio.gather(*readers)


class TestRedisDown:
    @pytest.fixture
    async def app_without_redis(self, settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
        async with running_app_without_redis(settings, tmp_path) as app:
            yield app

    async def test_reads_and_writes_still_succeed(
        self,
        app_without_redis: FastAPI,
        client: httpx.AsyncClient,
        staff: Account,
        settings: Settings,
        resources: Resources,
    ) -> None:
        product = await create(client, staff)
        async with client_for(app_without_redis) as down:
            detail = await down.get(f"/api/v1/products/{product['id']}")
            assert detail.status_code == 200
            assert (await down.get(f"/api/v1/products/by-slug/{product['slug']}")).status_code == 200
            assert (await down.get("/api/v1/products")).status_code == 200
            assert (await down.get("/api/v1/categories")).status_code == 200
            headers = bearer(staff.id, Role.staff, settings)
            patched = await down.patch(
                f"/api/v1/admin/products/{product['id']}", json={"name": "Written without Redis"}, headers=headers
            )
            assert patched.status_code == 200
            assert (await down.get(f"/api/v1/products/{product['id']}")).json()["name"] == "Written without Redis"
            variant = product["variants"][0]["id"]
            restocked = await down.post(
                f"/api/v1/admin/variants/{variant}/stock", json={"delta": 3, "reason": "outage"}, headers=headers
            )
            assert restocked.status_code == 200
        await audit_invariants(resources.database)


class TestRedisOutage:
    """A write during an outage cannot invalidate; nothing cached before it may be served after."""

    @pytest.fixture
    def valkey(self, own_valkey: EmbeddedValkey) -> EmbeddedValkey:
        # It keeps its data: the stale entry comes back with it after the outage.
        return own_valkey

    async def test_an_entry_from_before_the_outage_is_retired_for_every_process(
        self, valkey: EmbeddedValkey, settings: Settings, tmp_path: Path, staff: Account, resources: Resources
    ) -> None:
        own = make_settings(settings.database_url or "", valkey.url(), tmp_path)
        headers = bearer(staff.id, Role.staff, settings)
        async with running_app(own) as writer, client_for(writer) as write_client:
            product = (await write_client.post("/api/v1/admin/products", json=new_product(), headers=headers)).json()
            url = f"/api/v1/products/{product['id']}"
            assert (await write_client.get(url)).json()["name"] == "Blue Tee"  # now cached

            valkey.stop()
            renamed = await write_client.patch(
                f"/api/v1/admin/products/{product['id']}", json={"name": "Renamed in the outage"}, headers=headers
            )
            assert renamed.status_code == 200
            valkey.start()

            probe = Redis.from_url(valkey.url())
            stale = CacheKey.of("product", product["id"]).data
            assert await probe.exists(stale), "the entry from before the outage came back with Redis"

            async def epoch_bumped() -> bool:
                return await probe.get(EPOCH_KEY) is not None

            # The writer, whose invalidation was lost, bumps the epoch once Redis answers again.
            await eventually(epoch_bumped, 5, "the epoch is bumped")
            await probe.aclose()

            # Another process, which never saw the outage, does not serve the old entry.
            async with running_app(own) as reader, client_for(reader) as read_client:
                assert (await read_client.get(url)).json()["name"] == "Renamed in the outage"
        await audit_invariants(resources.database)
