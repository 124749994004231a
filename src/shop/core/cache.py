"""Redis: the client, and the one cache helper every domain uses.

Coherence: each cached entry is stored together with the *generation* of its key that was
current when the load began. A write bumps the generation after its transaction commits, so an
entry loaded before the write (even one stored after it) no longer matches and is reloaded.
Availability: when Redis fails, reads fall through to the loader and the request still succeeds.
"""

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

import structlog
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core import metrics
from shop.core.config import Settings
from shop.core.db import after_commit

log = structlog.get_logger()

KEY_PREFIX = "shop"
Loader = Callable[[], Awaitable[bytes | None]]


def create_redis(url: str, settings: Settings) -> Redis:
    # No retries: with Redis down a request should lose one short timeout, not several.
    return Redis.from_url(
        url,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
    )


def stable_key(*parts: object) -> str:
    """A key that is the same in every process (unlike `hash()`, which is salted per process)."""
    text = ":".join(str(part) for part in parts)
    if len(text) <= 100 and all(ch.isalnum() or ch in "-_.:" for ch in text):
        return text
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CacheKey:
    namespace: str
    ident: str

    @classmethod
    def of(cls, namespace: str, *parts: object) -> "CacheKey":
        return cls(namespace, stable_key(*parts))

    @property
    def data(self) -> str:
        return f"{KEY_PREFIX}:{self.namespace}:{self.ident}"

    @property
    def generation(self) -> str:
        return f"{KEY_PREFIX}:gen:{self.namespace}:{self.ident}"


class CircuitBreaker:
    """After a failure, skip the dependency for `cooldown` seconds, then try it again.

    A Redis that hangs would otherwise cost every request a full timeout; with the breaker
    open, reads go straight to the database.
    """

    def __init__(self, cooldown: float = 5.0) -> None:
        self.cooldown = cooldown
        self._open_until = 0.0

    @property
    def closed(self) -> bool:
        return time.monotonic() >= self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.cooldown


class Cache:
    def __init__(self, redis: Redis, breaker: CircuitBreaker | None = None) -> None:
        self.redis = redis
        self.breaker = breaker or CircuitBreaker()
        self._inflight: dict[str, asyncio.Future[bytes | None]] = {}

    async def get_or_load(self, key: CacheKey, loader: Loader, ttl: int) -> bytes | None:
        """The cached bytes for `key`, or the loader's answer (stored when not None).

        Concurrent misses on one key in this process share one load (no stampede on a cold key).
        """
        generation, cached = await self._read(key)
        if cached is not None:
            return cached
        pending = self._inflight.get(key.data)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._inflight[key.data] = future
        try:
            value = await loader()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # consumed here so an unawaited future does not warn
            raise
        finally:
            self._inflight.pop(key.data, None)
        future.set_result(value)
        if value is not None and generation is not None:
            await self._store(key, generation, value, ttl)
        return value

    async def invalidate(self, *keys: CacheKey) -> None:
        if not keys:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.incr(key.generation)
                    pipe.delete(key.data)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed("invalidate", exc)

    def invalidate_after_commit(self, session: AsyncSession, *keys: CacheKey) -> None:
        # Before the commit a concurrent reader could still load and re-cache the old row.
        async def _invalidate() -> None:
            await self.invalidate(*keys)

        after_commit(session, _invalidate)

    async def _read(self, key: CacheKey) -> tuple[bytes | None, bytes | None]:
        """(current generation, cached value if it belongs to that generation)."""
        if not self.breaker.closed:
            metrics.cache_requests.labels(key.namespace, "skipped").inc()
            return None, None
        try:
            values = cast(list[bytes | None], await self.redis.mget(key.generation, key.data))
            generation, stored = values
        except (RedisError, OSError) as exc:
            self._failed("read", exc)
            metrics.cache_requests.labels(key.namespace, "error").inc()
            return None, None
        generation = generation or b"0"
        if stored is not None:
            stored_generation, _, value = stored.partition(b"\n")
            if stored_generation == generation:
                metrics.cache_requests.labels(key.namespace, "hit").inc()
                return generation, value
        metrics.cache_requests.labels(key.namespace, "miss").inc()
        return generation, None

    async def _store(self, key: CacheKey, generation: bytes, value: bytes, ttl: int) -> None:
        try:
            await self.redis.set(key.data, generation + b"\n" + value, ex=ttl)
        except (RedisError, OSError) as exc:
            self._failed("store", exc)

    def _failed(self, operation: str, exc: BaseException) -> None:
        # Invalidations still try through an open breaker: a missed one could leave a stale entry.
        self.breaker.trip()
        metrics.dependency_errors.labels("redis").inc()
        log.warning("cache.unavailable", operation=operation, error=type(exc).__name__)
