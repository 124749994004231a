"""Tests through a real PgBouncer: collected only with SHOP_TEST_PGBOUNCER=1.

`.ci/run` sets it when `pgbouncer` is installed; the default suite instead runs the app with the
PgBouncer settings straight against PostgreSQL (tests/core/test_pgbouncer_settings.py).
"""

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI

from shop.core.config import Settings
from tests.fixtures.app import running_app
from tests.fixtures.pgbouncer import running_pgbouncer
from tests.fixtures.services import ServiceUrls

collect_ignore = [] if os.environ.get("SHOP_TEST_PGBOUNCER") == "1" else ["test_through_pgbouncer.py"]


@pytest.fixture(scope="module")
def bouncer_server_url(services: ServiceUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test PostgreSQL server's maintenance URL, through PgBouncer in transaction mode."""
    with running_pgbouncer(services.postgres_server, tmp_path_factory.mktemp("pgbouncer")) as url:
        yield url


@pytest.fixture(scope="module")
def bouncer_settings(settings: Settings, bouncer_server_url: str) -> Settings:
    from sqlalchemy.engine import make_url

    assert settings.database_url is not None
    database = make_url(settings.database_url).database
    url = make_url(bouncer_server_url).set(database=database).render_as_string(hide_password=False)
    return settings.model_copy(update={"database_url": url, "database_pgbouncer": True})


@pytest.fixture(scope="module")
async def bouncer_app(bouncer_settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(bouncer_settings) as app:
        yield app
