"""Money paths across real processes: `shop serve` killed mid-payment, a `shop worker` settling
what it left, and refunds racing through several server processes.
"""

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shop.core.config import Settings
from shop.core.resources import Resources
from shop.core.security import Role
from shop.orders import sandbox
from shop.orders.schemas import PaymentStatus
from shop.orders.service.reconciliation import reconcile
from tests.fixtures.auth import Account, create_user, outbox_events
from tests.fixtures.invariants import audit_invariants
from tests.fixtures.orders import ADDRESS, create_variants, items, payment_rows, refunded, stock_of
from tests.fixtures.servers import RunningServer, run_server
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import run_worker, send_task

PROVIDER_TIMEOUT = 2.5  # so an attempt's lease is 7.5 s
WORKERS = 3


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[RunningServer]:
    env = settings_env(settings, payment_provider_timeout_seconds=PROVIDER_TIMEOUT, server_max_concurrent_requests=0)
    with run_server(env, WORKERS) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
        yield client


async def placed_order(http: httpx.AsyncClient, resources: Resources, buyer: Account) -> dict[str, Any]:
    (variant,) = await create_variants(resources, [3], prices=[1200])
    response = await http.post(
        "/api/v1/orders", json={"shipping_address": ADDRESS, "items": items((variant, 1))}, headers=buyer.headers
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    order["variant_id"] = variant
    return order


async def test_a_charge_whose_server_was_killed_before_recording_it_is_settled_by_the_worker(
    settings: Settings, own_broker: Settings, resources: Resources, tmp_path: Path
) -> None:
    env = settings_env(settings, payment_provider_timeout_seconds=PROVIDER_TIMEOUT)
    buyer = await create_user(resources)
    # The provider takes the money at once and answers 2 s later: the server dies in between.
    await sandbox.set_latency(resources.redis, 2000)
    with run_server(env, 1) as doomed:
        async with httpx.AsyncClient(base_url=doomed.base_url, timeout=30) as http:
            order = await placed_order(http, resources, buyer)
            paying = asyncio.create_task(
                http.post(
                    f"/api/v1/orders/{order['id']}/pay", json={"payment_token": "tok_success"}, headers=buyer.headers
                )
            )

            async def charged() -> bool:
                return await sandbox.charges_of(resources.redis, uuid.UUID(order["id"])) == 1

            await eventually(charged, 10, "the provider charged")
            doomed.stop(signal.SIGKILL)
            with pytest.raises(httpx.HTTPError):
                await paying
    await sandbox.set_latency(resources.redis, 0)
    assert [status for status, _ in await payment_rows(resources, order["id"])] == [PaymentStatus.pending]

    await asyncio.sleep(3 * PROVIDER_TIMEOUT + 1)  # the lease of the dead request's attempt
    worker_env = settings_env(own_broker, payment_provider_timeout_seconds=PROVIDER_TIMEOUT)
    with run_worker(worker_env, own_broker, "reconciler", tmp_path):
        send_task(own_broker, "payments.reconcile")

        async def settled() -> bool:
            return [status for status, _ in await payment_rows(resources, order["id"])] == [PaymentStatus.succeeded]

        await eventually(settled, 30, "the worker settles the attempt")
    assert await sandbox.charges_of(resources.redis, uuid.UUID(order["id"])) == 1
    assert len([e for e in await outbox_events(resources, "order.paid") if e["number"] == order["number"]]) == 1
    await audit_invariants(resources.database)


async def test_refunds_and_cancels_racing_across_server_processes_refund_each_order_once(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    staff = await create_user(resources, role=Role.staff)
    orders = []
    for _ in range(6):
        buyer = await create_user(resources)
        order = await placed_order(http, resources, buyer)
        paid = await http.post(
            f"/api/v1/orders/{order['id']}/pay", json={"payment_token": "tok_success"}, headers=buyer.headers
        )
        assert paid.status_code == 200, paid.text
        orders.append((order, buyer))
    await sandbox.set_latency(resources.redis, 100)
    requests = [
        http.post(f"/api/v1/admin/orders/{order['id']}/refund", headers=staff.headers)
        for order, _ in orders
        for _ in range(3)
    ] + [http.post(f"/api/v1/orders/{order['id']}/cancel", headers=buyer.headers) for order, buyer in orders]
    answers = await asyncio.gather(*requests)
    assert {answer.status_code for answer in answers} <= {200, 409, 502}, [
        a.text for a in answers if a.status_code >= 500
    ]
    await sandbox.set_latency(resources.redis, 0)
    await reconcile(resources)  # any refund whose call failed in the race
    for order, buyer in orders:
        current = (await http.get(f"/api/v1/orders/{order['id']}", headers=buyer.headers)).json()
        assert current["status"] == "refunded"
        assert await refunded(resources, order["id"]) == 1
        assert await stock_of(resources, order["variant_id"]) == [3]
    await audit_invariants(resources.database)
