"""The outermost layer of every request: its id and log context, its access-log line, its metrics,
and the security headers of its answer, in one pass.

These were three layers (request context, metrics, security headers). Each layer of an ASGI stack
costs a coroutine and a wrapped `send` per request, and these three looked at the same response
start and timed the same request; one layer does it all once (bench/middleware_cost.py measures
it). What each part guarantees:

- The request id: echoed from `X-Request-ID` when it is short and printable (so it cannot forge
  log lines), generated otherwise; bound to the log context with the method, so every line
  logged while serving the request carries them; sent back on every answer.
- A crash is logged here with its traceback and answered with `internal_error` and the request
  id only (Starlette's own error middleware would log it a second time).
- One `http.request` line per request, and the request counted and timed by route template,
  never by raw path (bounded label values).
- `X-Content-Type-Options: nosniff` on every answer (a browser must not reinterpret JSON as HTML
  or script), and `Cache-Control: no-store` on the answer to any request that carries
  credentials (an `Authorization` header), so no browser or proxy keeps a copy of a customer's
  cart, orders or account. A route that set its own `Cache-Control` keeps it: the catalog's
  pages are the same for every caller and say `public, no-cache` on purpose.
"""

import re
import time
import uuid

import structlog
from prometheus_client.metrics import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop.core import metrics
from shop.core.errors import problem_response
from shop.core.logging import route_template

REQUEST_ID_HEADER = b"x-request-id"
AUTHORIZATION = b"authorization"
# A client-supplied id is echoed only when it is short and printable, so it cannot forge log lines.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"no-store")

log = structlog.get_logger()
_clear_context = structlog.contextvars.clear_contextvars
_bind_context = structlog.contextvars.bind_contextvars


class EdgeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Label look-ups validate and lock on every call; the children are kept here instead.
        # As bounded as the labels themselves (methods, route templates, statuses).
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, authenticated = _read_request_headers(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        method = scope["method"]
        _clear_context()
        _bind_context(request_id=request_id, method=method)
        echoed = (REQUEST_ID_HEADER, request_id.encode("latin-1"))
        started = False
        status = 500
        start = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = _answer_headers(message.get("headers", ()), echoed, authenticated)
            await send(message)

        metrics.http_in_flight.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("http.unhandled_error", path=scope["path"])
            if started:
                raise
            response = problem_response(500, "internal_error", "An unexpected error occurred.", request_id=request_id)
            await response(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - start
            metrics.http_in_flight.dec()
            template = route_template(scope)
            self._observe(method, template or metrics.UNMATCHED_ROUTE, status, elapsed)
            log.info(
                "http.request", path=scope["path"], route=template, status=status, duration_ms=round(elapsed * 1000, 2)
            )
            _clear_context()

    def _observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        counted = self._counted.get((method, route, status))
        if counted is None:
            counted = self._counted[(method, route, status)] = metrics.http_requests.labels(method, route, str(status))
        counted.inc()
        timed = self._timed.get((method, route))
        if timed is None:
            timed = self._timed[(method, route)] = metrics.http_duration.labels(method, route)
        timed.observe(elapsed)


def _read_request_headers(scope: Scope) -> tuple[str, bool]:
    """The request's id (its own when valid, else a new one) and whether it carries credentials."""
    request_id = None
    authenticated = False
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            if request_id is None:
                candidate: str = value.decode("latin-1")
                request_id = candidate if _VALID_REQUEST_ID.match(candidate) else ""
        elif name == AUTHORIZATION:
            authenticated = True
    return request_id or uuid.uuid4().hex, authenticated


def _answer_headers(
    headers: "list[tuple[bytes, bytes]] | tuple[()]", echoed: tuple[bytes, bytes], authenticated: bool
) -> list[tuple[bytes, bytes]]:
    """The answer's headers and ours; a header the answer sets itself is kept as it is.

    A new list: the answer's may belong to a response object that is sent more than once.
    """
    nosniff_set = cache_control_set = False
    for name, _ in headers:
        if name == b"x-content-type-options":
            nosniff_set = True
        elif name == b"cache-control":
            cache_control_set = True
    answer = [*headers, echoed]
    if not nosniff_set:
        answer.append(NOSNIFF)
    if authenticated and not cache_control_set:
        answer.append(NO_STORE)
    return answer
