"""The shop through a real PgBouncer in transaction pooling mode, with SHOP_DATABASE_PGBOUNCER=true."""

import asyncpg
import pytest
from fastapi import FastAPI

from shop.core.resources import Resources
from tests.fixtures.app import client_for
from tests.fixtures.pgbouncer import SERVER_CONNECTIONS, exercise_the_shop


async def test_the_shop_works_through_pgbouncer(bouncer_app: FastAPI, resources: Resources) -> None:
    # `resources` (the suite's own app, straight on PostgreSQL) only makes the users and cleans up.
    async with client_for(bouncer_app) as client:
        await exercise_the_shop(client, resources)
        ready = await client.get("/health/ready")
        assert ready.json()["checks"]["database"] == "ok"


async def test_a_cached_statement_is_missing_on_the_next_server_connection(bouncer_server_url: str) -> None:
    """The trap is real here: a statement prepared in one transaction is gone in the next one."""
    dsn = bouncer_server_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    owner, first, second = [await asyncpg.connect(dsn) for _ in range(3)]
    try:
        async with owner.transaction():
            home = await owner.fetchval("SELECT pg_backend_pid()")
            statement = await owner.prepare("SELECT 1")
        # Hold both server connections, then free the one the statement does not live on.
        holders = {}
        for client in (first, second):
            transaction = client.transaction()
            await transaction.start()
            holders[await client.fetchval("SELECT pg_backend_pid()")] = transaction
        assert home in holders and len(holders) == SERVER_CONNECTIONS
        await next(transaction for pid, transaction in holders.items() if pid != home).commit()
        with pytest.raises(asyncpg.InvalidSQLStatementNameError):
            await statement.fetchval()
    finally:
        for client in (owner, first, second):
            await client.close()


async def test_startup_settings_are_refused(bouncer_server_url: str) -> None:
    """Why SHOP_DATABASE_PGBOUNCER leaves statement_timeout off the connection's startup packet."""
    dsn = bouncer_server_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    with pytest.raises(asyncpg.PostgresError, match="unsupported startup parameter"):
        await asyncpg.connect(dsn, server_settings={"statement_timeout": "1000"})
