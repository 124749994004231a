"""Overload shedding on a real server: past the in-flight limit, a fast 503 instead of a queue."""

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shop.core.config import Settings
from shop.core.resources import Resources
from tests.fixtures.auth import create_user
from tests.fixtures.locks import lock_waiters, rows_locked
from tests.fixtures.orders import ADDRESS, create_variants, items
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually

LIMIT = 4
SERVER_SETTINGS = {
    "server_max_concurrent_requests": LIMIT,
    # The blocked checkouts wait on a row lock as long as the test holds it.
    "database_statement_timeout_ms": 120_000,
}


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[RunningServer]:
    with run_server(settings_env(settings, **SERVER_SETTINGS)) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=120) as client:
        yield client


class TestOverload:
    async def test_requests_past_the_limit_get_503_at_once_while_the_others_finish(
        self, http: httpx.AsyncClient, resources: Resources
    ) -> None:
        (variant,) = await create_variants(resources, [10])
        buyer = await create_user(resources)
        body = {"shipping_address": ADDRESS, "items": items((variant, 1))}

        def checkout() -> asyncio.Task[httpx.Response]:
            return asyncio.create_task(http.post("/api/v1/orders", json=body, headers=buyer.headers))

        async with rows_locked(resources, variant) as lock:
            blocked = [checkout() for _ in range(LIMIT)]
            await eventually(lambda: _waiters_are(resources, LIMIT), 60, f"{LIMIT} checkouts wait on the lock")

            # Every slot is taken by a request that cannot finish while the lock is held, so
            # these answers did not wait for a slot: they were refused on arrival.
            shed = await asyncio.gather(*(checkout() for _ in range(6)))
            for response in shed:
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert response.headers["retry-after"] == "1"
                assert response.json()["code"] == "service_unavailable"
                assert response.headers["x-request-id"]
            for path in ("/health/live", "/health/ready", "/metrics"):
                assert (await http.get(path)).status_code == 200, path
            assert not any(task.done() for task in blocked)
            await lock.rollback()

        assert [response.status_code for response in await asyncio.gather(*blocked)] == [201] * LIMIT
        # The slots are free again.
        assert (await checkout()).status_code == 201
        metrics = (await http.get("/metrics")).text
        assert "shop_http_requests_shed_total 6.0" in metrics


async def _waiters_are(resources: Resources, count: int) -> bool:
    return await lock_waiters(resources) == count
