"""The connections one process holds: opened at start-up, closed at shutdown."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from celery import Celery

from shop.core.cache import CACHE_SESSION_INFO_KEY, Cache, RedisClient, close_redis, create_redis
from shop.core.config import Settings
from shop.core.db import Database
from shop.core.outbox import RELAY_SESSION_INFO_KEY, BackgroundRelay
from shop.core.queue import TaskPublisher, create_celery

# Relays still publishing at shutdown get this long; the sweep covers any they leave.
RELAY_DRAIN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    database: Database
    redis: RedisClient
    cache: Cache
    celery: Celery
    publish: TaskPublisher


@asynccontextmanager
async def open_resources(settings: Settings, celery: Celery | None = None) -> AsyncIterator[Resources]:
    database = Database(settings)
    redis = create_redis(settings.require_redis_url(), settings)
    celery = celery or create_celery(settings)
    publish = TaskPublisher(celery)
    relay = BackgroundRelay(database, publish)
    cache = Cache(redis, recent_write_seconds=settings.database_replica_max_lag_seconds)
    # Every session of the process relays its events and invalidates its cache entries after commit.
    database.sessionmaker.configure(info={RELAY_SESSION_INFO_KEY: relay, CACHE_SESSION_INFO_KEY: cache})
    try:
        yield Resources(settings, database, redis, cache, celery, publish)
    finally:
        await relay.drain(RELAY_DRAIN_SECONDS)
        await cache.close()
        await close_redis(redis)
        await database.dispose()
