"""The ceiling: a bare ASGI app that answers every request with the same product JSON."""

import os
from pathlib import Path
from typing import Any

BODY = Path(os.environ["BENCH_PRODUCT_JSON"]).read_bytes()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
