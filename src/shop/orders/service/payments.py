"""Paying for an order, the provider's webhook, and giving a payment back.

A charge is made while the order's row is locked, so two concurrent pay requests for one order
cannot both charge: the second waits, then finds the order paid (409).
"""

import uuid

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.cache import Cache
from shop.core.config import Settings
from shop.core.errors import UnprocessableEntity
from shop.orders import repository, schemas
from shop.orders.errors import OrderNotFound, PaymentDeclined
from shop.orders.models import Order, Payment
from shop.orders.providers import Charge, PaymentProvider, get_provider, verify_signature
from shop.orders.schemas import Actor, OrderStatus, PaymentStatus
from shop.orders.service.lifecycle import apply_transition, check_transition
from shop.orders.service.present import present_order

log = structlog.get_logger()

PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"


class PaymentService:
    async def pay(
        self,
        session: AsyncSession,
        cache: Cache,
        provider: PaymentProvider,
        order_id: uuid.UUID,
        owner: uuid.UUID,
        token: str,
        actor: Actor,
    ) -> schemas.Order:
        """Charge the order's total; 402 when declined (the attempt is kept), 409 unless it awaits payment."""
        order = await repository.get_order(session, order_id, user_id=owner, lock=True)
        if order is None:
            raise OrderNotFound()
        check_transition(order, OrderStatus.paid)
        result = await provider.charge(Charge(order.id, order.number, order.total_amount, order.currency), token)
        session.add(
            _payment(
                order,
                provider.name,
                result.reference,
                PaymentStatus.succeeded if result.succeeded else PaymentStatus.declined,
                result.reason,
            )
        )
        if not result.succeeded:
            log.info("orders.payment_declined", order_id=str(order.id), reason=result.reason)
            raise PaymentDeclined(result.reason or "The payment was declined.")
        await apply_transition(session, cache, order, OrderStatus.paid, actor, await repository.now(session))
        return present_order(order)

    async def handle_webhook(
        self, session: AsyncSession, cache: Cache, settings: Settings, body: bytes, signature: str | None, now: float
    ) -> schemas.WebhookReceipt:
        """Apply a signed provider event once; a redelivered event id changes nothing."""
        verify_signature(settings.payment_webhook_secret, signature, body, now)
        try:
            event = schemas.WebhookEvent.model_validate_json(body)
        except ValidationError as exc:
            errors = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
            raise UnprocessableEntity("The event is not valid.", errors=errors) from None
        provider = settings.effective_payment_provider
        # Recorded in the transaction that applies the event: both commit, or neither does.
        if not await repository.record_payment_event(session, provider, event.id, event.type, event.data.order_id):
            return schemas.WebhookReceipt(duplicate=True)
        with structlog.contextvars.bound_contextvars(event_id=event.id, order_id=str(event.data.order_id)):
            if event.type == PAYMENT_SUCCEEDED:
                await self._succeeded(session, cache, provider, event.data)
            elif event.type == PAYMENT_FAILED:
                await self._failed(session, provider, event.data)
            else:
                log.info("orders.webhook_ignored", type=event.type)
        return schemas.WebhookReceipt()

    async def _succeeded(self, session: AsyncSession, cache: Cache, provider: str, data: schemas.WebhookData) -> None:
        order = await repository.get_order(session, data.order_id, lock=True)
        if order is None:
            log.warning("orders.webhook_unknown_order")
            return
        if (data.amount, data.currency) != (order.total_amount, order.currency):
            log.error("orders.webhook_amount_mismatch", amount=data.amount, currency=data.currency)
            return
        if order.status is OrderStatus.pending_payment:
            session.add(_payment(order, provider, data.reference, PaymentStatus.succeeded, None))
            await apply_transition(session, cache, order, OrderStatus.paid, Actor.system, await repository.now(session))
        elif await repository.payment_by_reference(session, order.id, data.reference) is None:
            await self._give_back(session, order, provider, data)
        # else: the provider confirms a payment already applied through the API.

    async def _give_back(self, session: AsyncSession, order: Order, provider: str, data: schemas.WebhookData) -> None:
        """Money arrived for an order that cannot take it (cancelled after the payment timeout,
        or paid twice): it is refunded at once, and the order is left as it is."""
        payment = _payment(order, provider, data.reference, PaymentStatus.succeeded, None)
        session.add(payment)
        # A provider failure here fails the webhook call, so the provider delivers it again.
        await get_provider(provider).refund(data.reference, data.amount, data.currency)
        payment.status = PaymentStatus.refunded
        log.warning("orders.webhook_payment_refunded", status=order.status.value, reference=data.reference)

    async def _failed(self, session: AsyncSession, provider: str, data: schemas.WebhookData) -> None:
        order = await repository.get_order(session, data.order_id)
        if order is None:
            log.warning("orders.webhook_unknown_order")
            return
        session.add(_payment(order, provider, data.reference, PaymentStatus.failed, "reported by the provider"))


async def refund_payment(session: AsyncSession, order: Order) -> None:
    """Give the order's payment back through the provider that took it."""
    payment = await repository.captured_payment(session, order.id)
    if payment is None or payment.reference is None:
        log.warning("orders.refund_without_payment", order_id=str(order.id))
        return
    await get_provider(payment.provider).refund(payment.reference, payment.amount, payment.currency)
    payment.status = PaymentStatus.refunded


def _payment(order: Order, provider: str, reference: str | None, status: PaymentStatus, reason: str | None) -> Payment:
    return Payment(
        order_id=order.id,
        provider=provider,
        reference=reference,
        amount=order.total_amount,
        currency=order.currency,
        status=status,
        failure_reason=reason,
    )


payments = PaymentService()
