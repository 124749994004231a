"""Settling what a crash, a failed commit or a lost answer left `pending`.

Each charge attempt and refund is settled on its own: its id is read, the provider is asked with
no transaction open, and the outcome is recorded in a short transaction that locks the order
first, as every payment path does. Two reconcilers (two workers) at once do no harm: a provider
answers a repeated key with the first answer, and the second to record finds the work done.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.db import unit_of_work
from shop.core.resources import Resources
from shop.orders import repository
from shop.orders.models import Payment, Refund
from shop.orders.providers import PaymentGateway, get_gateway
from shop.orders.service import refunds
from shop.orders.service.payments import payments

log = structlog.get_logger()

BATCH_SIZE = 100
RETRY_AFTER = timedelta(minutes=1)


@dataclass
class Settled:
    charges: int = 0
    refunds: int = 0
    failures: int = 0  # the provider failed again: the next run asks again

    def __bool__(self) -> bool:
        return bool(self.charges or self.refunds or self.failures)


async def reconcile(resources: Resources) -> Settled:
    """Settle every charge attempt and refund whose lease is over (up to a batch of each)."""
    async with unit_of_work(resources.database) as session:
        attempts = await repository.attempts_to_settle(session, BATCH_SIZE)
        pending_refunds = await repository.refunds_to_settle(session, BATCH_SIZE)
    charges, failed_charges = await _settle_each(
        resources, Payment, attempts, lambda s, g, i: payments.settle(s, gateway=g, attempt_id=i)
    )
    refunded, failed_refunds = await _settle_each(
        resources, Refund, pending_refunds, lambda s, g, i: refunds.execute(s, gateway=g, refund_id=i)
    )
    settled = Settled(charges=charges, refunds=refunded, failures=failed_charges + failed_refunds)
    if settled:
        log.info("payments.reconciled", charges=settled.charges, refunds=settled.refunds, failures=settled.failures)
    return settled


Settle = Callable[[AsyncSession, PaymentGateway, uuid.UUID], Awaitable[object]]


async def _settle_each(
    resources: Resources, model: type[Payment] | type[Refund], ids: Sequence[uuid.UUID], settle: Settle
) -> tuple[int, int]:
    """Settle each intent in a transaction of its own; how many were settled, and how many failed."""
    settled = failed = 0
    for intent_id in ids:
        try:
            async with unit_of_work(resources.database) as session:
                intent: Payment | Refund | None = await session.get(model, intent_id)
                assert intent is not None
                gateway = get_gateway(resources.settings, resources.redis, intent.provider)
                await settle(session, gateway, intent_id)
            settled += 1
        except Exception as exc:
            # The provider failed again, or this intent cannot be settled here: it waits a while,
            # so that it does not hold up the others at the head of every run.
            failed += 1
            log.warning("payments.reconcile_failed", table=model.__tablename__, id=str(intent_id), error=str(exc))
            async with unit_of_work(resources.database) as session:
                await repository.postpone(session, model, intent_id, RETRY_AFTER)
    return settled, failed
