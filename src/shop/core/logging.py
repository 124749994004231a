"""structlog for everything: our own events, the stdlib loggers, uvicorn and Celery.

Each request binds its request id, method and (once routed) route and user id into the
context (shop.core.edge), so every line logged while serving it carries them.
"""

import logging
import logging.config
from typing import Any

import structlog
from starlette.types import Scope

from shop.core.config import LogFormat, Settings

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
                # Our EdgeMiddleware (core/edge.py) logs each request once, with more context.
                "uvicorn.access": {"handlers": [], "propagate": False},
                "celery": {"handlers": [], "propagate": True},
            },
        }
    )


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
