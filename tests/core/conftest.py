"""A probe app: the real app plus a few routes that exercise the core's machinery."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shop.app import create_app
from shop.core.config import Settings
from shop.core.resources import Resources
from tests.fixtures import probe_events
from tests.fixtures.app import client_for, running_app
from tests.fixtures.probe_app import committed_callbacks, probe_router


@pytest.fixture(scope="session")
async def probe_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    app.include_router(probe_router())
    async with running_app(settings, app) as running:
        engine = running.state.resources.database.engine
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE probe_note (id serial PRIMARY KEY, text text)"))
            await connection.execute(
                text(
                    "CREATE TABLE probe_claim (name text,"
                    " CONSTRAINT uq_probe_claim_name UNIQUE (name) DEFERRABLE INITIALLY DEFERRED)"
                )
            )
        yield running
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE probe_note"))
            await connection.execute(text("DROP TABLE probe_claim"))


@pytest.fixture
async def probe(probe_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    committed_callbacks.clear()
    async with client_for(probe_app) as client:
        yield client
    engine = probe_app.state.resources.database.engine
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE probe_note, probe_claim"))


@pytest.fixture(scope="session")
async def probe_tables(resources: Resources) -> AsyncIterator[None]:
    async with resources.database.engine.begin() as connection:
        for statement in probe_events.CREATE_TABLES:
            await connection.execute(text(statement))
    yield
    async with resources.database.engine.begin() as connection:
        for statement in probe_events.DROP_TABLES:
            await connection.execute(text(statement))


@pytest.fixture(autouse=True)
async def _empty_probe_tables(probe_tables: None, resources: Resources) -> AsyncIterator[None]:
    yield
    async with resources.database.engine.begin() as connection:
        await connection.execute(text("TRUNCATE probe_received, probe_switch"))
