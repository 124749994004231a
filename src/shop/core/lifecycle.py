"""Graceful drain of a server process on SIGTERM.

A load balancer stops sending traffic to a process only after its readiness probe fails, and
it notices that some seconds late. So SIGTERM does not stop the process at once: readiness
turns 503 and requests are still served for `SHOP_SERVER_DRAIN_SECONDS`; only then does
uvicorn stop accepting, wait up to its shutdown timeout for the requests in flight, and exit.

The hook lives in the app's lifespan, so it works in every process uvicorn starts, one or
several workers alike. It takes effect only under uvicorn's `Server`, whose SIGTERM handler it
defers: an app run in-process by the tests, or imported by the worker, leaves signals alone.
"""

import asyncio
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import structlog
from starlette.datastructures import State
from uvicorn import Server

log = structlog.get_logger()


class Drain:
    """Whether this process is on its way out; readiness answers 503 from the first moment."""

    def __init__(self) -> None:
        self._started_at: float | None = None

    @property
    def draining(self) -> bool:
        return self._started_at is not None

    def start(self) -> None:
        if self._started_at is None:
            self._started_at = time.monotonic()

    def reset(self) -> None:
        self._started_at = None


def drain_of(state: State) -> Drain:
    drain: Drain = state.drain
    return drain


@contextmanager
def drain_on_sigterm(drain: Drain, delay: float) -> Iterator[None]:
    """While entered, SIGTERM starts `drain` and reaches uvicorn's own handler `delay` seconds later."""
    handler = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    if not isinstance(server, Server):
        yield
        return
    loop = asyncio.get_running_loop()

    def on_sigterm(sig: int, _: FrameType | None) -> None:
        # A second SIGTERM (the supervisor passes on the one the whole group got) changes nothing.
        if drain.draining:
            return
        drain.start()
        # Signal handlers may interrupt the loop anywhere: only the thread-safe call is safe here.
        loop.call_soon_threadsafe(_stop_later, loop, server, sig, delay)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, handler)


def _stop_later(loop: asyncio.AbstractEventLoop, server: Server, sig: int, delay: float) -> None:
    log.info("server.draining", delay_seconds=delay)
    loop.call_later(delay, server.handle_exit, sig, None)
