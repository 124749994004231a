"""Every query on the orders' tables."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Executable, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from shop.core.config_cache import generation_column
from shop.core.db import new_id
from shop.orders.models import ORDER_NUMBER_SEQUENCE, Cart, CartItem, Order, Payment, PaymentEvent, Refund
from shop.orders.schemas import OrderStatus, PaymentStatus, RefundStatus

_WITH_DETAILS = (selectinload(Order.lines), selectinload(Order.history))


async def now_and_generation(session: AsyncSession) -> tuple[datetime, int]:
    """The transaction's time and the pricing configuration's generation (core/config_cache.py), in one round trip."""
    row = (await session.execute(select(func.now(), generation_column()))).one()
    return row[0], int(row[1])


async def now_number_and_generation(session: AsyncSession) -> tuple[datetime, int, int]:
    """The transaction's time, a fresh order number and the configuration's generation, in one round trip."""
    row = (await session.execute(select(func.now(), ORDER_NUMBER_SEQUENCE.next_value(), generation_column()))).one()
    return row[0], int(row[1]), int(row[2])


async def clock(session: AsyncSession) -> datetime:
    """The time now, not when the transaction began: for a lease that starts after a lock wait."""
    value: datetime = await session.scalar(select(func.clock_timestamp()))  # type: ignore[assignment]
    return value


async def now(session: AsyncSession) -> datetime:
    """The transaction's time: every timestamp one change writes is the same instant."""
    value: datetime = await session.scalar(select(func.now()))  # type: ignore[assignment]
    return value


# -- carts -----------------------------------------------------------------------------------


