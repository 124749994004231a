"""Fixtures on the real services: PostgreSQL and Redis, found as tests/fixtures/services.py says."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from shop.core.config import Settings, load_settings
from shop.core.resources import Resources
from tests.fixtures.app import client_for, running_app
from tests.fixtures.database import create_test_database, truncate_all
from tests.fixtures.services import ServiceUrls, find_services

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"


def make_settings(database_url: str, redis_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "_env_file": None,
        "env": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "broker_url": None,
        "data_dir": data_dir,
        "secret_key": TEST_SECRET_KEY,
        "log_format": "console",
        "log_level": "INFO",
        "cors_origins": [],
    }
    values.update(overrides)
    return load_settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a subprocess (server, worker, CLI) the same settings."""
    env = {"SHOP_ENV": settings.env.value, "SHOP_DATA_DIR": str(settings.data_dir)}
    for name in ("database_url", "redis_url", "broker_url", "secret_key"):
        value = getattr(settings, name)
        if value is not None:
            env[f"SHOP_{name.upper()}"] = str(value)
    env["SHOP_LOG_FORMAT"] = "json"
    return env


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceUrls]:
    with find_services(tmp_path_factory.mktemp("services")) as urls:
        yield urls


@pytest.fixture(scope="session")
async def database_url(services: ServiceUrls) -> AsyncIterator[str]:
    async for url in create_test_database(services.postgres_server):
        yield url


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def settings(database_url: str, services: ServiceUrls, data_dir: Path) -> Settings:
    return make_settings(database_url, services.redis, data_dir)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(settings) as app:
        yield app


@pytest.fixture(scope="session")
def resources(app: FastAPI) -> Resources:
    resources: Resources = app.state.resources
    return resources


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


@pytest.fixture
def redis(resources: Resources) -> Redis:
    return resources.redis


@pytest.fixture(autouse=True)
async def _clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Each test starts with empty tables and an empty Redis database."""
    if "resources" not in request.fixturenames and "app" not in request.fixturenames:
        yield
        return
    resources: Resources = request.getfixturevalue("resources")
    yield
    await truncate_all(resources.database.engine)
    await resources.redis.flushdb()


def pytest_report_header(config: pytest.Config) -> list[str]:
    return ["services: SHOP_TEST_* URLs, else testcontainers with Docker, else embedded servers"]
