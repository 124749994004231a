"""Accounts routes: `/auth`, `/users/me` and `/admin/users` (API.md, "Accounts")."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from shop.core.deps import SessionDep, SettingsDep
from shop.core.errors import RateLimited, error_responses
from shop.core.routing import ShopRoute
from shop.core.schemas import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize
from shop.core.security import Role
from shop.users import schemas
from shop.users.auth import auth_service
from shop.users.dependencies import AUTH_ERRORS, STAFF_ERRORS, AccountLimitsDep, AdminUser, CurrentUser, require_admin
from shop.users.errors import (
    AccountDisabled,
    CannotChangeOwnAccess,
    EmailTaken,
    InvalidCredentials,
    InvalidCurrentPassword,
    InvalidToken,
    UserNotFound,
)
from shop.users.models import User
from shop.users.service import user_service

# Token responses must never be cached (RFC 6749, section 5.1), nor anything else about an account.
NO_STORE = {"Cache-Control": "no-store"}

auth_router = APIRouter(prefix="/auth", tags=["auth"], route_class=ShopRoute)
me_router = APIRouter(
    prefix="/users",
    tags=["users"],
    route_class=ShopRoute,
    responses=error_responses(*AUTH_ERRORS),
)
admin_router = APIRouter(
    prefix="/admin/users",
    tags=["admin: users"],
    route_class=ShopRoute,
    dependencies=[Depends(require_admin)],
    responses=error_responses(*STAFF_ERRORS),
)


@auth_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.User,
    responses=error_responses(EmailTaken),
)
async def register(body: schemas.UserCreate, response: Response, session: SessionDep) -> User:
    """Create a customer account; a welcome email follows."""
    response.headers.update(NO_STORE)  # the answer holds the account, and the request no credentials
    return await user_service.register(session, body)


@auth_router.post(
    "/token",
    operation_id="logIn",
    responses=error_responses(InvalidCredentials, AccountDisabled, RateLimited),
)
async def token(
    form: Annotated[schemas.LoginForm, Depends()],
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    limits: AccountLimitsDep,
) -> schemas.TokenPair:
    """Log in with email (`username`) and password (OAuth2 password flow): an access and a refresh token."""
    # Behind a proxy, `shop serve` (uvicorn --proxy-headers) puts the client's address here.
    address = request.client.host if request.client else None
    response.headers.update(NO_STORE)
    return await auth_service.login(
        session, settings, limits, username=form.username, password=form.password, address=address
    )


@auth_router.post("/refresh", operation_id="refreshTokens", responses=error_responses(InvalidToken, AccountDisabled))
async def refresh(
    body: schemas.RefreshRequest, response: Response, session: SessionDep, settings: SettingsDep
) -> schemas.TokenPair:
    """Trade a refresh token for a new pair; the old one stops working."""
    response.headers.update(NO_STORE)
    return await auth_service.refresh(session, settings, body.refresh_token)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses())
async def logout(body: schemas.RefreshRequest, session: SessionDep) -> None:
    """End the login of this refresh token (no access token needed)."""
    await auth_service.logout(session, body.refresh_token)


@auth_router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses={status.HTTP_202_ACCEPTED: {"description": "Accepted"}, **error_responses(RateLimited)},
)
async def request_password_reset(
    body: schemas.PasswordResetRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limits: AccountLimitsDep,
) -> Response:
    """Email a one-time password-reset token; the answer is the same whether or not the account exists."""
    address = request.client.host if request.client else None
    await auth_service.request_password_reset(session, settings, limits, body.email, address)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@auth_router.post(
    "/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(InvalidToken)
)
async def confirm_password_reset(
    body: schemas.PasswordResetConfirm, session: SessionDep, limits: AccountLimitsDep
) -> None:
    """Set a new password with a reset token; every login of the account ends."""
    await auth_service.confirm_password_reset(session, limits, body.token, body.new_password.get_secret_value())


@me_router.get("/me", operation_id="getCurrentUser", response_model=schemas.User)
async def read_me(user: CurrentUser) -> User:
    """The caller's account."""
    return user


@me_router.patch(
    "/me",
    operation_id="updateCurrentUser",
    response_model=schemas.User,
    responses=error_responses(InvalidCurrentPassword, EmailTaken),
)
async def update_me(body: schemas.UserUpdate, user: CurrentUser, session: SessionDep) -> User:
    """Change the caller's name, email or password (the last two need `current_password`)."""
    return await user_service.update_own(session, user, body)


@admin_router.get("")
async def list_users(
    session: SessionDep,
    role: Annotated[Role | None, Query(description="Only users with this role.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of the email or the full name.")] = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[schemas.User]:
    """Users, newest first, filtered by role and by a search over email and full name."""
    return await user_service.page(session, limit=limit, cursor=cursor, role=role, search=q)


@admin_router.patch(
    "/{user_id}",
    response_model=schemas.User,
    responses=error_responses(UserNotFound, CannotChangeOwnAccess),
)
async def update_user(user_id: uuid.UUID, body: schemas.AdminUserUpdate, admin: AdminUser, session: SessionDep) -> User:
    """Change a user's role or activation; deactivation ends their logins and access tokens at once."""
    return await user_service.update_access(session, admin, user_id, body)
