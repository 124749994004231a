"""The Celery application: broker, serialization and at-least-once delivery settings."""

import asyncio
import uuid

from celery import Celery

from shop.core.config import Settings
from shop.core.redis_urls import kombu_broker

BROKER_CONNECT_TIMEOUT_SECONDS = 2


def create_celery(settings: Settings) -> Celery:
    broker, sentinel_options = (
        kombu_broker(settings.effective_broker_url) if settings.effective_broker_url else (None, {})
    )
    app = Celery("shop", broker=broker, set_as_current=True)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # At-least-once: acknowledge after the task ran, and give a task back to the broker
        # when its worker process dies, so another worker takes it over.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={**_transport_options(settings.broker_visibility_timeout), **sentinel_options},
        broker_connection_retry_on_startup=True,
        # Publishing must never hang a request: give up fast and let the outbox sweep retry.
        broker_connection_timeout=BROKER_CONNECT_TIMEOUT_SECONDS,
        broker_pool_limit=10,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        timezone="UTC",
        enable_utc=True,
    )
    return app


def _transport_options(visibility_timeout: int) -> dict[str, object]:
    # A Redis broker looks for abandoned tasks about every interval * throttle seconds (100 by
    # default); look about six times per visibility timeout, so a short timeout is honoured.
    sweep_period = min(100.0, max(2.0, visibility_timeout / 6))
    interval = min(10.0, sweep_period)
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": interval,
        "unacked_restore_throttle": max(1, round(sweep_period / interval)),
        "socket_connect_timeout": BROKER_CONNECT_TIMEOUT_SECONDS,
    }


class TaskPublisher:
    """Sends a task by name; runs the blocking broker call in a thread, off the event loop."""

    def __init__(self, celery: Celery) -> None:
        self.celery = celery

    async def __call__(self, task_name: str, event_id: uuid.UUID) -> None:
        await asyncio.to_thread(self._send, task_name, event_id)

    def _send(self, task_name: str, event_id: uuid.UUID) -> None:
        # No retry loop here: a failed publish leaves the event pending for the outbox sweep.
        self.celery.send_task(task_name, args=[str(event_id)], retry=False)
