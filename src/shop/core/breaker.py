"""A circuit breaker: after a failure, leave a backing service alone for a while."""

import time


class CircuitBreaker:
    """After a failure, skip the dependency for `cooldown` seconds, then try it again.

    A service that hangs would otherwise cost every request a full timeout; with the breaker
    open, callers take their fallback at once (the cache reads PostgreSQL, catalogue reads leave
    the replica for the primary).
    """

    def __init__(self, cooldown: float = 5.0) -> None:
        self.cooldown = cooldown
        self._open_until = 0.0

    @property
    def closed(self) -> bool:
        return time.monotonic() >= self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.cooldown
