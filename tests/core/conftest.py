"""A probe app: the real app plus a few routes that exercise the core's machinery."""

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

import httpx
import pytest
import structlog
from fastapi import APIRouter, FastAPI, Query
from pydantic import Field
from sqlalchemy import text

from shop.app import create_app
from shop.core.config import Settings
from shop.core.db import after_commit
from shop.core.deps import SessionDep
from shop.core.errors import Conflict, NotFound, Problem, error_responses
from shop.core.resources import Resources
from shop.core.routing import ShopRoute
from shop.core.schemas import Schema
from tests.fixtures import probe_events
from tests.fixtures.app import client_for, running_app

log = structlog.get_logger()
committed_callbacks: list[str] = []


class ItemIn(Schema):
    name: str = Field(min_length=1, max_length=50)
    quantity: int = Field(ge=1, le=99)


class NoteIn(Schema):
    text: str


class RefusedButKept(Conflict):
    keeps_changes = True


def probe_router() -> APIRouter:
    # Each route declares what it answers, as the product's do: tests/fixtures/contract.py holds
    # every response to the app's document, the probe's routes included.
    router = APIRouter(prefix="/api/v1/probe", route_class=ShopRoute)

    @router.post("/items", status_code=201)
    async def create_item(item: ItemIn) -> ItemIn:
        return item

    @router.get("/items/{item_id}", responses=error_responses(NotFound))
    async def read_item(item_id: UUID) -> dict[str, str]:
        raise NotFound(f"No item {item_id}.")

    @router.get("/conflict", responses=error_responses(Conflict))
    async def conflict() -> None:
        raise Conflict("Already there.", errors=[{"sku": "PROBE-1"}])

    # What a bug looks like to a client (the request context's 500): only this probe answers it.
    @router.get("/crash", responses={500: {"model": Problem, "description": "internal_error"}})
    async def crash() -> None:
        raise RuntimeError("secret internal detail")

    @router.get("/log")
    async def log_something() -> dict[str, bool]:
        log.info("probe.logged", answer=42)
        return {"logged": True}

    @router.post("/notes", status_code=201, responses=error_responses(Conflict))
    async def write_note(
        note: NoteIn,
        session: SessionDep,
        fail: Annotated[bool, Query()] = False,
        fail_keeping: Annotated[bool, Query()] = False,
    ) -> dict[str, str]:
        await session.execute(text("INSERT INTO probe_note (text) VALUES (:text)"), {"text": note.text})

        async def remember() -> None:
            committed_callbacks.append(note.text)

        after_commit(session, remember)
        if fail:
            raise Conflict("Refused after writing.")
        if fail_keeping:
            raise RefusedButKept("Refused, but what was written stays.")
        return {"text": note.text}

    # A router included in another, as every domain's router is included in `api_router`.
    nested = APIRouter(prefix="/nested", route_class=ShopRoute)

    @nested.get("/{thing_id}")
    async def read_nested(thing_id: int) -> dict[str, int]:
        log.info("probe.nested", thing_id=thing_id)
        return {"thing_id": thing_id}

    router.include_router(nested)
    return router


@pytest.fixture(scope="session")
async def probe_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    app.include_router(probe_router())
    async with running_app(settings, app) as running:
        engine = running.state.resources.database.engine
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE probe_note (id serial PRIMARY KEY, text text)"))
        yield running
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE probe_note"))


@pytest.fixture
async def probe(probe_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    committed_callbacks.clear()
    async with client_for(probe_app) as client:
        yield client
    engine = probe_app.state.resources.database.engine
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE probe_note"))


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
