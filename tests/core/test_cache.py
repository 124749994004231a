"""The cache helper: hits, single flight, coherence with writes, and Redis being down."""

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from shop.core.cache import Cache, CacheKey, create_redis, stable_key
from shop.core.config import Settings
from shop.core.resources import Resources


@pytest.fixture
def cache(resources: Resources) -> Cache:
    return resources.cache


class Loads:
    def __init__(self, value: bytes | None = b"v1", delay: float = 0.0) -> None:
        self.value = value
        self.delay = delay
        self.count = 0

    async def __call__(self) -> bytes | None:
        self.count += 1
        await asyncio.sleep(self.delay)
        return self.value


class TestRecentWrites:
    """A write marks its keys so that a replica that has not replayed it yet is not cached from."""

    async def test_a_miss_on_a_key_just_written_uses_the_primary_loader(self, cache: Cache, redis: Redis) -> None:
        key = CacheKey.of("things", "replicated")
        replica, primary = Loads(b"from the replica"), Loads(b"from the primary")
        assert await cache.get_or_load(key, replica, ttl=60, primary=primary) == b"from the replica"
        await cache.invalidate(key)
        assert 0 < await redis.pttl(key.written) <= cache.recent_write_seconds * 1000
        assert await cache.get_or_load(key, replica, ttl=60, primary=primary) == b"from the primary"
        assert await cache.get_or_load(key, replica, ttl=60, primary=primary) == b"from the primary"
        assert (replica.count, primary.count) == (1, 1)

    async def test_without_a_lag_window_nothing_is_marked(self, redis: Redis) -> None:
        key = CacheKey.of("things", "unmarked")
        await Cache(redis).invalidate(key)
        assert await redis.exists(key.generation)
        assert not await redis.exists(key.written)


class TestGetOrLoad:
    async def test_a_miss_loads_and_stores_and_a_hit_does_not_load(self, cache: Cache) -> None:
        key = CacheKey.of("things", "a")
        loader = Loads()
        assert await cache.get_or_load(key, loader, ttl=60) == b"v1"
        assert await cache.get_or_load(key, loader, ttl=60) == b"v1"
        assert loader.count == 1

    async def test_none_is_not_cached(self, cache: Cache) -> None:
        key = CacheKey.of("things", "missing")
        loader = Loads(value=None)
        assert await cache.get_or_load(key, loader, ttl=60) is None
        assert await cache.get_or_load(key, loader, ttl=60) is None
        assert loader.count == 2

    async def test_concurrent_misses_share_one_load(self, cache: Cache) -> None:
        key = CacheKey.of("things", "cold")
        # The load outlasts every concurrent Redis read, even on a busy machine.
        loader = Loads(delay=0.5)
        results = await asyncio.gather(*(cache.get_or_load(key, loader, ttl=60) for _ in range(20)))
        assert results == [b"v1"] * 20
        assert loader.count == 1

    async def test_the_ttl_is_set(self, cache: Cache, redis: Redis) -> None:
        key = CacheKey.of("things", "ttl")
        await cache.get_or_load(key, Loads(), ttl=30)
        assert 0 < await redis.ttl(key.data) <= 30


class TestCoherence:
    async def test_invalidate_makes_the_next_read_load_again(self, cache: Cache) -> None:
        key = CacheKey.of("things", "b")
        await cache.get_or_load(key, Loads(b"old"), ttl=60)
        await cache.invalidate(key)
        assert await cache.get_or_load(key, Loads(b"new"), ttl=60) == b"new"

    async def test_a_load_that_began_before_a_write_is_never_served_after_it(self, cache: Cache) -> None:
        key = CacheKey.of("things", "race")
        loaded = asyncio.Event()
        release = asyncio.Event()

        async def slow_old_read() -> bytes:
            loaded.set()  # it has read the old row ...
            await release.wait()  # ... and stores it only after the write invalidated the key
            return b"old"

        reader = asyncio.create_task(cache.get_or_load(key, slow_old_read, ttl=60))
        await loaded.wait()
        await cache.invalidate(key)  # the write committed meanwhile
        release.set()
        assert await reader == b"old"  # that reader saw the world before the write ...
        assert await cache.get_or_load(key, Loads(b"new"), ttl=60) == b"new"  # ... nobody after it does


class TestRedisDown:
    @pytest.fixture
    def dead_cache(self, settings: Settings) -> Cache:
        # Nothing listens on port 1: every Redis call fails at once.
        return Cache(create_redis("redis://127.0.0.1:1/0", settings))

    async def test_reads_fall_through_to_the_loader(self, dead_cache: Cache) -> None:
        loader = Loads(b"from-db")
        assert await dead_cache.get_or_load(CacheKey.of("things", "x"), loader, ttl=60) == b"from-db"
        assert await dead_cache.get_or_load(CacheKey.of("things", "x"), loader, ttl=60) == b"from-db"
        assert loader.count == 2
        await dead_cache.redis.aclose()

    async def test_invalidation_does_not_raise(self, dead_cache: Cache) -> None:
        await dead_cache.invalidate(CacheKey.of("things", "x"))
        await dead_cache.redis.aclose()


class TestStableKeys:
    def test_simple_parts_stay_readable(self) -> None:
        assert stable_key("product", 42) == "product:42"

    def test_complex_parts_are_hashed_identically_in_another_process(self) -> None:
        parts = ("list", {"q": "blue shoes", "sort": "-price"}, None)
        code = (
            "from shop.core.cache import stable_key; "
            "print(stable_key('list', {'sort': '-price', 'q': 'blue shoes'}, None))"
        )
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert other.stdout.strip() == stable_key(*parts)
        assert len(stable_key(*parts)) == 64


class TestRedisThatHangs:
    """A Redis that accepts connections but never answers: the worst kind of outage."""

    @pytest.fixture
    async def hanging_url(self) -> AsyncIterator[str]:
        held: list[asyncio.StreamWriter] = []

        async def swallow(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)  # keep the connection open, answer nothing

        server = await asyncio.start_server(swallow, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        yield f"redis://127.0.0.1:{port}/0"
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()

    async def test_one_request_pays_the_timeout_then_the_breaker_skips_redis(
        self, hanging_url: str, settings: Settings
    ) -> None:
        cache = Cache(create_redis(hanging_url, settings.model_copy(update={"redis_timeout": 0.3})))
        loader = Loads(b"db")
        started = time.monotonic()
        assert await cache.get_or_load(CacheKey.of("things", "h"), loader, ttl=60) == b"db"
        first = time.monotonic() - started
        started = time.monotonic()
        for _ in range(20):
            assert await cache.get_or_load(CacheKey.of("things", "h"), loader, ttl=60) == b"db"
        rest = time.monotonic() - started
        assert 0.25 <= first < 2.0, "the first call waits out the short timeout, not the request budget"
        assert rest < 0.2, "with the breaker open, later calls do not touch Redis"
        await cache.redis.aclose()
