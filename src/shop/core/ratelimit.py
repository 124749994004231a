"""A sliding-window rate limiter in Redis, shared by every process of the shop.

Each key is a sorted set of event timestamps. One Lua script drops the events that left the
window, counts the rest and (when asked) records the new one, atomically, so concurrent
requests in several processes cannot both take the last slot. A sliding log has no burst at a
fixed window's edge: "10 per 15 minutes" holds over any 15 minutes.

Redis down means the limiter allows everything (logged and counted): locking every customer out
because a cache server is away would be worse than a few unthrottled attempts.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog

from shop.core import metrics
from shop.core.cache import REDIS_ERRORS, RedisClient

log = structlog.get_logger()

KEY_PREFIX = "shop:ratelimit"

# KEYS[1]: the window's sorted set. ARGV: now (ms), window (ms), max events, new member, mode.
# Returns {allowed (0/1), milliseconds until the next event would be allowed, events left}.
_SCRIPT = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local mode = ARGV[5]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if mode == 'add' then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, 0, math.max(max - count - 1, 0)}
end
if count >= max then
  -- The event whose expiry brings the count back under the limit.
  local oldest = redis.call('ZRANGE', key, count - max, count - max, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now, 0}
end
if mode == 'hit' then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  count = count + 1
end
return {1, 0, max - count}
"""


class _Mode(StrEnum):
    peek = "peek"
    hit = "hit"
    add = "add"


@dataclass(frozen=True, slots=True)
class Limit:
    max_events: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: int  # whole seconds until one more event fits (0 when allowed)
    remaining: int


class SlidingWindowLimiter:
    def __init__(self, redis: RedisClient, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.clock = clock  # wall time, not monotonic: every process must agree on it
        self._script = redis.register_script(_SCRIPT)

    async def hit(self, key: str, limit: Limit) -> Decision:
        """Count one event unless the limit is reached; say whether it was allowed."""
        return await self._run(key, limit, _Mode.hit)

    async def peek(self, key: str, limit: Limit) -> Decision:
        """Would one more event be allowed? Counts nothing."""
        return await self._run(key, limit, _Mode.peek)

    async def add(self, key: str, limit: Limit) -> None:
        """Count an event that already happened (a failed attempt), whatever the count."""
        await self._run(key, limit, _Mode.add)

    async def reset(self, key: str) -> None:
        try:
            await self.redis.delete(_full_key(key))
        except REDIS_ERRORS as exc:
            _unavailable("reset", exc)

    async def _run(self, key: str, limit: Limit, mode: _Mode) -> Decision:
        now_ms = int(self.clock() * 1000)
        member = f"{now_ms}-{secrets.token_hex(6)}"
        args: list[int | str] = [now_ms, limit.window_seconds * 1000, limit.max_events, member, mode.value]
        try:
            allowed, wait_ms, remaining = await self._script(keys=[_full_key(key)], args=args)
        except REDIS_ERRORS as exc:
            _unavailable(mode.value, exc)
            return Decision(allowed=True, retry_after=0, remaining=limit.max_events)
        retry_after = 0 if allowed else max(1, -(-int(wait_ms) // 1000))  # ceil, at least 1
        return Decision(allowed=bool(allowed), retry_after=retry_after, remaining=int(remaining))


def _full_key(key: str) -> str:
    return f"{KEY_PREFIX}:{key}"


def _unavailable(operation: str, exc: BaseException) -> None:
    metrics.dependency_errors.labels("redis").inc()
    log.warning("ratelimit.unavailable", operation=operation, error=type(exc).__name__)
