"""Security headers every response carries, whatever answered it (a route, an error handler, a limit).

- `X-Content-Type-Options: nosniff` always: a browser must not reinterpret JSON as HTML or script.
- `Cache-Control: no-store` on the answer to any request that carries credentials (an
  `Authorization` header), so no browser or proxy keeps a copy of a customer's cart, orders or
  account. A route that set its own `Cache-Control` keeps it: the catalog's pages are the same
  for every caller and say `public, no-cache` on purpose.

And CORS for the configured origins only: any other origin gets no `Access-Control-*` header.
"""

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

AUTHORIZATION = b"authorization"
NO_STORE = "no-store"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authenticated = any(name == AUTHORIZATION for name, _ in scope["headers"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if authenticated:
                    headers.setdefault("Cache-Control", NO_STORE)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AllowedOriginsCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, except that an origin it refuses gets no CORS header at all.

    Starlette answers every origin with `Access-Control-Expose-Headers`; harmless without
    `Access-Control-Allow-Origin`, but it tells a stranger what the API would expose.
    """

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("Origin")
        if origin is None or self.is_allowed_origin(origin):
            await super().send(message, send, request_headers)
            return

        async def send_without_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name in [name for name in headers if name.startswith("access-control-")]:
                    del headers[name]
            await send(message)

        await super().send(message, send_without_cors, request_headers)
