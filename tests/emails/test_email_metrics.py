"""`shop_email_failures_total`: an email given up on after its retries, counted by the worker."""

from pathlib import Path

import httpx

from shop import events
from shop.core.config import Settings
from shop.core.db import unit_of_work
from shop.core.outbox import DeliveryStatus, OutboxDelivery, record_event
from shop.core.resources import Resources
from tests.fixtures.emails import order_payload, welcome_payload
from tests.fixtures.metrics import samples
from tests.fixtures.servers import free_port
from tests.fixtures.settings import settings_env
from tests.fixtures.waiting import eventually
from tests.fixtures.workers import run_worker

FAILURES = "shop_email_failures_total"


async def test_an_email_given_up_on_is_counted_once_under_its_template(
    settings: Settings, resources: Resources, tmp_path: Path
) -> None:
    metrics_port = free_port()
    # Nothing listens on the SMTP port: every attempt fails, and one retry comes quickly.
    env = settings_env(settings, smtp_port=free_port(), task_max_retries=1, task_retry_base_seconds=0.05)
    with run_worker(env, settings, "no-smtp", tmp_path, "--metrics-port", str(metrics_port)):
        async with unit_of_work(resources.database) as session:
            welcome = record_event(session, events.USER_REGISTERED, welcome_payload("lost@shop.test"))
            placed = record_event(session, events.ORDER_PLACED, order_payload("SO-000042", "lost@shop.test"))

        async def both_failed() -> bool:
            async with resources.database.sessionmaker() as session:
                deliveries = [
                    await session.get(OutboxDelivery, (welcome, "emails.welcome")),
                    await session.get(OutboxDelivery, (placed, "emails.order_placed")),
                ]
            return all(d is not None and d.status == DeliveryStatus.failed for d in deliveries)

        await eventually(both_failed, 60, "both deliveries are marked failed")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics_port}") as http:

            async def scraped() -> str:
                # The count follows the failed mark by a moment.
                return (await http.get("/metrics")).text

            async def both_counted() -> bool:
                return len(samples(await scraped(), FAILURES)) == 2

            await eventually(both_counted, 10, "both failures are counted")
            text = await scraped()
    assert samples(text, FAILURES) == {
        (("template", "welcome"),): 1.0,
        (("template", "order_placed"),): 1.0,
    }, "one count per email given up on, not one per attempt"
    assert 'shop_task_runs_total{outcome="retry",task="emails.welcome"} 1.0' in text
