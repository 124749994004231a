"""Who is calling, for every protected route of the shop.

`CurrentUser` authenticates the bearer token and records the caller as the request's
`Principal` (see `shop.core.security`), which domains that may not import this package read.
`require_role(...)` and `require_staff` guard whole routers.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from shop.core.deps import ResourcesDep, SessionDep, SettingsDep
from shop.core.errors import Forbidden, Unauthorized
from shop.core.logging import bind_log_context
from shop.core.ratelimit import SlidingWindowLimiter
from shop.core.security import Principal, Role, set_principal
from shop.users.errors import AccountDisabled, InvalidToken
from shop.users.limits import AccountLimits
from shop.users.models import User
from shop.users.service import auth

# What a route behind `CurrentUser` may answer besides its own errors, for its `responses=`.
AUTH_ERRORS = (Unauthorized, InvalidToken, AccountDisabled)
STAFF_ERRORS = (*AUTH_ERRORS, Forbidden)

# auto_error=False: a missing token is answered by our own problem+json 401, not FastAPI's.
bearer_token = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_current_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(bearer_token)],
) -> User:
    if not token:
        raise Unauthorized("Authentication required.")
    user = await auth.user_for_access_token(session, settings=settings, access_token=token)
    set_principal(request, Principal(user_id=user.id, role=user.role))
    bind_log_context(user_id=str(user.id))
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets only users with one of `roles` through (403 for the others)."""
    allowed = frozenset(roles)

    async def check_role(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden("Your account is not allowed to do this.")
        return user

    return check_role


require_staff = require_role(Role.staff, Role.admin)
require_admin = require_role(Role.admin)
AdminUser = Annotated[User, Depends(require_admin)]


async def get_account_limits(resources: ResourcesDep) -> AccountLimits:
    return AccountLimits(SlidingWindowLimiter(resources.redis), resources.settings)


AccountLimitsDep = Annotated[AccountLimits, Depends(get_account_limits)]
