"""`shop serve`'s production settings reach uvicorn: keep-alive, recycling with jitter."""

import socket
import time
from pathlib import Path

import httpx
import psutil
import pytest

from shop.core.config import Settings
from shop.server import build_config, needs_supervisor
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.settings import make_settings, settings_env

MAX_REQUESTS = 20
JITTER = 5


class TestOptions:
    def test_every_server_setting_becomes_a_uvicorn_option(self, tmp_path: Path) -> None:
        settings = _settings(
            tmp_path,
            server_shutdown_timeout_seconds=42,
            server_keepalive_timeout_seconds=90,
            server_max_requests=1000,
            server_max_requests_jitter=300,
        )
        config = build_config(settings, "127.0.0.1", 8000, workers=3)
        assert config.timeout_graceful_shutdown == 42
        assert config.timeout_keep_alive == 90
        assert config.limit_max_requests == 1000
        assert config.limit_max_requests_jitter == 300
        assert config.workers == 3

    def test_the_jitter_is_a_tenth_of_the_limit_unless_set(self, tmp_path: Path) -> None:
        config = build_config(_settings(tmp_path, server_max_requests=5000), "127.0.0.1", 8000, workers=2)
        assert config.limit_max_requests_jitter == 500

    def test_no_recycling_by_default(self, tmp_path: Path) -> None:
        settings = _settings(tmp_path)
        config = build_config(settings, "127.0.0.1", 8000, workers=1)
        assert config.limit_max_requests is None
        assert not needs_supervisor(settings, workers=1)
        assert needs_supervisor(_settings(tmp_path, server_max_requests=100), workers=1)


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings("postgresql+asyncpg://shop@localhost/shop", "redis://localhost/0", tmp_path, **overrides)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_worker_retires_after_its_requests_and_the_server_keeps_answering(workers: int, settings: Settings) -> None:
    env = settings_env(settings, server_max_requests=MAX_REQUESTS, server_max_requests_jitter=JITTER)
    with run_server(env, workers) as server:
        first = _workers(server)
        assert len(first) == workers
        # More requests than all the workers together may answer before they retire.
        for _ in range(workers * (MAX_REQUESTS + JITTER) + 10):
            assert _get(server, "/health/live").status_code == 200
        deadline = time.monotonic() + 60
        while not (_workers(server) - first and len(_workers(server)) == workers):
            assert time.monotonic() < deadline, "no worker was replaced"
            time.sleep(0.2)
        assert _get(server, "/health/ready").status_code == 200
        assert server.process.poll() is None


def test_an_idle_connection_is_closed_after_the_keepalive_timeout(settings: Settings) -> None:
    with run_server(settings_env(settings, server_keepalive_timeout_seconds=1)) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: shop\r\n\r\n")
            assert _read_response(connection).startswith(b"HTTP/1.1 200")
            # Well before the shop's default (75 s), with room to spare on a loaded machine.
            connection.settimeout(10)
            assert connection.recv(65536) == b"", "the server closed the idle connection"


def _read_response(connection: socket.socket) -> bytes:
    """One whole response (headers and a Content-Length body), however the bytes arrive."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def _workers(server: RunningServer) -> set[int]:
    """The processes serving requests: the main one's children, or the main one itself."""
    parent = psutil.Process(server.process.pid)
    children = {child.pid for child in parent.children() if _serving(child)}
    return children or {parent.pid}


def _serving(child: psutil.Process) -> bool:
    # A worker that has just retired is a zombie until the main process reaps it, or already
    # gone: it serves nothing, and psutil cannot read its command line.
    try:
        return "spawn_main" in " ".join(child.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return False


def _get(server: RunningServer, path: str) -> httpx.Response:
    # A connection accepted by a worker in the instant it retires may close unanswered; a client
    # (or load balancer) retries such a GET, so the test does too, on a new connection each time.
    for attempt in range(3):
        try:
            return httpx.get(f"{server.base_url}{path}", headers={"Connection": "close"}, timeout=60)
        except httpx.TransportError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
