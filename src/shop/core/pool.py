"""Admission to the database pool: a first-come, first-served wait for a connection.

SQLAlchemy's asyncio pool does not serve its waiters in order. A request that finds a connection
idle takes it at once, even while others have waited for one, and a waiter that was woken for a
connection someone else took queues again at the back (asyncio.Queue). Under sustained load a
request could wait out the whole pool timeout while later ones were served, and its 503 said
"database unavailable" while PostgreSQL answered everything else.

`GatedPool` puts a `ConnectionGate` in front of the pool: as many permits as the pool has
connections (its size plus its overflow), handed to the waiters in the order they came. Holding
a permit, a checkout always finds a connection idle or room to open one, so SQLAlchemy's own
wait never runs. A wait past the pool timeout raises `PoolExhausted`: load, not an outage, and
reported as such (503 `service_unavailable`, `database.pool_exhausted` in the log).
"""

import asyncio
import contextlib
import sys
from collections import deque
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import await_


class PoolExhausted(sa_exc.TimeoutError):
    """Every connection of the pool stayed in use for the whole wait: the database answers, slowly."""

    def __init__(self, capacity: int, waiting: int, timeout: float) -> None:
        self.capacity = capacity
        self.waiting = waiting
        self.timeout = timeout
        super().__init__(f"all {capacity} connections in use for {timeout:g} s, {waiting} more waiting")


class ConnectionGate:
    """Permits for the pool's connections, handed out first come, first served.

    A released permit passes straight to the oldest waiter, so a newcomer never takes it from
    under one. The event loop is single-threaded: the counts are exact without a lock.
    """

    def __init__(self, capacity: int, timeout: float) -> None:
        self.capacity = capacity
        self.timeout = timeout
        self.in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def try_acquire(self) -> bool:
        if self.in_use < self.capacity and not self._waiters:
            self.in_use += 1
            return True
        return False

    async def acquire(self) -> None:
        """Take a permit, waiting in line for at most `timeout` seconds (then `PoolExhausted`)."""
        if self.try_acquire():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.timeout):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                # A permit was handed over just as the wait ended: keep it, unless cancelled.
                if isinstance(exc, TimeoutError):
                    return
                self.release()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise PoolExhausted(self.capacity, self.waiting, self.timeout) from None
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the permit changes hands: `in_use` stays
                return
        self.in_use -= 1


class GatedPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio pool behind a `ConnectionGate` (pass it as `poolclass`)."""

    # Its log lines keep the name and level SQLAlchemy gives its own pool's.
    _sqla_logger_namespace = "sqlalchemy.pool.impl.AsyncAdaptedQueuePool"

    def __init__(self, creator: Any, pool_size: int = 5, max_overflow: int = 10, timeout: float = 30.0, **kw: Any):
        super().__init__(creator, pool_size=pool_size, max_overflow=max_overflow, timeout=timeout, **kw)
        # An overflow of -1 is SQLAlchemy's "no limit".
        capacity = pool_size + max_overflow if max_overflow >= 0 else sys.maxsize
        self.gate = ConnectionGate(capacity, timeout)

    def _do_get(self) -> ConnectionPoolEntry:
        # Runs inside SQLAlchemy's greenlet (every checkout of an async engine does), which is
        # what lets this synchronous method wait on the event loop.
        if not self.gate.try_acquire():
            await_(self.gate.acquire())
        try:
            return super()._do_get()
        except BaseException:
            self.gate.release()
            raise

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        # Back in the pool (or closed, for an overflow one) before the next waiter goes for it.
        try:
            super()._do_return_conn(record)
        finally:
            self.gate.release()

    def recreate(self) -> "GatedPool":
        # `engine.dispose()` swaps in a new pool while the old one's connections are still out:
        # both count against the same connections, so they share the permits.
        pool = super().recreate()
        assert isinstance(pool, GatedPool)
        pool.gate = self.gate
        return pool
