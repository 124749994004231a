"""Paying for an order, and the provider's webhook.

Money never moves inside a transaction that can still fail (ARCHITECTURE.md, "Transactions"):

1. the attempt is recorded as a `pending` payment, with the idempotency key the provider will
   get, and committed; the order's row is locked for that short transaction only;
2. the provider is called, with no transaction open;
3. the outcome is recorded in a second transaction: the order becomes `paid`, or the decline
   is kept.

A crash, a failed commit or a lost answer between 2 and 3 leaves the attempt `pending`. Once
its lease is over (three times the provider timeout, so no call for it is still waiting), the next
pay request for the order, or the reconciliation (`payments.reconcile`), asks the provider what
became of that key and records it: a charge that went through pays the order (or is refunded,
when the order can no longer take it: 409), one the provider never got is `failed`; a call the
provider refused for certain fails the attempt at once. While an attempt
is in flight a second pay is 409 `payment_in_progress`, and neither a cancel nor the expiry
touches the order.
"""

import math
import uuid

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.config import Settings
from shop.core.db import commit_intent, new_id, violated_constraint
from shop.core.errors import UnprocessableEntity
from shop.orders import repository, schemas
from shop.orders.errors import (
    ChargeGivenBack,
    OrderNotFound,
    PaymentDeclined,
    PaymentInProgress,
    PaymentProviderError,
)
from shop.orders.models import Order, Payment
from shop.orders.providers import (
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    Charge,
    ChargeResult,
    PaymentGateway,
    verify_signature,
)
from shop.orders.schemas import Actor, OrderStatus, PaymentStatus
from shop.orders.service.lifecycle import apply_transition, check_transition
from shop.orders.service.present import present_order
from shop.orders.service.refunds import give_back

log = structlog.get_logger()

NEVER_ARRIVED = "The charge never reached the payment provider."
ONE_PENDING_PER_ORDER = "uq_payment_order_id_pending"


