"""Every query on the accounts tables. Nothing here commits."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.security import Role
from shop.users.models import PasswordResetToken, RefreshToken, User

EMAIL_UNIQUE_CONSTRAINT = "uq_user_account_email"


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email))


async def email_exists(session: AsyncSession, email: str) -> bool:
    found = await session.scalar(select(User.id).where(User.email == email))
    return found is not None


async def add_user(session: AsyncSession, user: User) -> User:
    session.add(user)
    await session.flush()
    return user


async def page_users(
    session: AsyncSession,
    *,
    limit: int,
    before_id: uuid.UUID | None = None,
    role: Role | None = None,
    search: str | None = None,
) -> Sequence[User]:
    """Newest first (ids are time-ordered); keyset pagination on the id, never OFFSET."""
    query = select(User).order_by(User.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(User.id < before_id)
    if role is not None:
        query = query.where(User.role == role)
    if search:
        pattern = f"%{escape_like(search)}%"
        query = query.where(or_(User.email.ilike(pattern, escape="\\"), User.full_name.ilike(pattern, escape="\\")))
    return (await session.scalars(query)).all()


async def lock_refresh_token(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    # Locked, so two requests presenting the same token cannot both rotate it.
    query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return await session.scalar(query)


async def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)
    await session.flush()


async def revoke_token_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def revoke_refresh_tokens_of(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def lock_reset_token(session: AsyncSession, token_hash: str) -> PasswordResetToken | None:
    query = select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash).with_for_update()
    return await session.scalar(query)


async def add_reset_token(session: AsyncSession, token: PasswordResetToken) -> None:
    session.add(token)
    await session.flush()


async def use_reset_tokens_of(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    """Spend every outstanding reset token of the user (one reset ends them all)."""
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=at)
    )


def escape_like(text: str) -> str:
    """`text` matched literally by LIKE: its wildcards and the escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def is_email_conflict(exc: IntegrityError) -> bool:
    """Did this flush lose a race for an email address to a concurrent request?"""
    return EMAIL_UNIQUE_CONSTRAINT in str(exc.orig)
