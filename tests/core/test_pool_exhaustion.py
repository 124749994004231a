"""Every database connection busy is overload, not an outage: requests wait their turn for one,
and past the pool timeout get a 503 that says so. A stopped PostgreSQL still says unavailable."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from shop.core.config import Settings
from shop.core.embedded import EmbeddedPostgres
from shop.core.pool import ConnectionGate, GatedPool, PoolExhausted
from shop.core.resources import Resources
from tests.fixtures.app import client_for, running_app
from tests.fixtures.auth import create_user
from tests.fixtures.database import create_test_database
from tests.fixtures.locks import lock_waiters, rows_locked
from tests.fixtures.orders import ADDRESS, create_variants, items
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.services import own_postgres
from tests.fixtures.settings import make_settings, settings_env
from tests.fixtures.waiting import eventually

LISTING = "/api/v1/products"
ONE_CONNECTION = {"database_pool_size": 1, "database_max_overflow": 0}


class TestTheGate:
    """The gate alone, on the event loop: the order of service and the end of a wait."""

    async def test_a_released_permit_goes_to_the_oldest_waiter_not_to_a_newcomer(self) -> None:
        gate = ConnectionGate(capacity=1, timeout=30)
        assert gate.try_acquire()
        served: list[str] = []

        async def wait(name: str) -> None:
            await gate.acquire()
            served.append(name)

        first = asyncio.create_task(wait("first"))
        await eventually(lambda: gate.waiting == 1, 5, "the first waits")
        second = asyncio.create_task(wait("second"))
        await eventually(lambda: gate.waiting == 2, 5, "the second waits behind it")

        gate.release()
        assert not gate.try_acquire(), "a newcomer does not take the permit meant for a waiter"
        await first
        assert served == ["first"] and gate.in_use == 1
        gate.release()
        await second
        assert served == ["first", "second"]
        gate.release()
        assert (gate.in_use, gate.waiting) == (0, 0)

    async def test_a_wait_past_the_timeout_is_pool_exhausted_and_leaves_the_line(self) -> None:
        gate = ConnectionGate(capacity=2, timeout=0.2)
        assert gate.try_acquire() and gate.try_acquire()
        with pytest.raises(PoolExhausted) as raised:
            await gate.acquire()
        assert (raised.value.capacity, raised.value.timeout) == (2, 0.2)
        assert gate.waiting == 0
        gate.release()
        assert gate.in_use == 1

    async def test_a_cancelled_waiter_leaves_the_line_and_takes_no_permit(self) -> None:
        gate = ConnectionGate(capacity=1, timeout=30)
        assert gate.try_acquire()
        waiter = asyncio.create_task(gate.acquire())
        await eventually(lambda: gate.waiting == 1, 5, "it waits")
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert gate.waiting == 0
        gate.release()
        assert (gate.in_use, gate.waiting) == (0, 0)


class TestAQueueForConnections:
    @pytest.fixture
    async def one_connection_app(self, settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
        own = make_settings(
            settings.database_url or "", settings.redis_url or "", tmp_path, database_pool_timeout=60, **ONE_CONNECTION
        )
        async with running_app(own) as app:
            yield app

    async def test_requests_wait_their_turn_for_the_connection_and_are_served(
        self, one_connection_app: FastAPI
    ) -> None:
        database = one_connection_app.state.resources.database
        pool = database.engine.sync_engine.pool
        assert isinstance(pool, GatedPool)
        async with client_for(one_connection_app) as client:
            async with database.engine.connect() as held:
                await held.exec_driver_sql("SELECT 1")
                listings = [asyncio.create_task(client.get(LISTING, params={"limit": n})) for n in (1, 2, 3)]
                await eventually(lambda: pool.gate.waiting == 3, 30, "three requests wait for the connection")
                assert not any(task.done() for task in listings)
            for response in await asyncio.gather(*listings):
                assert response.status_code == 200, response.text
        assert (pool.gate.in_use, pool.gate.waiting) == (0, 0)


@pytest.fixture
def server(settings: Settings) -> Iterator[RunningServer]:
    """A real `shop serve` with one connection and a pool timeout of one second."""
    env = settings_env(settings, database_pool_timeout=1, database_statement_timeout_ms=120_000, **ONE_CONNECTION)
    with run_server(env) as running:
        yield running


class TestEveryConnectionBusy:
    """The one connection is held by a checkout blocked on a row lock."""

    async def test_a_request_that_waited_out_the_pool_timeout_gets_a_503_that_says_busy(
        self, server: RunningServer, resources: Resources
    ) -> None:
        (variant,) = await create_variants(resources, [10])
        buyer = await create_user(resources)
        body = {"shipping_address": ADDRESS, "items": items((variant, 1))}
        async with httpx.AsyncClient(base_url=server.base_url, timeout=120) as http:
            async with rows_locked(resources, variant) as lock:
                checkout = asyncio.create_task(http.post("/api/v1/orders", json=body, headers=buyer.headers))
                await eventually(lambda: _lock_waiters_are(resources, 1), 60, "the checkout holds the connection")

                response = await http.get(LISTING, headers={"X-Request-ID": "busy-1"})
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert response.headers["retry-after"] == "1"
                problem = response.json()
                assert problem["code"] == "service_unavailable"
                assert "busy" in problem["detail"] and "unavailable" not in problem["detail"]
                await lock.rollback()

            assert (await checkout).status_code == 201
            assert (await http.get(LISTING)).status_code == 200, "served again once the connection is free"

        lines = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
        busy = [line for line in lines if line.get("request_id") == "busy-1"]
        events = [line["event"] for line in busy]
        assert "database.pool_exhausted" in events
        assert "database.unavailable" not in events
        (exhausted,) = [line for line in busy if line["event"] == "database.pool_exhausted"]
        assert (exhausted["connections"], exhausted["waited_s"]) == (1, 1)


async def _lock_waiters_are(resources: Resources, count: int) -> bool:
    return await lock_waiters(resources) == count


class TestPostgresStopped:
    @pytest.fixture
    async def postgres(self, tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
        async with own_postgres(tmp_path) as server:
            yield server

    async def test_requests_queued_for_the_connection_of_a_stopped_database_say_it_is_unavailable(
        self, postgres: EmbeddedPostgres, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        async for url in create_test_database(postgres.url()):
            own = make_settings(url, settings.redis_url or "", tmp_path, database_pool_timeout=2, **ONE_CONNECTION)
            async with running_app(own) as app, client_for(app) as client:
                # The app's logging set-up replaced the root handlers, the capturing one too.
                logging.getLogger().addHandler(caplog.handler)
                assert (await client.get(LISTING)).status_code == 200
                await asyncio.to_thread(postgres.pause)
                with caplog.at_level(logging.WARNING):
                    responses = await asyncio.gather(*(client.get(LISTING) for _ in range(4)))
                await asyncio.to_thread(postgres.resume)

        for response in responses:
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "service_unavailable"
            assert response.json()["detail"] == "The database is unavailable; retry shortly."
            assert response.headers["retry-after"]
        events = [record.msg.get("event") for record in caplog.records if isinstance(record.msg, dict)]
        assert events.count("database.unavailable") == 4
        assert "database.pool_exhausted" not in events
