"""Validating dependencies of the orders' routes: who is buying or acting, and how they pay."""

from typing import Annotated

from fastapi import Depends, Request

from shop.core.deps import ResourcesDep
from shop.core.idempotency import idempotency_guard
from shop.core.ratelimit import SlidingWindowLimiter
from shop.orders.limits import CheckoutLimits
from shop.orders.providers import PaymentGateway, get_gateway
from shop.orders.schemas import Actor
from shop.orders.service import Buyer, Shopper
from shop.users.dependencies import CurrentUser, get_current_user

# `dependencies=[IdempotencyKey]` makes a route honour `Idempotency-Key` (shop.core.idempotency).
# It authenticates first, with the same (cached) dependency the route's `CurrentUser` uses.
IdempotencyKey = Depends(idempotency_guard(get_current_user))


async def check_checkout_limits(request: Request, user: CurrentUser, resources: ResourcesDep) -> None:
    limits = CheckoutLimits(SlidingWindowLimiter(resources.redis), resources.settings)
    # Behind a proxy, `shop serve` (uvicorn --proxy-headers) puts the client's address here.
    await limits.check(str(user.id), request.client.host if request.client else None)


# After the Idempotency-Key guard: a replay or a duplicate in progress creates nothing and is not
# counted; a refused checkout (429, not final) gives its key back, so it is never the stored answer.
CheckoutLimit = Depends(check_checkout_limits)


async def get_actor(user: CurrentUser) -> Actor:
    return Actor(user.role.value)


async def get_buyer(user: CurrentUser) -> Buyer:
    return Buyer(user_id=user.id, email=user.email, actor=Actor(user.role.value), groups=tuple(user.groups or ()))


async def get_shopper(user: CurrentUser) -> Shopper:
    return Shopper(user_id=user.id, groups=tuple(user.groups or ()))


async def get_payment_gateway(resources: ResourcesDep) -> PaymentGateway:
    return get_gateway(resources.settings, resources.redis)


ActorDep = Annotated[Actor, Depends(get_actor)]
BuyerDep = Annotated[Buyer, Depends(get_buyer)]
ShopperDep = Annotated[Shopper, Depends(get_shopper)]
PaymentGatewayDep = Annotated[PaymentGateway, Depends(get_payment_gateway)]
