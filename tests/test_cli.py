"""The `shop` command: migrate and the one-command development stack."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shop.core.embedded import drop_database, ensure_database
from tests.fixtures.database import database_url_for
from tests.fixtures.servers import free_port, wait_until_ready
from tests.fixtures.services import ServiceUrls


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(extra)
    return env


@pytest.fixture
async def empty_database(services: ServiceUrls) -> AsyncIterator[str]:
    name = f"shop_cli_{os.getpid()}_{time.monotonic_ns() % 10**6}"
    await ensure_database(services.postgres_server, name)
    yield database_url_for(services.postgres_server, name)
    await drop_database(services.postgres_server, name)


async def test_migrate_brings_an_empty_database_to_head(empty_database: str, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "shop.cli", "migrate"],
        env=clean_env(SHOP_DATABASE_URL=empty_database, SHOP_ENV="test"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = create_async_engine(empty_database)
    async with engine.connect() as connection:
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    await engine.dispose()
    assert version is not None


def test_migrate_without_a_database_url_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shop.cli", "migrate"],
        env=clean_env(SHOP_ENV="test"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "shop: configuration error: SHOP_DATABASE_URL is not set (`shop dev` starts an embedded PostgreSQL)"
    ]


def test_dev_runs_everything_and_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "shop.cli", "dev", "--port", str(port)],
        env=clean_env(SHOP_DATA_DIR=str(data_dir)),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/health/ready", process, timeout=120)
        ready = httpx.get(f"http://127.0.0.1:{port}/health/ready").json()
        assert ready == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "broker": "ok"}}
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
        products = httpx.get(f"http://127.0.0.1:{port}/api/v1/products", params={"limit": 1}).json()
        assert products["items"], "the first run starts with the demo catalog"
        registered = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/register",
            json={"email": "dev@example.com", "password": "a long password", "full_name": "Dev"},
        )
        assert registered.status_code == 201, registered.text
        _wait_for_welcome_email(data_dir / "mail")
        started = _processes_of(process.pid, data_dir)
        names = " ".join(" ".join(p.cmdline()) for p in started)
        for expected in ("shop.cli serve", "shop.cli worker", "bin/postgres", "valkey-server"):
            assert expected in names
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    deadline = time.monotonic() + 15
    while [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]:
        assert time.monotonic() < deadline, f"left behind: {[p.cmdline() for p in started if p.is_running()]}"
        time.sleep(0.2)


def _processes_of(pid: int, data_dir: Path) -> list[psutil.Process]:
    """The dev process's descendants, plus the servers (daemons re-parented away from it)."""
    found = {p.pid: p for p in psutil.Process(pid).children(recursive=True)}
    for candidate in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(candidate.info["cmdline"] or [])
        if str(data_dir) in cmdline or ("valkey-server" in cmdline and _valkey_of(candidate, data_dir)):
            found[candidate.pid] = candidate
    return list(found.values())


def _valkey_of(process: psutil.Process, data_dir: Path) -> bool:
    try:
        return process.cwd().startswith(str(data_dir))
    except psutil.Error:
        return False


def _wait_for_welcome_email(folder: Path) -> None:
    """`shop dev`'s worker sends the welcome email to its local mail sink, which keeps it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for path in folder.glob("*.eml"):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if "welcome" in str(message["Subject"]).lower() and message["To"] == "dev@example.com":
                return
        time.sleep(0.5)
    raise AssertionError("no welcome email in the dev mailbox")
