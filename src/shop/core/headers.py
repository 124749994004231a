"""CORS for the configured origins only: any other origin gets no `Access-Control-*` header.

(The security headers every answer carries are set by shop.core.edge.)
"""

from collections.abc import Collection, Iterable

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_ORIGIN = b"access-control-allow-origin"


class AllowedOriginsCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, except that an origin it refuses gets no CORS header at all, and the
    answers to requests other than preflights get their headers in one pass.

    Starlette answers every origin with `Access-Control-Expose-Headers`; harmless without
    `Access-Control-Allow-Origin`, but it tells a stranger what the API would expose. Preflights
    are Starlette's own. For every other request Starlette parses the request's headers into an
    object and wraps each message of the answer in header objects; here the headers an allowed
    origin gets are made once, and the answer's start is rewritten in one pass (same headers,
    same values, `Vary: Origin` on every answer since it depends on the origin).
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        expose_headers: Collection[str] = (),
    ) -> None:
        super().__init__(
            app,
            allow_origins=allow_origins,
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            expose_headers=expose_headers,
        )
        self._allowed_headers = [(name.lower().encode(), value.encode()) for name, value in self.simple_headers.items()]
        # With every origin allowed Starlette answers `*`, or the origin itself with credentials.
        self._echo_origin = not self.allow_all_origins or self.allow_credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = None
        preflight = False
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = origin or value
            elif name == b"access-control-request-method":
                preflight = True
        if origin is not None and preflight and scope["method"] == "OPTIONS":
            await super().__call__(scope, receive, send)
            return
        added: list[tuple[bytes, bytes]] = []
        if origin is not None and self.is_allowed_origin(origin.decode("latin-1")):
            added = [*self._allowed_headers]
            if self._echo_origin:
                added = [header for header in added if header[0] != ALLOW_ORIGIN]
                added.append((ALLOW_ORIGIN, origin))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_cors(message.get("headers", ()), added)
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _with_cors(headers: Iterable[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The answer's headers with `added` (replacing any of the same name) and `Origin` in `Vary`."""
    names = {name for name, _ in added}
    vary: list[bytes] = []
    answer = []
    for name, value in headers:
        if name == b"vary":
            vary.append(value)
        elif name not in names:
            answer.append((name, value))
    answer += added
    answer.append((b"vary", b", ".join([*vary, b"Origin"])))
    return answer
