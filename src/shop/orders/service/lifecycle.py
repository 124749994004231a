"""The order status machine: one table of allowed moves and one function that makes a move.

    pending_payment ──pay / webhook──▶ paid ──ship──▶ shipped ──deliver──▶ delivered
          │                              │
          └──cancel / expiry──▶ cancelled └──refund (or a customer's cancel)──▶ refunded

Anything else is 409 `invalid_transition`. Every move writes its timestamp, a history row with
who made it, and an outbox event; cancel and refund give the reserved stock back. A cancel (an
unpaid order: by the customer, staff or the expiry) also gives back the promotion uses the order
took, once, as the move itself happens once; a refund keeps them (the order was paid).
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shop import events
from shop.orders.errors import InvalidTransition
from shop.orders.metrics import count_after_commit, revenue
from shop.orders.models import Order, OrderStatusChange
from shop.orders.schemas import Actor, OrderStatus
from shop.orders.service.present import notice
from shop.orders.service.prices import claims_of
from shop.products.schemas import StockChange
from shop.products.service import catalog
from shop.promotions.service import redemptions

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.pending_payment: frozenset({OrderStatus.paid, OrderStatus.cancelled}),
    OrderStatus.paid: frozenset({OrderStatus.shipped, OrderStatus.refunded}),
    OrderStatus.shipped: frozenset({OrderStatus.delivered}),
    OrderStatus.delivered: frozenset(),
    OrderStatus.cancelled: frozenset(),
    OrderStatus.refunded: frozenset(),
}

_TIMESTAMP = {
    OrderStatus.paid: "paid_at",
    OrderStatus.shipped: "shipped_at",
    OrderStatus.delivered: "delivered_at",
    OrderStatus.cancelled: "cancelled_at",
    OrderStatus.refunded: "refunded_at",
}
_EVENT = {
    OrderStatus.paid: events.ORDER_PAID,
    OrderStatus.shipped: events.ORDER_SHIPPED,
    OrderStatus.delivered: events.ORDER_DELIVERED,
    OrderStatus.cancelled: events.ORDER_CANCELLED,
    OrderStatus.refunded: events.ORDER_REFUNDED,
}
RETURNS_STOCK = frozenset({OrderStatus.cancelled, OrderStatus.refunded})


def check_transition(order: Order, target: OrderStatus) -> None:
    if target not in TRANSITIONS[order.status]:
        raise InvalidTransition(f"An order that is {order.status.value} cannot become {target.value}.")


def stock_to_return(order: Order, target: OrderStatus) -> list[StockChange]:
    """The units a move to `target` gives back to the catalog (none unless cancel or refund)."""
    if target not in RETURNS_STOCK:
        return []
    reason = f"order {order.number} {target.value}"
    return [
        StockChange(variant_id=line.variant_id, quantity=line.quantity, reason=reason, actor_id=order.id)
        for line in order.lines
    ]


async def give_back_uses(session: AsyncSession, orders: Sequence[Order]) -> None:
    """Give back the promotion uses these cancelled orders took at checkout."""
    claims = [(claim, order.user_id) for order in orders for claim in claims_of(order.promotions)]
    if claims:
        await redemptions.give_back(session, claims=claims)


async def apply_transition(
    session: AsyncSession,
    *,
    order: Order,
    target: OrderStatus,
    actor: Actor,
    now: datetime,
    return_stock: bool = True,
) -> None:
    """Move a locked order (lines and history loaded) to `target`, or raise 409.

    `return_stock=False` leaves the stock and the promotion uses to the caller, which gives back a
    whole batch at once (in one variant order: see `CatalogService.release_stock`, then
    `give_back_uses`: stock locks before promotion locks, as the checkout takes them).
    """
    check_transition(order, target)
    order.status = target
    setattr(order, _TIMESTAMP[target], now)
    order.updated_at = now
    change = OrderStatusChange(order_id=order.id, status=target, actor_role=actor, at=now)
    session.add(change)
    order.history.append(change)
    if return_stock and target in RETURNS_STOCK:
        await catalog.release_stock(session, changes=stock_to_return(order, target))
        if target is OrderStatus.cancelled:
            await give_back_uses(session, [order])
    if target is OrderStatus.paid:
        count_after_commit(session, revenue, order.currency, order.total_amount)
    events.publish(session, _EVENT[target], notice(order))
