"""structlog for everything: our own events, the stdlib loggers, uvicorn and Celery.

Each request binds its request id, method and (once routed) route and user id into the
context, so every line logged while serving it carries them.
"""

import logging
import logging.config
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop.core.config import LogFormat, Settings
from shop.core.errors import problem_response

REQUEST_ID_HEADER = b"x-request-id"
# A client-supplied id is echoed only when it is short and printable, so it cannot forge log lines.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")

log = structlog.get_logger()


def configure_logging(settings: Settings) -> None:
    # No line shows the caller's file, thread or process, so the stdlib need not look them up
    # for every record (the "Optimization" advice of the logging HOWTO); a line per request adds up.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor
    if settings.effective_log_format is LogFormat.json:
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        # Rich tracebacks show every frame's local variables by default: request headers,
        # passwords, tokens. A traceback here shows the code only.
        renderer = structlog.dev.ConsoleRenderer(
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
        )

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structlog": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structlog"}},
            "root": {"handlers": ["default"], "level": settings.log_level},
            "loggers": {
                # uvicorn's own handlers would print a second, differently shaped line.
                "uvicorn": {"handlers": [], "propagate": True},
                "uvicorn.error": {"handlers": [], "propagate": True},
                # Our RequestContextMiddleware logs each request once, with more context.
                "uvicorn.access": {"handlers": [], "propagate": False},
                "celery": {"handlers": [], "propagate": True},
            },
        }
    )


def request_id_from(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Binds the request id to the log context, echoes it, and turns a crash into a clean 500.

    A crash is logged here with its traceback and answered with `internal_error` and the
    request id only; Starlette's own error middleware would log it a second time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, method=scope["method"])
        header = (REQUEST_ID_HEADER, request_id.encode("latin-1"))
        started = False
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("http.unhandled_error", path=scope["path"])
            if started:
                raise
            response = problem_response(500, "internal_error", "An unexpected error occurred.", request_id=request_id)
            await response(scope, receive, send_with_id)
        finally:
            log.info(
                "http.request",
                path=scope["path"],
                route=route_template(scope),
                status=status,
                duration_ms=round((time.perf_counter() - start) * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()


def route_template(scope: Scope) -> str | None:
    """The matched route's path template (`/api/v1/products/{id}`), or None when nothing matched.

    FastAPI includes routers lazily: `scope["route"]` is a route as its own router defined it,
    without the prefixes of the routers that include it (`/auth/token` for
    `/api/v1/auth/token`). The whole template is on FastAPI's effective route context.
    """
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path_format", None)
    if isinstance(template, str) and template:
        return template
    route = scope.get("route")
    return getattr(route, "path_format", None) if route is not None else None


def bind_log_context(**values: Any) -> None:
    structlog.contextvars.bind_contextvars(**values)
