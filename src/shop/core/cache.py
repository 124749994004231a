"""Redis: the client, and the one cache helper every domain uses.

Coherence: each cached entry is stored together with the *generation* of its key that was
current when the load began. A write bumps the generation after its transaction commits, so an
entry loaded before the write (even one stored after it) no longer matches and is reloaded.
Families: a view that depends on many rows (a listing page) cannot be invalidated key by key. Its
keys name a *family* instead, whose one generation they all share: invalidating the family's own
key (`CacheKey.family_key`) retires every entry of the family at once, with no extra round trip
on a read.
Availability: when Redis fails, reads fall through to the loader and the request still succeeds.
An invalidation lost to an outage is made up for by bumping a global *epoch* as soon as Redis
answers again, which retires every entry stored before it.
Replicas: a loader that reads a replica may see the state from before a write that already bumped
the generation, and would cache it under the new stamp. So a write also marks its keys as
*recently written* for `recent_write_seconds` (the replica's tolerated lag); while the mark
lasts, a miss loads with the caller's `primary` loader instead.
"""

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import structlog
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, RedisError
from redis.retry import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core import metrics
from shop.core.breaker import CircuitBreaker
from shop.core.config import Settings
from shop.core.db import after_commit
from shop.core.redis_urls import is_cluster_url, is_sentinel_url, parse_cluster_url, parse_sentinel_url

log = structlog.get_logger()

KEY_PREFIX = "shop"
# The shape of the cached views. Bumped whenever a cached body changes shape (a field added to a
# product, say), so that right after a deploy no process serves a body of the old shape.
VIEWS_VERSION = 2
EPOCH_KEY = f"{KEY_PREFIX}:epoch"
EPOCH_WRITTEN_KEY = f"{KEY_PREFIX}:written:epoch"
EPOCH_RETRY_SECONDS = 0.5
Loader = Callable[[], Awaitable[bytes | None]]


# A single server (or a Sentinel-managed master), or a Redis Cluster (redis_urls.py).
RedisClient: TypeAlias = Redis | RedisCluster
# What a Redis outage raises: a cluster client also raises its own, outside RedisError.
REDIS_ERRORS = (RedisError, RedisClusterException, OSError)


def create_redis(url: str, settings: Settings) -> RedisClient:
    """A client for one server's URL, the master a `redis+sentinel://` URL names, or a cluster."""
    timeouts = {"socket_timeout": settings.redis_timeout, "socket_connect_timeout": settings.redis_timeout}
    # No retries: with Redis down a request should lose one short timeout, not several.
    options: dict[str, Any] = {**timeouts, "retry": Retry(NoBackoff(), 0), "health_check_interval": 30}
    if is_cluster_url(url):
        cluster = parse_cluster_url(url)
        nodes = [ClusterNode(host, port) for host, port in cluster.nodes]
        return RedisCluster(startup_nodes=nodes, username=cluster.username, password=cluster.password, **options)
    if not is_sentinel_url(url):
        return Redis.from_url(url, **options)
    parts = parse_sentinel_url(url)
    sentinel_options = {**timeouts, "password": parts.sentinel_password}
    sentinel = Sentinel(list(parts.sentinels), sentinel_kwargs=sentinel_options)  # type: ignore[no-untyped-call]
    # The pool asks the sentinels for the master on each new connection, so after a failover
    # the next connection reaches the new master.
    master: Redis = sentinel.master_for(
        parts.service, redis_class=Redis, db=parts.db, username=parts.username, password=parts.password, **options
    )
    return master


async def close_redis(redis: RedisClient) -> None:
    await redis.aclose()
    pool = getattr(redis, "connection_pool", None)
    if isinstance(pool, SentinelConnectionPool):
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()


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
    # The family whose generation (and recently-written mark) this key shares, if any.
    family: str | None = None

    @classmethod
    def of(cls, namespace: str, *parts: object) -> "CacheKey":
        return cls(namespace, stable_key(*parts))

    @classmethod
    def in_family(cls, namespace: str, family: str, *parts: object) -> "CacheKey":
        """A key of `family`: retired with every other one when the family's key is invalidated."""
        # Always hashed, so an ident can never be mistaken for a family's name.
        canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
        return cls(namespace, hashlib.sha256(canonical.encode()).hexdigest(), family)

    @classmethod
    def family_key(cls, namespace: str, family: str) -> "CacheKey":
        """The key to invalidate to retire every entry of `family`."""
        return cls(namespace, family, family)

    @property
    def data(self) -> str:
        return f"{KEY_PREFIX}:v{VIEWS_VERSION}:{self.namespace}:{self.ident}"

    @property
    def generation(self) -> str:
        return f"{KEY_PREFIX}:gen:{self.namespace}:{self.family or self.ident}"

    @property
    def written(self) -> str:
        return f"{KEY_PREFIX}:written:{self.namespace}:{self.family or self.ident}"


@dataclass(frozen=True, slots=True)
class _Lookup:
    stamp: bytes | None  # epoch.generation when the look-up began; None when Redis is unusable
    value: bytes | None  # the cached bytes, when they carry that stamp
    recently_written: bool = False


