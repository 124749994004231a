"""Reading orders, and the moves customers, staff and the expiry job make them take."""

import math
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.schemas import Page, decode_cursor, encode_cursor, invalid_cursor
from shop.orders import repository, schemas
from shop.orders.errors import InvalidTransition, OrderNotFound, PaymentInProgress
from shop.orders.models import Order
from shop.orders.providers import PaymentGateway
from shop.orders.repository import OrderFilter
from shop.orders.schemas import Actor, OrderStatus
from shop.orders.service.lifecycle import apply_transition, check_transition, give_back_uses, stock_to_return
from shop.orders.service.payments import lease_left
from shop.orders.service.present import present_order
from shop.orders.service.refunds import refund_order
from shop.products.schemas import StockChange
from shop.products.service import catalog


class OrderService:
    # -- reads -------------------------------------------------------------------------------

    async def get(self, session: AsyncSession, *, order_id: uuid.UUID, owner: uuid.UUID | None) -> schemas.Order:
        """One order; with `owner`, only that customer's (another's is 404 like a missing one)."""
        order = await repository.get_order(session, order_id, user_id=owner)
        if order is None:
            raise OrderNotFound()
        return present_order(order)

    async def page(
        self, session: AsyncSession, *, where: OrderFilter, limit: int, cursor: str | None
    ) -> Page[schemas.Order]:
        """Newest first, keyset-paginated on (created_at, id)."""
        after = _decode(cursor) if cursor else None
        rows = await repository.list_orders(session, where, limit, after)
        orders = rows[:limit]
        more = len(rows) > limit
        next_cursor = encode_cursor({"c": orders[-1].created_at.isoformat(), "i": str(orders[-1].id)}) if more else None
        return Page(items=[present_order(order) for order in orders], next_cursor=next_cursor)

    # -- moves ---------------------------------------------------------------------------------

    async def cancel(
        self,
        session: AsyncSession,
        *,
        gateway: PaymentGateway,
        order_id: uuid.UUID,
        actor: Actor,
        owner: uuid.UUID | None,
    ) -> schemas.Order:
        """Cancel an unpaid order; a paid one that has not shipped is refunded instead."""
        order = await self._locked(session, order_id, owner)
        if order.status is OrderStatus.paid:
            return await self._refund(session, gateway, order, actor)
        check_transition(order, OrderStatus.cancelled)
        attempt = await repository.open_attempt(session, order.id)
        if attempt is not None:
            # Its money may be on the way: the order waits for the outcome.
            raise PaymentInProgress(math.ceil(await lease_left(session, attempt=attempt)))
        await apply_transition(
            session, order=order, target=OrderStatus.cancelled, actor=actor, now=await repository.now(session)
        )
        return present_order(order)

    async def refund(
        self, session: AsyncSession, *, gateway: PaymentGateway, order_id: uuid.UUID, actor: Actor
    ) -> schemas.Order:
        return await self._refund(session, gateway, await self._locked(session, order_id, None), actor)

    async def ship(
        self, session: AsyncSession, *, order_id: uuid.UUID, shipment: schemas.Shipment, actor: Actor
    ) -> schemas.Order:
        order = await self._locked(session, order_id, None)
        check_transition(order, OrderStatus.shipped)
        if await repository.refund_pending(session, order.id):
            raise InvalidTransition("A refund of this order is in progress; it cannot ship.")
        order.carrier = shipment.carrier
        order.tracking_number = shipment.tracking_number
        await apply_transition(
            session, order=order, target=OrderStatus.shipped, actor=actor, now=await repository.now(session)
        )
        return present_order(order)

    async def deliver(self, session: AsyncSession, *, order_id: uuid.UUID, actor: Actor) -> schemas.Order:
        order = await self._locked(session, order_id, None)
        await apply_transition(
            session, order=order, target=OrderStatus.delivered, actor=actor, now=await repository.now(session)
        )
        return present_order(order)

    async def expire_unpaid(self, session: AsyncSession, *, older_than: timedelta, batch: int) -> int:
        """Cancel up to `batch` orders left unpaid longer than `older_than`; how many were cancelled.

        Orders another transaction holds (being paid right now) are skipped, not waited for. The
        stock of the whole batch goes back in one pass, in variant order, as checkouts take it.
        """
        locked = await repository.lock_unpaid_before(session, older_than, batch)
        # Asked again now that the rows are locked: an attempt committed after the statement above
        # took its snapshot is seen by a new one, and its order is left for its outcome.
        being_paid = await repository.being_paid(session, [order.id for order in locked]) if locked else set()
        unpaid = [order for order in locked if order.id not in being_paid]
        if not unpaid:
            return 0
        now = await repository.now(session)
        returned: list[StockChange] = []
        for order in unpaid:
            await apply_transition(
                session, order=order, target=OrderStatus.cancelled, actor=Actor.system, now=now, return_stock=False
            )
            returned.extend(stock_to_return(order, OrderStatus.cancelled))
        await catalog.release_stock(session, changes=returned)
        await give_back_uses(session, unpaid)
        return len(unpaid)

    async def _refund(
        self, session: AsyncSession, gateway: PaymentGateway, order: Order, actor: Actor
    ) -> schemas.Order:
        check_transition(order, OrderStatus.refunded)
        return present_order(await refund_order(session, gateway=gateway, order=order, actor=actor))

    async def _locked(self, session: AsyncSession, order_id: uuid.UUID, owner: uuid.UUID | None) -> Order:
        order = await repository.get_order(session, order_id, user_id=owner, lock=True)
        if order is None:
            raise OrderNotFound()
        return order


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    values = decode_cursor(cursor, {"c", "i"})
    try:
        created_at, order_id = datetime.fromisoformat(str(values["c"])), uuid.UUID(str(values["i"]))
        if created_at.tzinfo is None:
            raise ValueError
        # In UTC, as the database compares it; a forged time beyond year 9999 (or before 1) is refused.
        return created_at.astimezone(UTC), order_id
    except (ValueError, OverflowError):
        raise invalid_cursor() from None


orders = OrderService()
