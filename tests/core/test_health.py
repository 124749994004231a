"""Health endpoints, with the real servers stopped and started again under a running app."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shop.app import create_app
from shop.core.cache import CacheKey
from shop.core.config import Settings
from shop.core.db import PING_AFTER_IDLE_SECONDS
from shop.core.embedded import EmbeddedPostgres, EmbeddedValkey
from shop.core.lifecycle import drain_of
from shop.core.resources import Resources
from tests.fixtures.app import client_for, running_app
from tests.fixtures.auth import create_user
from tests.fixtures.database import create_test_database
from tests.fixtures.invariants import audit_invariants
from tests.fixtures.orders import create_variants, place
from tests.fixtures.probe_app import probe_router
from tests.fixtures.services import own_postgres
from tests.fixtures.settings import make_settings
from tests.fixtures.waiting import eventually


async def test_live_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_is_ok_with_every_service_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "broker": "ok"}}


async def test_ready_is_503_draining_while_live_stays_ok(app: FastAPI, client: httpx.AsyncClient) -> None:
    drain = drain_of(app.state)
    drain.start()
    try:
        ready = await client.get("/health/ready")
        live = await client.get("/health/live")
    finally:
        drain.reset()
    assert ready.status_code == 503
    assert ready.json() == {"status": "draining", "checks": {"database": "ok", "redis": "ok", "broker": "ok"}}
    assert live.status_code == 200


class TestRedisStopped:
    @pytest.fixture
    def valkey(self, own_valkey: EmbeddedValkey) -> EmbeddedValkey:
        return own_valkey

    @pytest.fixture
    async def app_on_valkey(self, valkey: EmbeddedValkey, database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
        settings = make_settings(database_url, valkey.url(), tmp_path)
        async with running_app(settings) as app:
            yield app

    async def test_ready_is_degraded_then_recovers(
        self, valkey: EmbeddedValkey, app_on_valkey: FastAPI, resources: Resources
    ) -> None:
        shop = app_on_valkey.state.resources
        (variant,) = await create_variants(shop, [5])
        buyer = await create_user(shop)
        async with client_for(app_on_valkey) as client:
            assert (await client.get("/health/ready")).json()["status"] == "ok"
            valkey.stop()
            response = await client.get("/health/ready")
            assert response.status_code == 200
            assert response.json() == {
                "status": "degraded",
                "checks": {"database": "ok", "redis": "down", "broker": "down"},
            }
            # Orders are taken without Redis and the broker; their events wait in the outbox.
            await place(client, buyer, (variant, 2), key="during-the-outage")
            await place(client, buyer, (variant, 2), key="during-the-outage")
            valkey.start()
            response = await client.get("/health/ready")
            assert response.json()["status"] == "ok"
            await place(client, buyer, (variant, 1))
        await audit_invariants(resources.database)

    async def test_the_cache_serves_from_the_loader_while_redis_is_stopped(
        self, valkey: EmbeddedValkey, app_on_valkey: FastAPI
    ) -> None:
        cache = app_on_valkey.state.resources.cache
        key = CacheKey.of("things", "outage")

        async def load() -> bytes:
            return b"fresh"

        valkey.stop()
        assert await cache.get_or_load(key, load, ttl=60) == b"fresh"
        valkey.start()

        async def cached_again() -> bool:
            assert await cache.get_or_load(key, load, ttl=60) == b"fresh"
            return bool(await app_on_valkey.state.resources.redis.exists(key.data))

        # Once the circuit breaker's cooldown has passed, the cache is used again by itself.
        await eventually(cached_again, cache.breaker.cooldown + 5, "the cache resumes")


class TestPostgresStopped:
    @pytest.fixture
    async def postgres(self, tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
        async with own_postgres(tmp_path) as server:
            yield server

    @pytest.fixture
    async def app_on_postgres(
        self, postgres: EmbeddedPostgres, settings: Settings, tmp_path: Path
    ) -> AsyncIterator[FastAPI]:
        async for url in create_test_database(postgres.url()):
            own = make_settings(url, settings.redis_url or "", tmp_path, database_pool_timeout=2.0)
            app = create_app(own)
            app.include_router(probe_router())
            async with running_app(own, app) as running:
                async with running.state.resources.database.engine.begin() as connection:
                    await connection.execute(text("CREATE TABLE probe_note (id serial PRIMARY KEY, text text)"))
                yield running

    async def test_ready_is_503_and_requests_fail_fast_then_all_recovers(
        self, postgres: EmbeddedPostgres, app_on_postgres: FastAPI
    ) -> None:
        shop = app_on_postgres.state.resources
        (variant,) = await create_variants(shop, [5])
        buyer = await create_user(shop)
        async with client_for(app_on_postgres) as client:
            assert (await client.post("/api/v1/probe/notes", json={"text": "before"})).status_code == 201
            await place(client, buyer, (variant, 1))
            await asyncio.to_thread(postgres.pause)

            response = await client.get("/health/ready")
            assert response.status_code == 503
            assert response.json()["checks"]["database"] == "down"
            response = await client.post("/api/v1/probe/notes", json={"text": "during"})
            assert response.status_code == 503
            assert response.json()["code"] == "service_unavailable"
            assert response.headers["retry-after"]
            refused = await place(client, buyer, (variant, 2), key="across-the-outage", expect=503)
            assert refused.json()["code"] == "service_unavailable"

            await asyncio.to_thread(postgres.resume)
            assert (await client.get("/health/ready")).status_code == 200
            # Pooled connections died with the server; none of them may fail a request now.
            for index in range(5):
                response = await client.post("/api/v1/probe/notes", json={"text": f"after-{index}"})
                assert response.status_code == 201, response.text
            # The key of the refused checkout is free: its retry orders once.
            await place(client, buyer, (variant, 2), key="across-the-outage")
        await audit_invariants(shop.database)

    async def test_connections_that_died_while_idle_are_replaced_not_handed_out(
        self, postgres: EmbeddedPostgres, app_on_postgres: FastAPI
    ) -> None:
        async with client_for(app_on_postgres) as client:
            for index in range(3):  # several pooled connections, all alive
                assert (await client.post("/api/v1/probe/notes", json={"text": f"before-{index}"})).status_code == 201
            # No request sees the outage, so nothing tells the pool its connections died.
            await asyncio.to_thread(postgres.pause)
            await asyncio.sleep(PING_AFTER_IDLE_SECONDS)
            await asyncio.to_thread(postgres.resume)
            for index in range(5):
                response = await client.post("/api/v1/probe/notes", json={"text": f"after-{index}"})
                assert response.status_code == 201, response.text

    async def test_metrics_answer_without_the_outbox_backlog_while_it_is_down(
        self, postgres: EmbeddedPostgres, app_on_postgres: FastAPI
    ) -> None:
        async with client_for(app_on_postgres) as client:
            assert "shop_outbox_pending_events 0.0" in (await client.get("/metrics")).text
            await asyncio.to_thread(postgres.pause)
            response = await client.get("/metrics")
            assert response.status_code == 200
            assert "shop_outbox_pending_events" not in response.text
            assert "shop_http_requests_total" in response.text
            await asyncio.to_thread(postgres.resume)

            async def backlog_is_back() -> bool:
                return "shop_outbox_pending_events 0.0" in (await client.get("/metrics")).text

            await eventually(backlog_is_back, 30, "the backlog is reported again")
