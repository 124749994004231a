"""Giving a payment back, in the same three steps as a charge (see service/payments.py):

1. the refund is recorded `pending`, with its own idempotency key, and committed;
2. the provider is asked, with no transaction open;
3. the outcome is recorded in a second transaction: the payment becomes `refunded` and, for a
   refund of the order, the order becomes `refunded` (its stock back, the email sent).

A payment has one refund at most (a unique key), so asking twice, concurrently or after a
failure, asks the provider again with the same key, and a provider refunds a key once. A refund
whose call failed, or whose process died, stays `pending` until the next request for it or the
reconciliation asks again; the order stays `paid` meanwhile and cannot ship.
"""

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.db import after_commit, commit_intent, new_id, unit_of_work_beside
from shop.orders import repository
from shop.orders.errors import PaymentProviderError
from shop.orders.models import Order, Payment, Refund
from shop.orders.providers import PaymentGateway, RefundRequest
from shop.orders.schemas import Actor, OrderStatus, PaymentStatus, RefundStatus
from shop.orders.service.lifecycle import apply_transition

log = structlog.get_logger()


async def refund_order(session: AsyncSession, *, gateway: PaymentGateway, order: Order, actor: Actor) -> Order:
    """Give a paid order's payment back and move it to `refunded` (the order locked, its move checked)."""
    payment = await repository.captured_payment(session, order.id)
    if payment is None or payment.reference is None:
        log.warning("orders.refund_without_payment", order_id=str(order.id))
        await apply_transition(
            session, order=order, target=OrderStatus.refunded, actor=actor, now=await repository.now(session)
        )
        return order
    refund = await _intent(session, gateway, order, payment, refunds_order=True, actor=actor)
    await commit_intent(session)
    await execute(session, gateway=gateway, refund_id=refund.id)
    return order  # reloaded under its lock by the outcome's transaction


async def give_back(session: AsyncSession, *, gateway: PaymentGateway, order: Order, payment: Payment) -> None:
    """Money arrived for an order that cannot take it: refund it once this transaction has
    committed (the reconciliation retries should that fail); the order is left as it is."""
    refund = await _intent(session, gateway, order, payment, refunds_order=False, actor=Actor.system)
    refund_id = refund.id

    async def refund_after_commit() -> None:
        try:
            async with unit_of_work_beside(session) as own:
                await execute(own, gateway=gateway, refund_id=refund_id)
        except PaymentProviderError:
            pass  # noted on the refund by `execute`; the reconciliation asks again

    after_commit(session, refund_after_commit)


async def execute(session: AsyncSession, *, gateway: PaymentGateway, refund_id: uuid.UUID) -> None:
    """Ask the provider for a committed refund and record the outcome in `session`'s transaction."""
    refund = await session.get(Refund, refund_id)
    payment = await session.get(Payment, refund.payment_id) if refund is not None else None
    assert refund is not None and payment is not None and payment.reference is not None
    if refund.status is RefundStatus.succeeded:
        return
    request = RefundRequest(payment.reference, refund.amount, refund.currency)
    key, gateway = refund.idempotency_key, gateway.of(refund.provider)
    await commit_intent(session)  # nothing stays open while the provider is asked
    try:
        reference = await gateway.refund(request, idempotency_key=key)
    except PaymentProviderError as exc:
        await _note_failure(session, refund, str(exc))
        raise
    await _record(session, refund, reference)


async def _intent(
    session: AsyncSession, gateway: PaymentGateway, order: Order, payment: Payment, *, refunds_order: bool, actor: Actor
) -> Refund:
    """The payment's refund: the one asked for before (still pending, or done), or a new one."""
    existing = await repository.refund_of_payment(session, payment.id)
    if existing is not None:
        return existing
    refund_id = new_id()
    refund = Refund(
        id=refund_id,
        payment_id=payment.id,
        order_id=order.id,
        provider=payment.provider,
        amount=payment.amount,
        currency=payment.currency,
        status=RefundStatus.pending,
        refunds_order=refunds_order,
        actor_role=actor,
        idempotency_key=f"shop-refund-{refund_id}",
        settle_after=await repository.clock(session) + gateway.lease,
    )
    session.add(refund)
    await session.flush()
    return refund


async def _note_failure(session: AsyncSession, refund: Refund, error: str) -> None:
    """Keep why the call failed, and let the reconciliation ask again at its next run."""
    try:
        locked = await repository.lock_refund(session, refund.id)
        if locked is not None and locked.status is RefundStatus.pending:
            locked.last_error = error[:200]
            locked.settle_after = await repository.now(session)
        await commit_intent(session)
    except Exception as exc:
        log.warning("payments.refund_note_failed", refund_id=str(refund.id), error=type(exc).__name__)
    log.warning("payments.refund_failed", refund_id=str(refund.id), order_id=str(refund.order_id), error=error)


async def _record(session: AsyncSession, refund: Refund, reference: str) -> None:
    order = await repository.get_order(session, refund.order_id, lock=True)
    locked = await repository.lock_refund(session, refund.id)
    assert order is not None and locked is not None
    if locked.status is RefundStatus.succeeded:
        return  # recorded by a concurrent request or the reconciliation
    locked.status, locked.reference, locked.last_error = RefundStatus.succeeded, reference, None
    payment = await session.get(Payment, locked.payment_id)
    assert payment is not None
    payment.status = PaymentStatus.refunded
    if locked.refunds_order and order.status is OrderStatus.paid:
        now = await repository.now(session)
        await apply_transition(session, order=order, target=OrderStatus.refunded, actor=locked.actor_role, now=now)
    log.info("payments.refunded", refund_id=str(locked.id), order_id=str(order.id), reference=reference)
