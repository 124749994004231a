"""The migrations build exactly the schema of the models, and take it all down again."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import shop.models  # noqa: F401  (every table on the metadata)
from shop.core import migrations
from shop.core.db import Base
from tests.fixtures.database import create_test_database
from tests.fixtures.services import ServiceUrls


@pytest.fixture
async def migrated_url(services: ServiceUrls) -> AsyncIterator[str]:
    async for url in create_test_database(services.postgres_server, prefix="shop_migrations"):
        yield url


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_head_matches_the_models_and_downgrade_base_empties(migrated_url: str) -> None:
    engine = create_async_engine(migrated_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
            assert await connection.run_sync(_tables) == {*Base.metadata.tables, "alembic_version"}
        await asyncio.to_thread(migrations.downgrade, migrated_url, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == {"alembic_version"}
        await asyncio.to_thread(migrations.upgrade, migrated_url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == [], "upgrade after downgrade rebuilds the same schema"
    finally:
        await engine.dispose()
