"""Staff order routes under `/admin/orders`: every order, shipping, delivery, refunds, cancels."""

import uuid
from typing import Annotated

from fastapi import Depends, Query

from shop.core.deps import SessionDep
from shop.core.errors import NotFound, error_responses
from shop.core.routing import shop_router
from shop.core.schemas import Cursor, Page, PageSize, Rfc3339Datetime
from shop.orders import schemas
from shop.orders.dependencies import ActorDep, IdempotencyKey, PaymentGatewayDep
from shop.orders.errors import InvalidTransition, PaymentInProgress, PaymentProviderError
from shop.orders.repository import OrderFilter
from shop.orders.router import IDEMPOTENCY_ERRORS
from shop.orders.service import orders
from shop.users.dependencies import STAFF_ERRORS, require_staff

router = shop_router(
    prefix="/admin/orders",
    tags=["admin: orders"],
    dependencies=[Depends(require_staff)],
    responses=error_responses(*STAFF_ERRORS),
)
MOVE_ERRORS = (NotFound, InvalidTransition, *IDEMPOTENCY_ERRORS)


@router.get("", operation_id="adminListOrders")
async def list_orders(
    session: SessionDep,
    limit: PageSize = 20,
    cursor: Cursor = None,
    status: schemas.OrderStatus | None = None,
    user_id: uuid.UUID | None = None,
    created_from: Annotated[Rfc3339Datetime | None, Query(description="RFC 3339; inclusive.")] = None,
    created_to: Annotated[Rfc3339Datetime | None, Query(description="RFC 3339; exclusive.")] = None,
) -> Page[schemas.Order]:
    """Every order, newest first, filtered by status, customer and creation time."""
    where = OrderFilter(user_id=user_id, status=status, created_from=created_from, created_to=created_to)
    return await orders.page(session, where=where, limit=limit, cursor=cursor)


@router.get("/{order_id}", operation_id="adminGetOrder", responses=error_responses(NotFound))
async def get_order(order_id: uuid.UUID, session: SessionDep) -> schemas.Order:
    """Any order."""
    return await orders.get(session, order_id=order_id, owner=None)


@router.post("/{order_id}/ship", dependencies=[IdempotencyKey], responses=error_responses(*MOVE_ERRORS))
async def ship_order(
    order_id: uuid.UUID, body: schemas.Shipment, actor: ActorDep, session: SessionDep
) -> schemas.Order:
    """Mark a paid order shipped, with its tracking; the customer is emailed the tracking number."""
    return await orders.ship(session, order_id=order_id, shipment=body, actor=actor)


@router.post("/{order_id}/deliver", dependencies=[IdempotencyKey], responses=error_responses(*MOVE_ERRORS))
async def deliver_order(order_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> schemas.Order:
    """Mark a shipped order delivered."""
    return await orders.deliver(session, order_id=order_id, actor=actor)


@router.post(
    "/{order_id}/refund",
    dependencies=[IdempotencyKey],
    responses=error_responses(*MOVE_ERRORS, PaymentProviderError),
)
async def refund_order(
    order_id: uuid.UUID, actor: ActorDep, gateway: PaymentGatewayDep, session: SessionDep
) -> schemas.Order:
    """Refund a paid order that has not shipped; its stock goes back."""
    return await orders.refund(session, gateway=gateway, order_id=order_id, actor=actor)


@router.post(
    "/{order_id}/cancel",
    operation_id="adminCancelOrder",
    dependencies=[IdempotencyKey],
    responses=error_responses(*MOVE_ERRORS, PaymentInProgress, PaymentProviderError),
)
async def cancel_order(
    order_id: uuid.UUID, actor: ActorDep, gateway: PaymentGatewayDep, session: SessionDep
) -> schemas.Order:
    """Cancel an order awaiting payment (a paid one that has not shipped is refunded); its stock goes back."""
    return await orders.cancel(session, gateway=gateway, order_id=order_id, actor=actor, owner=None)
