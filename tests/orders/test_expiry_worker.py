"""The expiry of unpaid orders in a real `shop worker` process, as production runs it: on the
worker's own schedule, and its events handled with no sweep to help. Each worker has a broker of
its own, so that the expiry does not queue behind tasks other tests left (the schedule's runs
expire after one period)."""

import uuid
from pathlib import Path
from typing import Any

import httpx

from shop.core.config import Settings
from shop.core.mailsink import Mailbox
from shop.core.resources import Resources
from tests.fixtures.auth import Account
from tests.fixtures.orders import backdate, create_variants, place_order, stock_of
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import run_worker, send_task

EXPIRY_PERIOD_SECONDS = 2


async def expired_order(
    client: httpx.AsyncClient, resources: Resources, customer: Account
) -> tuple[dict[str, Any], uuid.UUID]:
    """An unpaid order for 2 of a variant's 5 units, past the payment timeout; and the variant."""
    (variant,) = await create_variants(resources, [5])
    order = await place_order(client, customer, (variant, 2))
    await backdate(resources, order["id"], resources.settings.payment_timeout_minutes + 1)
    return order, variant


async def status_of(client: httpx.AsyncClient, customer: Account, order: dict[str, Any]) -> str:
    response = await client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers)
    status: str = response.json()["status"]
    return status


def mail_for(mailbox: Mailbox, customer: Account, subject: str) -> bool:
    return any(message["To"] == customer.email and message["Subject"] == subject for message in mailbox.messages)


async def test_the_schedule_cancels_an_expired_order_and_returns_its_stock(
    own_broker: Settings, client: httpx.AsyncClient, resources: Resources, customer: Account, tmp_path: Path
) -> None:
    order, variant = await expired_order(client, resources, customer)
    assert await stock_of(resources, variant) == [3]
    env = settings_env(own_broker, order_expiry_interval_seconds=EXPIRY_PERIOD_SECONDS, data_dir=tmp_path)
    with run_worker(env, own_broker, "expiry-beat", tmp_path, "--beat"):

        async def cancelled() -> bool:
            return await status_of(client, customer, order) == "cancelled"

        # The first run comes one period after the schedule starts; the rest is the worker's latency.
        await eventually(cancelled, EXPIRY_PERIOD_SECONDS + 8, "the schedule cancels the expired order")
    assert await stock_of(resources, variant) == [5]


async def test_its_cancellation_email_goes_with_no_sweep_running(
    own_broker: Settings,
    client: httpx.AsyncClient,
    resources: Resources,
    customer: Account,
    mailbox: Mailbox,
    tmp_path: Path,
) -> None:
    order, _ = await expired_order(client, resources, customer)
    # No schedule, so no outbox sweep: only the relay of the job's own commit can deliver its event.
    with run_worker(settings_env(own_broker), own_broker, "expiry", tmp_path):
        send_task(own_broker, "orders.expire_unpaid")
        cancelled = f"Order {order['number']} cancelled"
        await eventually(lambda: mail_for(mailbox, customer, cancelled), 15, "the cancellation email")
    assert await status_of(client, customer, order) == "cancelled"
