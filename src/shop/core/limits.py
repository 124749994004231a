"""Request body limits (413 `payload_too_large`), checked before the body is read whole.

A declared Content-Length over the limit is refused before any byte is read; a body without
one (chunked) is counted as it arrives and refused as soon as it passes the limit.
"""

from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop.core.errors import PayloadTooLarge, problem_response

# Under HTTP/2 and later a body may come without a Content-Length: it is always counted.
HTTP_1 = frozenset({"1.0", "1.1"})


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int, upload_limit: int, upload_paths: Collection[str] = ()) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_paths = frozenset(upload_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"] in self.upload_paths else self.limit
        declared, chunked = _framing(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, limit)
            return
        if not chunked and scope.get("http_version") in HTTP_1:
            # HTTP/1 frames the body by its Content-Length (checked above), or there is none
            # (RFC 9112, 6.3): nothing to count as it arrives. Most requests, GETs, end here.
            await self.app(scope, receive, send)
            return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # The framework turned our exception into its own error response; ours replaces it.
                raise BodyTooLarge
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(scope, receive, send, limit)


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    error = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    response = problem_response(error.status, error.code, error.detail, headers={"Connection": "close"})
    await response(scope, receive, send)


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length (None: none, or not a number), and whether the body is chunked."""
    declared = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                chunked = True  # not a length the server frames by: count what arrives
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked
