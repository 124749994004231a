"""Scheduled work of the orders: cancelling orders left unpaid too long, and settling payments."""

from datetime import timedelta

import structlog

from shop.core.config import Settings
from shop.core.db import unit_of_work
from shop.core.resources import Resources
from shop.core.schedule import periodic
from shop.orders.service import orders
from shop.orders.service.reconciliation import Settled, reconcile

log = structlog.get_logger()

EXPIRY_BATCH_SIZE = 100


def expiry_period(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.order_expiry_interval_seconds)


@periodic("orders.expire_unpaid", every=expiry_period)
async def expire_unpaid(resources: Resources) -> int:
    """Cancel every `pending_payment` order older than SHOP_PAYMENT_TIMEOUT_MINUTES, returning its stock.

    One transaction per batch: a crash loses at most one batch's work, which the next run redoes.
    """
    timeout = timedelta(minutes=resources.settings.payment_timeout_minutes)
    total = 0
    while True:
        async with unit_of_work(resources.database) as session:
            cancelled = await orders.expire_unpaid(session, older_than=timeout, batch=EXPIRY_BATCH_SIZE)
        total += cancelled
        if cancelled < EXPIRY_BATCH_SIZE:
            break
    if total:
        log.info("orders.expired", count=total)
    return total


@periodic("payments.reconcile", every=timedelta(minutes=1))
async def reconcile_payments(resources: Resources) -> Settled:
    """Settle the charge attempts and refunds a crash or a lost answer left pending."""
    return await reconcile(resources)