class PaymentService:
    async def pay(
        self,
        session: AsyncSession,
        *,
        gateway: PaymentGateway,
        order_id: uuid.UUID,
        owner: uuid.UUID,
        token: str,
        actor: Actor,
    ) -> schemas.Order:
        """Charge the order's total; 402 when declined (the attempt is kept), 409 unless it awaits payment."""
        settled = await self._settle_earlier_attempt(session, gateway, order_id, owner)
        if settled is not None:
            await commit_intent(session)  # the earlier attempt's outcome stands, whatever follows
            if settled.status is OrderStatus.paid:
                return present_order(settled)  # the earlier attempt went through
        attempt, charge = await self._begin(session, gateway, order_id, owner)
        await commit_intent(session)
        try:
            result = await gateway.charge(charge, token, idempotency_key=_key(attempt))
        except PaymentProviderError as exc:
            if exc.nothing_done:
                await self._refused(session, attempt.id, exc.detail)
            raise  # else the money may have moved: the attempt is settled once its lease is over
        order = await self.record(session, gateway=gateway, attempt_id=attempt.id, result=result, actor=actor)
        if order.status is OrderStatus.paid:
            return present_order(order)  # by this charge, or by another one the provider reported
        if result.succeeded:
            raise ChargeGivenBack()
        log.info("orders.payment_declined", order_id=str(order_id), reason=result.reason)
        raise PaymentDeclined(result.reason or "The payment was declined.")

    async def settle(self, session: AsyncSession, *, gateway: PaymentGateway, attempt_id: uuid.UUID) -> Order:
        """Ask the provider what became of an attempt whose lease is over, and record it."""
        attempt = await session.get(Payment, attempt_id)
        assert attempt is not None
        key, gateway = _key(attempt), gateway.of(attempt.provider)
        await commit_intent(session)  # nothing stays open while the provider is asked
        result = await gateway.find_charge(key)
        log.info("payments.attempt_settled", payment_id=str(attempt_id), found=result is not None)
        return await self.record(session, gateway=gateway, attempt_id=attempt_id, result=result, actor=Actor.system)

    async def record(
        self,
        session: AsyncSession,
        *,
        gateway: PaymentGateway,
        attempt_id: uuid.UUID,
        result: ChargeResult | None,
        actor: Actor,
    ) -> Order:
        """Record a charge attempt's outcome (None: the provider never got it); the order, locked."""
        attempt = await session.get(Payment, attempt_id)
        assert attempt is not None
        order = await repository.get_order(session, attempt.order_id, lock=True)
        assert order is not None  # orders are never deleted
        attempt = await repository.lock_payment(session, attempt_id)
        assert attempt is not None
        if attempt.status is not PaymentStatus.pending:
            # Recorded meanwhile (the webhook reported a charge as this attempt's). A charge of
            # ours recorded nowhere is a payment of its own.
            reference = result.reference if result is not None and result.succeeded else None
            if (
                reference
                and reference != attempt.reference
                and not await repository.payment_by_reference(session, order.id, reference)
            ):
                payment = _payment(order, attempt.provider, reference, PaymentStatus.succeeded, None)
                session.add(payment)
                await self._apply(session, gateway, order, payment, actor)
            return order
        attempt.settle_after = None
        if result is None:
            attempt.status, attempt.failure_reason = PaymentStatus.failed, NEVER_ARRIVED
        elif not result.succeeded:
            attempt.status, attempt.failure_reason = PaymentStatus.declined, result.reason
        else:
            attempt.status, attempt.reference = PaymentStatus.succeeded, result.reference
            await self._apply(session, gateway, order, attempt, actor)
        return order

    async def _apply(
        self, session: AsyncSession, gateway: PaymentGateway, order: Order, payment: Payment, actor: Actor
    ) -> None:
        """A charge that went through pays the order, or goes back when the order cannot take it."""
        if order.status is OrderStatus.pending_payment:
            await apply_transition(
                session, order=order, target=OrderStatus.paid, actor=actor, now=await repository.now(session)
            )
        else:
            await give_back(session, gateway=gateway, order=order, payment=payment)

    async def _settle_earlier_attempt(
        self, session: AsyncSession, gateway: PaymentGateway, order_id: uuid.UUID, owner: uuid.UUID
    ) -> Order | None:
        order = await repository.get_order(session, order_id, user_id=owner)
        attempt = await repository.open_attempt(session, order_id) if order is not None else None
        if attempt is None:
            return None
        remaining = await lease_left(session, attempt=attempt)
        if remaining > 0:
            raise PaymentInProgress(math.ceil(remaining))
        return await self.settle(session, gateway=gateway, attempt_id=attempt.id)

    async def _begin(
        self, session: AsyncSession, gateway: PaymentGateway, order_id: uuid.UUID, owner: uuid.UUID
    ) -> tuple[Payment, Charge]:
        """The attempt, recorded in the caller's transaction, and what to charge."""
        order = await repository.get_order(session, order_id, user_id=owner, lock=True)
        if order is None:
            raise OrderNotFound()
        check_transition(order, OrderStatus.paid)
        attempt = _payment(order, gateway.name, None, PaymentStatus.pending, None)
        attempt.idempotency_key = f"shop-charge-{attempt.id}"
        # From now, not from the transaction's start: the wait for the order's lock is behind us.
        attempt.settle_after = await repository.clock(session) + gateway.lease
        session.add(attempt)
        try:
            await session.flush()
        except IntegrityError as exc:
            # Another attempt began between our read and this insert: it holds the order now.
            if violated_constraint(exc) != ONE_PENDING_PER_ORDER:
                raise
            raise PaymentInProgress(math.ceil(gateway.lease.total_seconds())) from None
        return attempt, Charge(order.id, order.number, order.total_amount, order.currency)

    async def _refused(self, session: AsyncSession, attempt_id: uuid.UUID, reason: str) -> None:
        """The provider said for certain it charged nothing: the attempt failed, and the next may begin."""
        try:
            attempt = await repository.lock_payment(session, attempt_id)
            if attempt is not None and attempt.status is PaymentStatus.pending:
                attempt.status, attempt.failure_reason, attempt.settle_after = PaymentStatus.failed, reason[:200], None
            await commit_intent(session)
        except Exception as exc:
            # The attempt's lease still ends on its own, and the provider is asked then.
            log.warning("payments.refusal_not_recorded", payment_id=str(attempt_id), error=type(exc).__name__)

    async def handle_webhook(
        self,
        session: AsyncSession,
        *,
        gateway: PaymentGateway,
        settings: Settings,
        body: bytes,
        signature: str | None,
        now: float,
    ) -> schemas.WebhookReceipt:
        """Apply a signed provider event once; a redelivered event id changes nothing."""
        verify_signature(settings.payment_webhook_secret, signature, body, now)
        try:
            event = schemas.WebhookEvent.model_validate_json(body)
        except ValidationError as exc:
            errors = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
            raise UnprocessableEntity("The event is not valid.", errors=errors) from None
        provider = gateway.name
        # Recorded in the transaction that applies the event: both commit, or neither does.
        if not await repository.record_payment_event(session, provider, event.id, event.type, event.data.order_id):
            return schemas.WebhookReceipt(duplicate=True)
        with structlog.contextvars.bound_contextvars(event_id=event.id, order_id=str(event.data.order_id)):
            if event.type == PAYMENT_SUCCEEDED:
                await self._succeeded(session, gateway, event.data)
            elif event.type == PAYMENT_FAILED:
                await self._failed(session, provider, event.data)
            else:
                log.info("orders.webhook_ignored", type=event.type)
        return schemas.WebhookReceipt()

    async def _succeeded(self, session: AsyncSession, gateway: PaymentGateway, data: schemas.WebhookData) -> None:
        provider = gateway.name
        order = await repository.get_order(session, data.order_id, lock=True)
        if order is None:
            log.warning("orders.webhook_unknown_order")
            return
        if (data.amount, data.currency) != (order.total_amount, order.currency):
            log.error("orders.webhook_amount_mismatch", amount=data.amount, currency=data.currency)
            return
        if order.status is OrderStatus.pending_payment:
            # The charge of an attempt still in flight, most likely: it is recorded as that
            # attempt's outcome. Were it another charge, the attempt's own outcome, when it comes,
            # finds a different reference and gives its money back.
            attempt = await repository.open_attempt(session, order.id)
            if attempt is None:
                session.add(_payment(order, provider, data.reference, PaymentStatus.succeeded, None))
            else:
                attempt.status, attempt.reference, attempt.settle_after = PaymentStatus.succeeded, data.reference, None
            await apply_transition(
                session, order=order, target=OrderStatus.paid, actor=Actor.system, now=await repository.now(session)
            )
        elif await repository.payment_by_reference(session, order.id, data.reference) is None:
            # Money for an order that cannot take it (cancelled after the payment timeout, or
            # paid twice): it goes back once this transaction has committed; the order stays.
            payment = _payment(order, provider, data.reference, PaymentStatus.succeeded, None)
            session.add(payment)
            await give_back(session, gateway=gateway, order=order, payment=payment)
            log.warning("orders.webhook_payment_refunded", status=order.status.value, reference=data.reference)
        # else: the provider confirms a payment already recorded.

    async def _failed(self, session: AsyncSession, provider: str, data: schemas.WebhookData) -> None:
        order = await repository.get_order(session, data.order_id)
        if order is None:
            log.warning("orders.webhook_unknown_order")
            return
        session.add(_payment(order, provider, data.reference, PaymentStatus.failed, "reported by the provider"))


async def lease_left(session: AsyncSession, *, attempt: Payment) -> float:
    """Seconds until an attempt may be settled by someone else than the request that made it."""
    if attempt.settle_after is None:
        return 0.0
    return (attempt.settle_after - await repository.now(session)).total_seconds()


def _key(attempt: Payment) -> str:
    assert attempt.idempotency_key is not None  # every attempt made through the API has one
    return attempt.idempotency_key


def _payment(order: Order, provider: str, reference: str | None, status: PaymentStatus, reason: str | None) -> Payment:
    return Payment(
        id=new_id(),
        order_id=order.id,
        provider=provider,
        reference=reference,
        amount=order.total_amount,
        currency=order.currency,
        status=status,
        failure_reason=reason,
    )


payments = PaymentService()
