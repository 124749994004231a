"""Accounts request and response bodies.

Passwords are `SecretStr`: a model that ends up in a log line or a traceback shows `**********`.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from email_validator import EmailNotValidError, validate_email
from fastapi import Form
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shop.core.groups import CustomerGroups
from shop.core.schemas import Schema
from shop.core.security import Role

EMAIL_MAX_LENGTH = 320  # RFC 5321's path limit
FULL_NAME_MAX_LENGTH = 200
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
OPAQUE_TOKEN_MAX_LENGTH = 512


def normalise_email(value: str) -> str:
    """The one stored form of an address: syntax checked (no DNS look-up), then lower-cased."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.normalized.lower()


Email = Annotated[
    str,
    StringConstraints(max_length=EMAIL_MAX_LENGTH),
    AfterValidator(normalise_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH}),
]


def _password_length(value: object) -> object:
    # Checked before the value becomes a SecretStr, so errors read as for any string.
    if isinstance(value, str):
        if len(value) < PASSWORD_MIN_LENGTH:
            raise PydanticCustomError(
                "string_too_short",
                "String should have at least {min_length} characters",
                {"min_length": PASSWORD_MIN_LENGTH},
            )
        if len(value) > PASSWORD_MAX_LENGTH:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters",
                {"max_length": PASSWORD_MAX_LENGTH},
            )
    return value


Password = Annotated[
    SecretStr,
    BeforeValidator(_password_length),
    WithJsonSchema(
        {
            "type": "string",
            "format": "password",
            "writeOnly": True,
            "minLength": PASSWORD_MIN_LENGTH,
            "maxLength": PASSWORD_MAX_LENGTH,
        }
    ),
]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=FULL_NAME_MAX_LENGTH)]
OpaqueToken = Annotated[str, StringConstraints(min_length=1, max_length=OPAQUE_TOKEN_MAX_LENGTH)]


class UserCreate(Schema):
    email: Email
    password: Password
    full_name: FullName


class User(Schema):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime


class UserUpdate(Schema):
    """`PATCH /users/me`: fields left out stay as they are."""

    full_name: FullName | None = None
    email: Email | None = None
    password: Password | None = None
    current_password: SecretStr | None = Field(
        default=None, max_length=PASSWORD_MAX_LENGTH, description="Required to change the email or the password."
    )

    @model_validator(mode="after")
    def _current_password_for_credentials(self) -> Self:
        if (self.email is not None or self.password is not None) and self.current_password is None:
            raise ValueError("current_password is required to change the email or the password")
        return self


class AdminUserView(User):
    """A user as staff see them: with the customer groups a promotion may be limited to."""

    groups: list[str]


class AdminUserUpdate(Schema):
    role: Role | None = None
    is_active: bool | None = None
    groups: CustomerGroups | None = Field(default=None, description="Replaces the user's customer groups.")


class TokenPair(Schema):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshRequest(Schema):
    refresh_token: OpaqueToken


class PasswordResetRequest(Schema):
    email: Email


class PasswordResetConfirm(Schema):
    token: OpaqueToken
    new_password: Password


# The OAuth2 password flow's form, as FastAPI's OAuth2PasswordRequestForm but with every field bounded.
OAUTH_FIELD_MAX_LENGTH = 255


class LoginForm:
    def __init__(
        self,
        username: Annotated[str, Form(max_length=EMAIL_MAX_LENGTH, description="The account's email.")],
        password: Annotated[str, Form(max_length=PASSWORD_MAX_LENGTH, json_schema_extra={"format": "password"})],
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        scope: Annotated[str, Form(max_length=OAUTH_FIELD_MAX_LENGTH, description="Unused.")] = "",
        client_id: Annotated[str | None, Form(max_length=OAUTH_FIELD_MAX_LENGTH, description="Unused.")] = None,
        client_secret: Annotated[
            str | None, Form(max_length=OAUTH_FIELD_MAX_LENGTH, json_schema_extra={"format": "password"})
        ] = None,
    ) -> None:
        self.username = username
        self.password = password
        self.grant_type = grant_type
        self.scopes = scope.split()
        self.client_id = client_id
        self.client_secret = client_secret
