"""Settling what a crash, a failed commit or a lost answer left `pending`.

Each charge attempt and refund is settled on its own: its id is read, the provider is asked with
no transaction open, and the outcome is recorded in a short transaction that locks the order
first, as every payment path does. Two reconcilers (two workers) at once do no harm: a provider
answers a repeated key with the first answer, and the second to record finds the work done.
"""

from dataclasses import dataclass

import structlog

from shop.core.db import unit_of_work
from shop.core.resources import Resources
from shop.orders import repository
from shop.orders.errors import PaymentProviderError
from shop.orders.models import Payment, Refund
from shop.orders.providers import get_gateway
from shop.orders.service import refunds
from shop.orders.service.payments import payments

log = structlog.get_logger()

BATCH_SIZE = 100


@dataclass
class Settled:
    charges: int = 0
    refunds: int = 0
    failures: int = 0  # the provider failed again: the next run asks again

    def __bool__(self) -> bool:
        return bool(self.charges or self.refunds or self.failures)


async def reconcile(resources: Resources) -> Settled:
    """Settle every charge attempt and refund whose lease is over (up to a batch of each)."""
    settled = Settled()
    async with unit_of_work(resources.database) as session:
        attempts = await repository.attempts_to_settle(session, BATCH_SIZE)
        pending_refunds = await repository.refunds_to_settle(session, BATCH_SIZE)
    for attempt_id in attempts:
        try:
            async with unit_of_work(resources.database) as session:
                attempt = await session.get(Payment, attempt_id)
                assert attempt is not None
                gateway = get_gateway(resources.settings, resources.redis, attempt.provider)
                await payments.settle(session, resources.cache, gateway, attempt_id)
            settled.charges += 1
        except PaymentProviderError as exc:
            settled.failures += 1
            log.warning("payments.reconcile_failed", payment_id=str(attempt_id), error=str(exc))
    for refund_id in pending_refunds:
        try:
            async with unit_of_work(resources.database) as session:
                refund = await session.get(Refund, refund_id)
                assert refund is not None
                gateway = get_gateway(resources.settings, resources.redis, refund.provider)
                await refunds.execute(session, resources.cache, gateway, refund_id)
            settled.refunds += 1
        except PaymentProviderError:
            settled.failures += 1  # logged, and noted on the refund, by `execute`
    if settled:
        log.info("payments.reconciled", charges=settled.charges, refunds=settled.refunds, failures=settled.failures)
    return settled
