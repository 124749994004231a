"""Accounts routes: `/auth` and `/users/me` (API.md, "Accounts"); the staff routes are in `admin.py`."""

from typing import Annotated

from fastapi import Depends, Request, Response, status

from shop.core.deps import SessionDep, SettingsDep
from shop.core.errors import RateLimited, error_responses
from shop.core.routing import shop_router
from shop.users import schemas
from shop.users.dependencies import AUTH_ERRORS, AccountLimitsDep, CurrentUser
from shop.users.errors import (
    AccountDisabled,
    EmailTaken,
    InvalidCredentials,
    InvalidCurrentPassword,
    InvalidToken,
)
from shop.users.models import User
from shop.users.service import auth, users

# Token responses must never be cached (RFC 6749, section 5.1), nor anything else about an account.
NO_STORE = {"Cache-Control": "no-store"}

auth_router = shop_router(prefix="/auth", tags=["auth"])
me_router = shop_router(
    prefix="/users",
    tags=["users"],
    responses=error_responses(*AUTH_ERRORS),
)


@auth_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    operation_id="registerUser",
    response_model=schemas.User,
    responses=error_responses(EmailTaken),
)
async def register(body: schemas.UserCreate, response: Response, session: SessionDep) -> User:
    """Create a customer account; a welcome email follows."""
    response.headers.update(NO_STORE)  # the answer holds the account, and the request no credentials
    return await users.register(session, data=body)


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
    return await auth.login(
        session, settings=settings, limits=limits, username=form.username, password=form.password, address=address
    )


@auth_router.post("/refresh", operation_id="refreshTokens", responses=error_responses(InvalidToken, AccountDisabled))
async def refresh(
    body: schemas.RefreshRequest, response: Response, session: SessionDep, settings: SettingsDep
) -> schemas.TokenPair:
    """Trade a refresh token for a new pair; the old one stops working."""
    response.headers.update(NO_STORE)
    return await auth.refresh(session, settings=settings, raw_token=body.refresh_token)


@auth_router.post("/logout", operation_id="logOut", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses())
async def logout(body: schemas.RefreshRequest, session: SessionDep) -> None:
    """End the login of this refresh token (no access token needed)."""
    await auth.logout(session, raw_token=body.refresh_token)


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
    await auth.request_password_reset(session, settings=settings, limits=limits, email=body.email, address=address)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@auth_router.post(
    "/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(InvalidToken)
)
async def confirm_password_reset(
    body: schemas.PasswordResetConfirm, session: SessionDep, limits: AccountLimitsDep
) -> None:
    """Set a new password with a reset token; every login of the account ends."""
    await auth.confirm_password_reset(
        session, limits=limits, raw_token=body.token, new_password=body.new_password.get_secret_value()
    )


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
    return await users.update_own(session, user=user, data=body)
