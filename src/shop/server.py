"""How `shop serve` runs uvicorn: its settings, and who restarts a worker that retires."""

import contextlib
import os
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import ChangeReload, Multiprocess

from shop.core.config import Settings

APP = "shop.app:create_app"


def server_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options that come from `SHOP_SERVER_*` (docs/operations.md)."""
    max_requests = settings.server_max_requests or None
    return {
        "timeout_graceful_shutdown": settings.server_shutdown_timeout_seconds,
        "timeout_keep_alive": settings.server_keepalive_timeout_seconds,
        "limit_max_requests": max_requests,
        # Each process draws its own share of the jitter (uvicorn's Server does, per process).
        "limit_max_requests_jitter": settings.effective_max_requests_jitter if max_requests else 0,
    }


def needs_supervisor(settings: Settings, workers: int) -> bool:
    """A worker that retires after its requests needs a parent to start its replacement."""
    return workers > 1 or settings.server_max_requests > 0


def build_config(settings: Settings, host: str, port: int, workers: int, reload: bool = False) -> uvicorn.Config:
    return uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        reload_dirs=[os.path.dirname(__file__)] if reload else None,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        **server_options(settings),
    )


def run(config: uvicorn.Config, supervise: bool) -> None:
    """What `uvicorn.run` does, except that one worker may be supervised too."""
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        if config.should_reload:
            ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
        elif supervise:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    if not (server.started or config.should_reload or supervise):
        sys.exit(STARTUP_FAILURE)
