"""Customer routes: the cart, checkout, the caller's orders, paying and cancelling; and the
payment provider's webhook (API.md, "Cart" and "Orders")."""

import time
import uuid
from typing import Annotated

from fastapi import Header, Request, Response

from shop.core.deps import SessionDep, SettingsDep
from shop.core.errors import NotFound, PayloadTooLarge, RateLimited, error_responses
from shop.core.idempotency import IdempotencyInProgress, IdempotencyKeyReused, InvalidIdempotencyKey
from shop.core.openapi import raw_json_body
from shop.core.routing import shop_router
from shop.core.schemas import Cursor, Page, PageSize
from shop.orders import schemas
from shop.orders.dependencies import (
    ActorDep,
    BuyerDep,
    CheckoutLimit,
    IdempotencyKey,
    PaymentGatewayDep,
    ShopperDep,
)
from shop.orders.errors import (
    CouponRefused,
    EmptyOrder,
    InsufficientStock,
    InvalidSignature,
    InvalidTransition,
    PaymentDeclined,
    PaymentInProgress,
    PaymentProviderError,
    ShippingMethodUnavailable,
    ShippingUnavailable,
    VariantUnavailable,
)
from shop.orders.providers import MAX_SIGNATURE_HEADER_LENGTH
from shop.orders.repository import OrderFilter
from shop.orders.service import cart, checkout, orders, payments
from shop.users.dependencies import AUTH_ERRORS, CurrentUser

IDEMPOTENCY_ERRORS = (InvalidIdempotencyKey, IdempotencyKeyReused, IdempotencyInProgress)

cart_router = shop_router(prefix="/cart", tags=["cart"], responses=error_responses(*AUTH_ERRORS))
orders_router = shop_router(prefix="/orders", tags=["orders"], responses=error_responses(*AUTH_ERRORS))
payments_router = shop_router(prefix="/payments", tags=["payments"])


# -- cart --------------------------------------------------------------------------------------


@cart_router.get("")
async def get_cart(shopper: ShopperDep, session: SessionDep, settings: SettingsDep) -> schemas.Cart:
    """The caller's cart, each line with its current price and availability, and its price breakdown."""
    return await cart.view(session, settings=settings, shopper=shopper)


@cart_router.put("/items/{variant_id}", responses=error_responses(VariantUnavailable))
async def put_cart_item(
    variant_id: uuid.UUID, body: schemas.CartItemUpdate, shopper: ShopperDep, session: SessionDep, settings: SettingsDep
) -> schemas.Cart:
    """Set the quantity (1..99) of a variant in the cart."""
    return await cart.set_quantity(
        session, settings=settings, shopper=shopper, variant_id=variant_id, quantity=body.quantity
    )


@cart_router.delete("/items/{variant_id}")
async def delete_cart_item(
    variant_id: uuid.UUID, shopper: ShopperDep, session: SessionDep, settings: SettingsDep
) -> schemas.Cart:
    """Remove a variant from the cart (a variant not in it leaves the cart unchanged)."""
    return await cart.remove(session, settings=settings, shopper=shopper, variant_id=variant_id)


@cart_router.delete("", status_code=204, response_class=Response)
async def clear_cart(user: CurrentUser, session: SessionDep) -> None:
    """Empty the cart."""
    await cart.clear(session, user_id=user.id)


@cart_router.put("/shipping-address", responses=error_responses(ShippingUnavailable))
async def put_cart_shipping_address(
    body: schemas.ShippingAddressUpdate, shopper: ShopperDep, session: SessionDep, settings: SettingsDep
) -> schemas.Cart:
    """Where the cart goes: it decides the shipping methods offered and the tax. A country the shop does
    not ship to is refused; the chosen method is kept only if it is still offered there."""
    return await cart.set_address(session, settings=settings, shopper=shopper, address=body.shipping_address)


@cart_router.put("/shipping-method", responses=error_responses(ShippingMethodUnavailable))
async def put_cart_shipping_method(
    body: schemas.ShippingMethodChoice, shopper: ShopperDep, session: SessionDep, settings: SettingsDep
) -> schemas.Cart:
    """Choose one of the `shipping_methods` offered at the cart's address."""
    return await cart.set_method(session, settings=settings, shopper=shopper, method_id=body.shipping_method_id)


@cart_router.put("/coupon", responses=error_responses(CouponRefused))
async def put_cart_coupon(
    body: schemas.CouponUpdate, shopper: ShopperDep, session: SessionDep, settings: SettingsDep
) -> schemas.Cart:
    """Enter a coupon code (any case). A code that does not apply now is refused and not kept; the
    error's `errors[0].type` says why: unknown, expired, not_yet_valid, used_up, not_for_this_customer,
    minimum_not_met or not_applicable."""
    return await cart.set_coupon(session, settings=settings, shopper=shopper, code=body.code)


