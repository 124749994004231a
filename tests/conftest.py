"""Fixtures on the real services: PostgreSQL and Redis, found as tests/fixtures/services.py says."""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from shop.core.config import Settings
from shop.core.embedded import EmbeddedValkey
from shop.core.mailsink import Mailbox, start_mail_sink
from shop.core.resources import Resources
from tests.fixtures.app import client_for, running_app
from tests.fixtures.contract import Recorder, checking_every_response
from tests.fixtures.database import create_test_database, truncate_all

# Every log line of the run is scanned for secrets when it ends (tests/fixtures/logscan.py).
from tests.fixtures.logscan import (  # noqa: F401  (hooks, found here by pytest)
    pytest_configure,
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_unconfigure,
)

# An account of each role (admin, staff, customer) for any test module (tests/fixtures/roles.py).
from tests.fixtures.roles import admin, customer, staff  # noqa: F401  (fixtures, found here by pytest)
from tests.fixtures.servers import free_port
from tests.fixtures.services import ServiceUrls, find_services
from tests.fixtures.settings import broker_url_for, make_settings


@pytest.fixture(scope="session", autouse=True)
def _every_response_checked() -> Iterator[Recorder]:
    """Every response any test's HTTP call receives is held to the OpenAPI document (tests/fixtures/contract.py)."""
    with checking_every_response() as recorder:
        yield recorder


@pytest.fixture(autouse=True)
def _responses_as_documented(_every_response_checked: Recorder) -> Iterator[None]:
    """A response the document does not declare fails the test that received it (or whose fixtures did)."""
    yield
    mismatches = _every_response_checked.take()
    if mismatches:
        pytest.fail("responses that the OpenAPI document does not declare:\n" + "\n".join(mismatches), pytrace=False)


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
def mail_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = start_mail_sink(mailbox)
    yield mailbox, controller.port
    controller.stop()


@pytest.fixture
def mailbox(mail_server: tuple[Mailbox, int]) -> Mailbox:
    mail_server[0].clear()
    return mail_server[0]


@pytest.fixture(scope="session")
def settings(database_url: str, services: ServiceUrls, data_dir: Path, mail_server: tuple[Mailbox, int]) -> Settings:
    return make_settings(
        database_url,
        services.redis,
        data_dir,
        # SHOP_TEST_BROKER_URL runs the suite's workers on another broker (e.g. RabbitMQ, amqp://).
        broker_url=os.environ.get("SHOP_TEST_BROKER_URL") or broker_url_for(services.redis),
        smtp_host="127.0.0.1",
        smtp_port=mail_server[1],
        email_from="shop@shop.test",
    )


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


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[EmbeddedValkey]:
    """A Valkey of the test's own, to stop and start; it keeps its data across a restart."""
    server = EmbeddedValkey(tmp_path / "valkey", port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_broker(settings: Settings, own_valkey: EmbeddedValkey) -> Settings:
    """The settings with a broker of the test's own: no task that another test left behind (a
    retry, say) keeps the test's workers busy or wakes them up."""
    return settings.model_copy(update={"broker_url": own_valkey.url()})


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
