"""Graceful drain of a real `shop serve` on SIGTERM, with checkouts in flight.

The checkouts wait on a row lock that the test holds, so they are truly in flight when the
signal arrives and for as long as the test wants; nothing here depends on how fast the machine is.
"""

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from shop.core.config import Settings
from shop.core.resources import Resources
from shop.orders.models import Order, OrderLine
from shop.products.models import StockMovement
from tests.fixtures.auth import create_user
from tests.fixtures.locks import lock_waiters, rows_locked
from tests.fixtures.orders import ADDRESS, create_variants, items, stock_of
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually

CHECKOUTS = 16
# Long enough that the test sees readiness turn and still has seconds left to send a request.
DRAIN_SECONDS = 10
SHUTDOWN_TIMEOUT_SECONDS = 30
# Lifespan shutdown (outbox relay, pools) and process start-up noise on a loaded machine.
EXIT_MARGIN_SECONDS = 15
SERVER_SETTINGS = {
    "server_drain_seconds": DRAIN_SECONDS,
    "server_shutdown_timeout_seconds": SHUTDOWN_TIMEOUT_SECONDS,
    # Room for every blocked checkout in one process's pool, wherever they land.
    "database_pool_size": CHECKOUTS + 4,
    "database_max_overflow": 0,
    "database_pool_timeout": 60,
    "database_statement_timeout_ms": 120_000,
}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        yield client


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_drains_in_flight_checkouts_then_exits(
    workers: int, settings: Settings, resources: Resources, http: httpx.AsyncClient
) -> None:
    # Every checkout takes one of each: eight fit, eight are refused for the first variant.
    scarce, plenty = await create_variants(resources, [CHECKOUTS // 2, CHECKOUTS])
    buyers = [await create_user(resources) for _ in range(4)]
    body = {"shipping_address": ADDRESS, "items": items((scarce, 1), (plenty, 1))}

    with run_server(settings_env(settings, **SERVER_SETTINGS), workers) as server:
        url = server.base_url
        assert (await http.get(f"{url}/health/ready")).status_code == 200
        async with rows_locked(resources, scarce, plenty) as lock:
            in_flight = [
                asyncio.create_task(http.post(f"{url}/api/v1/orders", json=body, headers=buyers[i % 4].headers))
                for i in range(CHECKOUTS)
            ]
            await eventually(lambda: _waiters_are(resources, CHECKOUTS), 60, "every checkout waits on the lock")

            # Only the main process gets the signal, as from `docker stop` or the kubelet.
            os.kill(server.process.pid, signal.SIGTERM)
            signalled_at = time.monotonic()
            await eventually(lambda: _draining(http, url), DRAIN_SECONDS / 2, "readiness answers 503 draining")
            # Still serving during the drain: the load balancer has not noticed yet.
            assert (await http.get(f"{url}/api/v1/categories")).status_code == 200
            assert not any(task.done() for task in in_flight)

            # Past the drain the server stops accepting and waits for what it has.
            await asyncio.sleep(DRAIN_SECONDS)
            assert server.process.poll() is None, "the server waits for its in-flight requests"
            await lock.rollback()

        responses = await asyncio.gather(*in_flight)
        grace = DRAIN_SECONDS + SHUTDOWN_TIMEOUT_SECONDS + EXIT_MARGIN_SECONDS
        await _exited(server, signalled_at + grace)

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: CHECKOUTS // 2, 409: CHECKOUTS // 2}, statuses
    assert all(r.json()["code"] == "insufficient_stock" for r in responses if r.status_code == 409)
    await _assert_no_half_made_order(resources, {scarce: CHECKOUTS // 2, plenty: CHECKOUTS})


async def test_requests_still_running_at_the_shutdown_timeout_are_cut_off_without_a_trace(
    settings: Settings, resources: Resources, http: httpx.AsyncClient
) -> None:
    (variant,) = await create_variants(resources, [10])
    buyer = await create_user(resources)
    body = {"shipping_address": ADDRESS, "items": items((variant, 1))}
    timeout = 2
    env = settings_env(settings, **{**SERVER_SETTINGS, "server_drain_seconds": 0.5})
    env["SHOP_SERVER_SHUTDOWN_TIMEOUT_SECONDS"] = str(timeout)

    with run_server(env) as server:
        async with rows_locked(resources, variant):
            in_flight = [
                asyncio.create_task(http.post(f"{server.base_url}/api/v1/orders", json=body, headers=buyer.headers))
                for _ in range(3)
            ]
            await eventually(lambda: _waiters_are(resources, 3), 60, "the checkouts wait on the lock")
            os.kill(server.process.pid, signal.SIGTERM)
            # The lock outlives the shutdown timeout: the server must give up on the requests.
            await _exited(server, time.monotonic() + timeout + EXIT_MARGIN_SECONDS)
        outcomes = await asyncio.gather(*in_flight, return_exceptions=True)

    assert not any(isinstance(o, httpx.Response) and o.status_code == 201 for o in outcomes), outcomes
    # Their transactions never committed, whatever PostgreSQL did once the lock was gone.
    await eventually(lambda: _waiters_are(resources, 0), 30, "the cut-off sessions are gone")
    await _assert_no_half_made_order(resources, {variant: 10})
    assert await stock_of(resources, variant) == [10]


async def _waiters_are(resources: Resources, count: int) -> bool:
    return await lock_waiters(resources) == count


async def _draining(http: httpx.AsyncClient, url: str) -> bool:
    response = await http.get(f"{url}/health/ready")
    return response.status_code == 503 and response.json()["status"] == "draining"


async def _exited(server: RunningServer, deadline: float) -> None:
    try:
        await asyncio.to_thread(server.process.wait, max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise AssertionError("the server did not exit within its grace period") from None


async def _assert_no_half_made_order(resources: Resources, initial: dict[uuid.UUID, int]) -> None:
    """Every order has all its lines, and every unit is in stock or on an order, moved once."""
    async with resources.database.sessionmaker() as session:
        lines_per_order = Counter(
            dict((await session.execute(select(OrderLine.order_id, func.count()).group_by(OrderLine.order_id))).all())
        )
        orders = (await session.scalars(select(Order.id))).all()
        sold = dict(
            (
                await session.execute(
                    select(OrderLine.variant_id, func.sum(OrderLine.quantity)).group_by(OrderLine.variant_id)
                )
            ).all()
        )
        moved = dict(
            (
                await session.execute(
                    select(StockMovement.variant_id, func.sum(StockMovement.delta)).group_by(StockMovement.variant_id)
                )
            ).all()
        )
    lines_expected = len(initial)
    assert all(lines_per_order[order] == lines_expected for order in orders)
    assert set(lines_per_order) <= set(orders)
    stock = await stock_of(resources, *initial)
    for (variant, start), left in zip(initial.items(), stock, strict=True):
        assert left == start - sold.get(variant, 0)
        assert moved.get(variant, 0) == -sold.get(variant, 0)
