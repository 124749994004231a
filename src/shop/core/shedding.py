"""Overload shedding: past a number of requests in flight, an immediate 503 instead of a queue.

Past the limit a request would only wait in line for a database connection (shop.core.pool),
and make every request behind it slower; a fast 503 with `Retry-After` lets the client or the load
balancer try another process. The count is per process (the event loop is single-threaded,
so a plain integer is exact). Health and metrics are never shed: an overloaded process must
still say that it lives, and how loaded it is.
"""

from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from shop.core import metrics
from shop.core.errors import ServiceUnavailable, render_error

# Short: capacity frees up as soon as the requests in flight finish.
RETRY_AFTER_SECONDS = 1


class ConcurrencyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int, exempt_prefixes: Collection[str] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt_prefixes = tuple(exempt_prefixes)
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limit or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            metrics.http_requests_shed.inc()
            error = ServiceUnavailable("The server is at capacity; retry shortly.", retry_after=RETRY_AFTER_SECONDS)
            await render_error(error)(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