async def cart_items(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
    """(variant id, quantity) of the user's cart, in the order they were added."""
    rows = await session.execute(
        select(CartItem.variant_id, CartItem.quantity)
        .join(Cart, Cart.id == CartItem.cart_id)
        .where(Cart.user_id == user_id)
        .order_by(CartItem.added_at, CartItem.variant_id)
    )
    return [(variant_id, quantity) for variant_id, quantity in rows]


async def lock_cart(session: AsyncSession, user_id: uuid.UUID, *, create: bool) -> Cart | None:
    """The user's cart, its row locked until the transaction ends (made first when `create`).

    Every change of a cart's lines takes this lock first, so a checkout that orders the cart
    and empties it never loses a line added meanwhile.
    """
    statement: Executable
    if create:
        statement = (
            insert(Cart)
            .values(id=new_id(), user_id=user_id)
            .on_conflict_do_update(index_elements=[Cart.user_id], set_={"updated_at": func.now()})
            .returning(Cart)
        )
    else:
        statement = select(Cart).where(Cart.user_id == user_id).with_for_update()
    cart: Cart | None = await session.scalar(statement, execution_options={"populate_existing": True})
    return cart


async def get_cart(session: AsyncSession, user_id: uuid.UUID) -> Cart | None:
    return await session.scalar(select(Cart).where(Cart.user_id == user_id).execution_options(populate_existing=True))


async def update_cart(session: AsyncSession, cart_id: uuid.UUID, **values: object) -> None:
    """Set the cart's pricing choices (shipping_address, shipping_method_id, coupon_code)."""
    await session.execute(update(Cart).where(Cart.id == cart_id).values(**values, updated_at=func.now()))


async def put_line(session: AsyncSession, cart_id: uuid.UUID, variant_id: uuid.UUID, quantity: int) -> None:
    """Set a line's quantity, adding the line at the end of the cart when it is new."""
    await session.execute(
        insert(CartItem)
        # The clock, not the transaction's start: lines are added under the cart's lock, so a line
        # added later always sorts later, even when its transaction began before another's.
        .values(cart_id=cart_id, variant_id=variant_id, quantity=quantity, added_at=func.clock_timestamp())
        .on_conflict_do_update(index_elements=[CartItem.cart_id, CartItem.variant_id], set_={"quantity": quantity})
    )


async def delete_lines(session: AsyncSession, cart_id: uuid.UUID, variant_id: uuid.UUID | None = None) -> None:
    """Remove one line, or every line when `variant_id` is None."""
    statement = delete(CartItem).where(CartItem.cart_id == cart_id)
    if variant_id is not None:
        statement = statement.where(CartItem.variant_id == variant_id)
    await session.execute(statement)


# -- orders ------------------------------------------------------------------------------------


async def has_live_order(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Has the user an order that is not cancelled (so the next is not their first)?"""
    found = await session.scalar(
        select(Order.id).where(Order.user_id == user_id, Order.status != OrderStatus.cancelled).limit(1)
    )
    return found is not None


async def get_order(
    session: AsyncSession, order_id: uuid.UUID, *, user_id: uuid.UUID | None = None, lock: bool = False
) -> Order | None:
    """One order with its lines and history; only `user_id`'s when given; row-locked when `lock`."""
    statement = select(Order).where(Order.id == order_id).options(*_WITH_DETAILS)
    if user_id is not None:
        statement = statement.where(Order.user_id == user_id)
    if lock:
        statement = statement.with_for_update(of=Order).execution_options(populate_existing=True)
    return await session.scalar(statement)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    user_id: uuid.UUID | None = None
    status: OrderStatus | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive


async def list_orders(
    session: AsyncSession, where: OrderFilter, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> Sequence[Order]:
    """Up to `limit + 1` orders, newest first (the extra one tells that another page follows)."""
    statement = (
        select(Order).options(*_WITH_DETAILS).order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1)
    )
    if where.user_id is not None:
        statement = statement.where(Order.user_id == where.user_id)
    if where.status is not None:
        statement = statement.where(Order.status == where.status)
    if where.created_from is not None:
        statement = statement.where(Order.created_at >= where.created_from)
    if where.created_to is not None:
        statement = statement.where(Order.created_at < where.created_to)
    if after is not None:
        statement = statement.where(tuple_(Order.created_at, Order.id) < tuple_(*after))
    return (await session.scalars(statement)).all()


async def lock_unpaid_before(session: AsyncSession, age: timedelta, limit: int) -> Sequence[Order]:
    """Unpaid orders older than `age`, locked; rows another transaction holds are skipped."""
    statement = (
        select(Order)
        .where(
            Order.status == OrderStatus.pending_payment,
            Order.created_at < func.now() - age,
            # An order being paid right now waits for its attempt's outcome (or reconciliation).
            ~select(Payment.id).where(Payment.order_id == Order.id, Payment.status == PaymentStatus.pending).exists(),
        )
        .order_by(Order.created_at)
        .limit(limit)
        .options(*_WITH_DETAILS)
        .with_for_update(of=Order, skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()


# -- payments ----------------------------------------------------------------------------------


async def record_payment_event(
    session: AsyncSession, provider: str, event_id: str, event_type: str, order_id: uuid.UUID | None
) -> bool:
    """Remember a webhook event; False when it was already handled (or is being handled now)."""
    recorded = await session.scalar(
        insert(PaymentEvent)
        .values(provider=provider, event_id=event_id, type=event_type, order_id=order_id)
        .on_conflict_do_nothing(index_elements=[PaymentEvent.provider, PaymentEvent.event_id])
        .returning(PaymentEvent.event_id)
    )
    return recorded is not None


async def captured_payment(session: AsyncSession, order_id: uuid.UUID) -> Payment | None:
    """The payment that paid the order (the one a refund of the order gives back).

    Not one that arrived for an order that could not take it: that is given back on its own.
    """
    given_back = select(Refund.id).where(Refund.payment_id == Payment.id, Refund.refunds_order.is_(False)).exists()
    statement = (
        select(Payment)
        .where(Payment.order_id == order_id, Payment.status == PaymentStatus.succeeded, ~given_back)
        .order_by(Payment.created_at.desc())
        .limit(1)
    )
    return await session.scalar(statement)


async def payment_by_reference(session: AsyncSession, order_id: uuid.UUID, reference: str) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.order_id == order_id, Payment.reference == reference))


async def lock_payment(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    statement = (
        select(Payment).where(Payment.id == payment_id).with_for_update().execution_options(populate_existing=True)
    )
    return await session.scalar(statement)


async def being_paid(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these orders have a charge attempt in flight, as of this statement."""
    statement = select(Payment.order_id).where(Payment.order_id.in_(order_ids), Payment.status == PaymentStatus.pending)
    return set(await session.scalars(statement))


async def postpone(
    session: AsyncSession, model: type[Payment] | type[Refund], intent_id: uuid.UUID, by: timedelta
) -> None:
    """Settle this intent later: its provider failed again (so it does not hold up the others)."""
    await session.execute(
        update(model)
        .where(model.id == intent_id, model.status == "pending")
        .values(settle_after=func.clock_timestamp() + by)
    )


async def open_attempt(session: AsyncSession, order_id: uuid.UUID) -> Payment | None:
    """The order's charge attempt whose outcome is not recorded yet (at most one: a unique index)."""
    return await session.scalar(
        select(Payment).where(Payment.order_id == order_id, Payment.status == PaymentStatus.pending)
    )


async def attempts_to_settle(session: AsyncSession, limit: int) -> Sequence[uuid.UUID]:
    """Pending charge attempts whose request has had its time: the reconciliation settles them."""
    statement = (
        select(Payment.id)
        .where(Payment.status == PaymentStatus.pending, Payment.settle_after <= func.now())
        .order_by(Payment.settle_after)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def refund_of_payment(session: AsyncSession, payment_id: uuid.UUID) -> Refund | None:
    return await session.scalar(select(Refund).where(Refund.payment_id == payment_id))


async def lock_refund(session: AsyncSession, refund_id: uuid.UUID) -> Refund | None:
    statement = select(Refund).where(Refund.id == refund_id).with_for_update().execution_options(populate_existing=True)
    return await session.scalar(statement)


async def refunds_to_settle(session: AsyncSession, limit: int) -> Sequence[uuid.UUID]:
    statement = (
        select(Refund.id)
        .where(Refund.status == RefundStatus.pending, Refund.settle_after <= func.now())
        .order_by(Refund.settle_after)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def refund_pending(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """Is a refund that moves this order to `refunded` still waiting for the provider?"""
    found = await session.scalar(
        select(Refund.id).where(
            Refund.order_id == order_id, Refund.status == RefundStatus.pending, Refund.refunds_order.is_(True)
        )
    )
    return found is not None
