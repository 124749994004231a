"""The sliding-window limiter on the real Redis: counts, windows, retry times, Redis down."""

import asyncio

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from shop.core.cache import create_redis
from shop.core.config import Settings
from shop.core.ratelimit import Limit, SlidingWindowLimiter

THREE_PER_MINUTE = Limit(max_events=3, window_seconds=60)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def redis_errors() -> float:
    return REGISTRY.get_sample_value("shop_dependency_errors_total", {"dependency": "redis"}) or 0.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(redis: Redis, clock: Clock) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(redis, clock=clock)


class TestHit:
    async def test_allows_up_to_the_limit_then_refuses(self, limiter: SlidingWindowLimiter) -> None:
        decisions = [await limiter.hit("k", THREE_PER_MINUTE) for _ in range(4)]
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert [d.remaining for d in decisions] == [2, 1, 0, 0]

    async def test_a_refused_event_is_not_counted(self, limiter: SlidingWindowLimiter, clock: Clock) -> None:
        for _ in range(3):
            await limiter.hit("k", THREE_PER_MINUTE)
        for _ in range(5):
            assert not (await limiter.hit("k", THREE_PER_MINUTE)).allowed
        clock.now += 60
        assert (await limiter.hit("k", THREE_PER_MINUTE)).allowed

    async def test_retry_after_is_when_the_oldest_event_leaves_the_window(
        self, limiter: SlidingWindowLimiter, clock: Clock
    ) -> None:
        await limiter.hit("k", THREE_PER_MINUTE)
        clock.now += 10
        await limiter.hit("k", THREE_PER_MINUTE)
        await limiter.hit("k", THREE_PER_MINUTE)
        clock.now += 5
        refused = await limiter.hit("k", THREE_PER_MINUTE)
        assert (refused.allowed, refused.retry_after) == (False, 45)
        clock.now += 45
        assert (await limiter.hit("k", THREE_PER_MINUTE)).allowed

    async def test_the_window_slides(self, limiter: SlidingWindowLimiter, clock: Clock) -> None:
        for _ in range(3):
            await limiter.hit("k", THREE_PER_MINUTE)
            clock.now += 20
        # 60 s after the first event only it has left: exactly one slot is free again.
        assert (await limiter.hit("k", THREE_PER_MINUTE)).allowed
        assert not (await limiter.hit("k", THREE_PER_MINUTE)).allowed

    async def test_keys_are_independent(self, limiter: SlidingWindowLimiter) -> None:
        for _ in range(3):
            await limiter.hit("a", THREE_PER_MINUTE)
        assert (await limiter.hit("b", THREE_PER_MINUTE)).allowed

    async def test_concurrent_hits_never_exceed_the_limit(self, limiter: SlidingWindowLimiter) -> None:
        decisions = await asyncio.gather(*(limiter.hit("k", THREE_PER_MINUTE) for _ in range(20)))
        assert sum(d.allowed for d in decisions) == 3

    async def test_keys_expire_with_their_window(self, limiter: SlidingWindowLimiter, redis: Redis) -> None:
        await limiter.hit("k", THREE_PER_MINUTE)
        ttl = await redis.pttl("shop:ratelimit:k")
        assert 0 < ttl <= 60_000


class TestPeekAddReset:
    async def test_peek_counts_nothing(self, limiter: SlidingWindowLimiter) -> None:
        for _ in range(5):
            assert (await limiter.peek("k", THREE_PER_MINUTE)).allowed

    async def test_add_counts_past_the_limit_and_peek_sees_it(
        self, limiter: SlidingWindowLimiter, clock: Clock
    ) -> None:
        for _ in range(4):
            await limiter.add("k", THREE_PER_MINUTE)
            clock.now += 1
        refused = await limiter.peek("k", THREE_PER_MINUTE)
        assert not refused.allowed
        # Two events must leave before a fourth fits: the second one, added at +1 s, leaves at 61 s.
        assert refused.retry_after == 61 - 4

    async def test_reset_clears_the_count(self, limiter: SlidingWindowLimiter) -> None:
        for _ in range(3):
            await limiter.hit("k", THREE_PER_MINUTE)
        await limiter.reset("k")
        assert (await limiter.hit("k", THREE_PER_MINUTE)).allowed


class TestRedisDown:
    async def test_everything_is_allowed_and_the_failure_counted(self, settings: Settings) -> None:
        dead = create_redis("redis://127.0.0.1:1/0", settings)  # nothing listens on port 1
        limiter = SlidingWindowLimiter(dead)
        before = redis_errors()
        for _ in range(5):
            assert (await limiter.hit("k", Limit(max_events=1, window_seconds=60))).allowed
        await limiter.add("k", THREE_PER_MINUTE)
        await limiter.reset("k")
        assert redis_errors() == before + 7
        await dead.aclose()