@cart_router.delete("/coupon")
async def delete_cart_coupon(shopper: ShopperDep, session: SessionDep, settings: SettingsDep) -> schemas.Cart:
    """Remove the coupon code from the cart."""
    return await cart.remove_coupon(session, settings=settings, shopper=shopper)


# -- orders ------------------------------------------------------------------------------------


@orders_router.post(
    "",
    status_code=201,
    dependencies=[IdempotencyKey, CheckoutLimit],
    responses=error_responses(
        EmptyOrder,
        VariantUnavailable,
        ShippingUnavailable,
        ShippingMethodUnavailable,
        CouponRefused,
        InsufficientStock,
        RateLimited,
        *IDEMPOTENCY_ERRORS,
    ),
)
async def place_order(
    data: schemas.OrderCreate, buyer: BuyerDep, session: SessionDep, settings: SettingsDep
) -> schemas.Order:
    """Check out `items`, or the cart when `items` is left out: stock is reserved, the order awaits payment.

    It is priced as the cart is: the shipping method and code given, else the cart's (when checking
    out the cart), else the cheapest method offered at the address. Every refusal comes before
    anything is reserved or counted."""
    return await checkout.place(session, settings=settings, buyer=buyer, data=data)


@orders_router.get("")
async def list_orders(
    user: CurrentUser,
    session: SessionDep,
    limit: PageSize = 20,
    cursor: Cursor = None,
    status: schemas.OrderStatus | None = None,
) -> Page[schemas.Order]:
    """The caller's orders, newest first."""
    return await orders.page(session, where=OrderFilter(user_id=user.id, status=status), limit=limit, cursor=cursor)


@orders_router.get("/{order_id}", responses=error_responses(NotFound))
async def get_order(order_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> schemas.Order:
    """One of the caller's orders."""
    return await orders.get(session, order_id=order_id, owner=user.id)


@orders_router.post(
    "/{order_id}/pay",
    dependencies=[IdempotencyKey],
    responses=error_responses(
        NotFound, InvalidTransition, PaymentDeclined, PaymentInProgress, PaymentProviderError, *IDEMPOTENCY_ERRORS
    ),
)
async def pay_order(
    order_id: uuid.UUID,
    body: schemas.PaymentRequest,
    user: CurrentUser,
    actor: ActorDep,
    gateway: PaymentGatewayDep,
    session: SessionDep,
) -> schemas.Order:
    """Pay for an order awaiting payment with a token from the payment provider."""
    return await payments.pay(
        session, gateway=gateway, order_id=order_id, owner=user.id, token=body.payment_token, actor=actor
    )


@orders_router.post(
    "/{order_id}/cancel",
    dependencies=[IdempotencyKey],
    responses=error_responses(
        NotFound, InvalidTransition, PaymentInProgress, PaymentProviderError, *IDEMPOTENCY_ERRORS
    ),
)
async def cancel_order(
    order_id: uuid.UUID,
    user: CurrentUser,
    actor: ActorDep,
    gateway: PaymentGatewayDep,
    session: SessionDep,
) -> schemas.Order:
    """Cancel an order awaiting payment; a paid order that has not shipped is refunded."""
    return await orders.cancel(session, gateway=gateway, order_id=order_id, actor=actor, owner=user.id)


# -- the payment provider ------------------------------------------------------------------------


@payments_router.post(
    "/webhook",
    operation_id="receivePaymentEvent",
    responses=error_responses(InvalidSignature, PayloadTooLarge),
    # The body is read raw, to check the signature over its bytes before anything else.
    openapi_extra=raw_json_body(schemas.WebhookEvent, required_headers=["Shop-Signature"]),
)
async def payment_webhook(
    request: Request,
    gateway: PaymentGatewayDep,
    session: SessionDep,
    settings: SettingsDep,
    signature: Annotated[
        str | None,
        Header(
            alias="Shop-Signature",
            description="t=<unix seconds>,v1=<hex HMAC-SHA256>",
            # Checked by the signature verification: a longer header is 400 `invalid_signature`.
            json_schema_extra={"maxLength": MAX_SIGNATURE_HEADER_LENGTH},
        ),
    ] = None,
) -> schemas.WebhookReceipt:
    """The payment provider's signed event (`payment.succeeded`, `payment.failed`); each event id counts once."""
    body = await request.body()
    return await payments.handle_webhook(
        session, gateway=gateway, settings=settings, body=body, signature=signature, now=time.time()
    )
