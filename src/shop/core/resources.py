"""The connections one process holds: opened at start-up, closed at shutdown."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from shop.core.cache import Cache, create_redis
from shop.core.config import Settings
from shop.core.db import Database


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    database: Database
    redis: Redis
    cache: Cache


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    database = Database(settings)
    redis = create_redis(settings.require_redis_url(), settings)
    try:
        yield Resources(settings=settings, database=database, redis=redis, cache=Cache(redis))
    finally:
        await redis.aclose()
        await database.dispose()
