"""The application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

import shop.models  # the whole mapper, whatever the routers happen to import
import shop.subscribers  # noqa: F401  (the outbox relay must know every event's handlers)
from shop.api import api_router
from shop.core import health, metrics
from shop.core.apidocs import install_docs
from shop.core.config import Settings, get_settings
from shop.core.edge import EdgeMiddleware
from shop.core.errors import install_error_handlers
from shop.core.headers import AllowedOriginsCORSMiddleware
from shop.core.lifecycle import Drain, drain_on_sigterm
from shop.core.limits import BodyLimitMiddleware
from shop.core.logging import configure_logging
from shop.core.openapi import install_openapi, operation_id
from shop.core.resources import open_resources
from shop.core.routing import ShopRoute
from shop.core.shedding import ConcurrencyLimitMiddleware

log = structlog.get_logger()

# Small bodies compress badly and cost more CPU than they save.
GZIP_MINIMUM_BYTES = 1024
# zlib's own default level. Starlette's 9 searches harder for nothing on the catalogue's JSON:
# a page of 20 products (24 KB) takes 12% more instructions and comes out no smaller (817 bytes
# against 816).
GZIP_LEVEL = 6
# Routes that take file uploads get the larger body limit (SHOP_MAX_UPLOAD_BYTES).
UPLOAD_PATHS = frozenset({"/api/v1/admin/products/import"})
# Probes and scrapes answer even when the process sheds load.
NEVER_SHED_PREFIXES = ("/health/", "/metrics")
OPENAPI_URL = "/openapi.json"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with drain_on_sigterm(app.state.drain, settings.server_drain_seconds):
            async with open_resources(settings) as resources:
                app.state.resources = resources
                log.info("app.started", env=settings.env.value)
                yield
        metrics.mark_process_dead()
        log.info("app.stopped")

    app = FastAPI(
        title="shop",
        version="1.0.0",
        description="The shop HTTP API: catalog, cart, checkout, orders and accounts.",
        lifespan=lifespan,
        # FastAPI's own pages load their UI from a CDN: ours are served whole by the app.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url=OPENAPI_URL if settings.docs_enabled else None,
        generate_unique_id_function=operation_id,
    )
    app.router.route_class = ShopRoute
    app.state.drain = Drain()
    install_error_handlers(app)
    install_openapi(app, unshed_prefixes=NEVER_SHED_PREFIXES)
    if settings.docs_enabled:
        install_docs(app, openapi_url=OPENAPI_URL)
    app.include_router(health.router)
    app.include_router(api_router)

    # Added innermost first: the edge wraps everything so every line has the request's id.
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        upload_limit=settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(
        ConcurrencyLimitMiddleware,
        limit=settings.server_max_concurrent_requests,
        exempt_prefixes=NEVER_SHED_PREFIXES,
    )
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL)
    if settings.cors_origins:
        app.add_middleware(
            AllowedOriginsCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match", "X-Request-ID"],
            expose_headers=["ETag", "X-Request-ID", "Idempotent-Replayed", "Retry-After"],
        )
    # Outermost: the request id, log line, metrics and security headers of every answer, even
    # of the 500 it writes for a crash.
    app.add_middleware(EdgeMiddleware)
    return app
