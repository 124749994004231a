"""Accounts tables: users, their refresh tokens and their password-reset tokens.

Tokens are stored only as SHA-256 digests: they are long random strings, so a digest cannot be
reversed by guessing, and a leaked table does not hand out sessions.
"""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Enum, ForeignKey, String, func, text, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.db import Base, TimestampMixin, new_id
from shop.core.groups import GROUP_MAX_LENGTH
from shop.core.security import Role
from shop.users.schemas import EMAIL_MAX_LENGTH, FULL_NAME_MAX_LENGTH

TOKEN_DIGEST_LENGTH = 64  # hex SHA-256


class User(TimestampMixin, Base):
    __tablename__ = "user_account"  # "user" is a reserved word in PostgreSQL
    __table_args__ = (
        # Addresses are stored normalised (lower-cased), so the unique index compares them
        # case-insensitively; this check keeps any writer from storing another form.
        CheckConstraint("email = lower(email)", name="email_lower_case"),
    )
    # created_at comes back with the INSERT (RETURNING): responses read it without another query.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    full_name: Mapped[str] = mapped_column(String(FULL_NAME_MAX_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="role", native_enum=False, create_constraint=True, length=20),
        default=Role.customer,
        server_default=Role.customer.value,
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Customer groups ("wholesale", "vip"): what a promotion may be limited to.
    groups: Mapped[list[str]] = mapped_column(
        ARRAY(String(GROUP_MAX_LENGTH)), default=list, server_default=text("'{}'")
    )


class RefreshToken(Base):
    """One refresh token of a login; every rotation adds a row to the login's family."""

    __tablename__ = "refresh_token"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(TOKEN_DIGEST_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when the token was rotated, logged out, or its family revoked; it never works again.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordResetToken(Base):
    __tablename__ = "password_reset_token"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(TOKEN_DIGEST_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
