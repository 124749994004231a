"""SHOP_REDIS_URL / SHOP_BROKER_URL as redis+sentinel:// and redis+cluster:// URLs, on real servers."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from shop.core.cache import CacheKey
from shop.core.config import Settings
from shop.core.embedded import EmbeddedValkey
from shop.core.ratelimit import Limit, SlidingWindowLimiter
from shop.core.resources import Resources
from tests.fixtures.app import client_for, running_app
from tests.fixtures.redis_servers import SERVICE, running_cluster, running_sentinel
from tests.fixtures.services import ServiceUrls
from tests.fixtures.settings import broker_url_for, make_settings


@pytest.fixture
def sentinel_port(own_valkey: EmbeddedValkey, tmp_path: Path) -> Iterator[int]:
    with running_sentinel(own_valkey.port, tmp_path / "sentinel") as port:
        yield port


@pytest.fixture
async def sentinel_app(sentinel_port: int, database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    url = f"redis+sentinel://127.0.0.1:{sentinel_port}/{SERVICE}"
    settings: Settings = make_settings(database_url, f"{url}/0", tmp_path, broker_url=f"{url}/1")
    async with running_app(settings) as app:
        yield app


@pytest.fixture
async def master(own_valkey: EmbeddedValkey) -> AsyncIterator[Redis]:
    client = Redis.from_url(own_valkey.url(0))
    yield client
    await client.aclose()


async def test_the_cache_and_the_broker_reach_the_master_through_the_sentinel(
    sentinel_app: FastAPI, master: Redis, own_valkey: EmbeddedValkey
) -> None:
    resources: Resources = sentinel_app.state.resources
    async with client_for(sentinel_app) as client:
        ready = (await client.get("/health/ready")).json()
        assert ready["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}, ready

    key = CacheKey.of("sentinel", "probe")

    async def load() -> bytes:
        return b"found through the sentinel"

    assert await resources.cache.get_or_load(key, load, ttl=60) == b"found through the sentinel"
    assert await master.exists(key.data)

    event_id = uuid.uuid4()
    await resources.publish("shop.sentinel_probe", event_id)
    broker_db = Redis.from_url(own_valkey.url(1))
    try:
        assert await broker_db.llen("celery") == 1
        assert str(event_id).encode() in (await broker_db.lindex("celery", 0) or b"")
    finally:
        await broker_db.aclose()


@pytest.fixture
def cluster_port(tmp_path: Path) -> Iterator[int]:
    with running_cluster(tmp_path / "cluster") as port:
        yield port


@pytest.fixture
async def cluster_app(
    cluster_port: int, database_url: str, services: ServiceUrls, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    # Celery cannot use a cluster: the broker stays on a single Redis.
    settings = make_settings(
        database_url,
        f"redis+cluster://127.0.0.1:{cluster_port}",
        tmp_path,
        broker_url=broker_url_for(services.redis),
    )
    async with running_app(settings) as app:
        yield app


async def test_the_cache_and_rate_limits_work_on_a_cluster(cluster_app: FastAPI) -> None:
    resources: Resources = cluster_app.state.resources
    async with client_for(cluster_app) as client:
        ready = (await client.get("/health/ready")).json()
        assert ready["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}, ready

    key = CacheKey.of("cluster", "probe")
    loads = 0

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        return f"load {loads}".encode()

    # Its keys lie in different slots: one multi-key command would be refused (CROSSSLOT).
    assert await resources.cache.get_or_load(key, load, ttl=60) == b"load 1"
    assert await resources.cache.get_or_load(key, load, ttl=60) == b"load 1"
    await resources.cache.invalidate(key)
    assert await resources.cache.get_or_load(key, load, ttl=60) == b"load 2"
    assert resources.cache.breaker.closed  # no Redis error on the way

    limiter = SlidingWindowLimiter(resources.redis)
    limit = Limit(max_events=2, window_seconds=60)
    decisions = [await limiter.hit("cluster-probe", limit) for _ in range(3)]
    assert [decision.allowed for decision in decisions] == [True, True, False]
