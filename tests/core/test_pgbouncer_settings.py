"""SHOP_DATABASE_PGBOUNCER=true, straight against PostgreSQL (tests/pgbouncer/ runs a real PgBouncer)."""

import re
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shop.core.config import Settings
from shop.core.db import Database
from shop.core.resources import Resources
from tests.fixtures.app import client_for, running_app
from tests.fixtures.pgbouncer import exercise_the_shop


@pytest.fixture(scope="module")
def pgbouncer_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"database_pgbouncer": True})


@pytest.fixture(scope="module")
async def pgbouncer_app(pgbouncer_settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(pgbouncer_settings) as app:
        yield app


async def test_the_shop_works_with_the_pgbouncer_settings(pgbouncer_app: FastAPI, resources: Resources) -> None:
    # `resources` (the suite's own app) makes the users and empties the database afterwards.
    async with client_for(pgbouncer_app) as client:
        await exercise_the_shop(client, resources)


async def test_every_statement_gets_a_name_of_its_own(pgbouncer_settings: Settings) -> None:
    """No per-connection counter names and no statement cache: nothing a shared server connection trips on."""
    database = Database(pgbouncer_settings)
    try:
        async with database.sessionmaker() as session:
            names: set[str] = set()
            for _ in range(3):
                # The same statement each time; each is prepared anew under a new name.
                names.update((await session.scalars(text("SELECT name FROM pg_prepared_statements"))).all())
            timeout = await session.scalar(text("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'"))
    finally:
        await database.dispose()
    assert len(names) >= 3
    assert all(re.fullmatch(r"__asyncpg_[0-9a-f]{32}__", name) for name in names), names
    assert timeout == "0"  # not sent at connect: PgBouncer would refuse the connection