class Cache:
    def __init__(
        self, redis: RedisClient, breaker: CircuitBreaker | None = None, *, recent_write_seconds: float = 0
    ) -> None:
        self.redis = redis
        self.breaker = breaker or CircuitBreaker()
        self.recent_write_seconds = recent_write_seconds
        self._inflight: dict[str, asyncio.Future[bytes | None]] = {}
        self._epoch_bump: asyncio.Task[None] | None = None

    async def get_or_load(
        self, key: CacheKey, loader: Loader, ttl: int, *, primary: Loader | None = None
    ) -> bytes | None:
        """The cached bytes for `key`, or the loader's answer (stored when not None).

        `primary` is the same load from the primary database, for a `loader` that reads a
        replica: it runs instead while `key` is marked recently written. Concurrent misses on one
        key in this process share one load (no stampede on a cold key).
        """
        pending = self._inflight.get(key.data)
        if pending is not None:
            return await asyncio.shield(pending)
        lookup = await self._read(key)
        if lookup.value is not None:
            return lookup.value
        stamp = lookup.stamp
        if lookup.recently_written and primary is not None:
            loader = primary
        pending = self._inflight.get(key.data)  # a load may have begun while Redis answered
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
        if value is not None and stamp is not None:
            await self._store(key, stamp, value, ttl)
        return value

    async def invalidate(self, *keys: CacheKey) -> None:
        if not keys:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                # Once each: a family key comes with every product a batch touched.
                for key in dict.fromkeys(keys):
                    pipe.incr(key.generation)
                    pipe.delete(key.data)
                    if self.recent_write_seconds:
                        pipe.set(key.written, b"1", px=self._recent_write_ms)
                await pipe.execute()
        except REDIS_ERRORS as exc:
            self._failed("invalidate", exc)
            self._retire_everything_once_back()

    @property
    def _recent_write_ms(self) -> int:
        return max(1, round(self.recent_write_seconds * 1000))

    async def _read(self, key: CacheKey) -> _Lookup:
        if not self.breaker.closed or self._epoch_bump is not None:
            metrics.cache_requests.labels(key.namespace, "skipped").inc()
            return _Lookup(None, None)
        try:
            keys = (EPOCH_KEY, key.generation, key.data, key.written, EPOCH_WRITTEN_KEY)
            if isinstance(self.redis, RedisCluster):
                # The keys live in different slots; each is read on its own node. Reading them at
                # slightly different moments is safe: a stale pairing only ever misses.
                values = cast(list[bytes | None], await self.redis.mget_nonatomic(keys))
            else:
                values = cast(list[bytes | None], await self.redis.mget(keys))
            epoch, generation, stored, written, epoch_written = values
        except REDIS_ERRORS as exc:
            self._failed("read", exc)
            metrics.cache_requests.labels(key.namespace, "error").inc()
            return _Lookup(None, None)
        stamp = (epoch or b"0") + b"." + (generation or b"0")
        if stored is not None:
            stored_stamp, _, value = stored.partition(b"\n")
            if stored_stamp == stamp:
                metrics.cache_requests.labels(key.namespace, "hit").inc()
                return _Lookup(stamp, value)
        metrics.cache_requests.labels(key.namespace, "miss").inc()
        return _Lookup(stamp, None, recently_written=written is not None or epoch_written is not None)

    async def _store(self, key: CacheKey, stamp: bytes, value: bytes, ttl: int) -> None:
        try:
            await self.redis.set(key.data, stamp + b"\n" + value, ex=ttl)
        except REDIS_ERRORS as exc:
            self._failed("store", exc)

    def _retire_everything_once_back(self) -> None:
        """A write's invalidation was lost: bump the epoch as soon as Redis answers again.

        Until then this process stays off the cache; the others retire their entries with the
        bump, at most one retry interval after Redis is back.
        """
        if self._epoch_bump is None:
            self._epoch_bump = asyncio.get_running_loop().create_task(self._bump_epoch())

    async def _bump_epoch(self) -> None:
        while True:
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.incr(EPOCH_KEY)
                    if self.recent_write_seconds:
                        # The lost invalidation's keys are unknown: every key counts as written.
                        pipe.set(EPOCH_WRITTEN_KEY, b"1", px=self._recent_write_ms)
                    await pipe.execute()
            except REDIS_ERRORS:
                await asyncio.sleep(EPOCH_RETRY_SECONDS)
                continue
            log.info("cache.epoch_bumped")
            self._epoch_bump = None
            return

    async def close(self) -> None:
        if self._epoch_bump is not None:
            self._epoch_bump.cancel()

    def _failed(self, operation: str, exc: BaseException) -> None:
        # Invalidations still try through an open breaker: a missed one could leave a stale entry.
        self.breaker.trip()
        metrics.dependency_errors.labels("redis").inc()
        log.warning("cache.unavailable", operation=operation, error=type(exc).__name__)


# Sessions whose factory puts the process's `Cache` under this key (core/resources.py) can have
# the cache entries of what they change dropped once they commit, without a service being handed
# the cache: the domain that writes owns its invalidation.
CACHE_SESSION_INFO_KEY = "shop.cache"


def invalidate_after_commit(session: AsyncSession, *keys: CacheKey) -> None:
    """Drop `keys` from the process's cache once the session's transaction commits (not on a rollback)."""
    cache: Cache | None = session.info.get(CACHE_SESSION_INFO_KEY)
    if cache is None:
        raise RuntimeError("This session holds no cache: open it from the process's resources (core/resources.py).")

    # Before the commit a concurrent reader could still load and re-cache the old row.
    async def _invalidate() -> None:
        await cache.invalidate(*keys)

    after_commit(session, _invalidate)
