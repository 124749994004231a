"""Accounts: registration, profile changes and user administration. Nothing here commits."""

import uuid

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop import events
from shop.core.schemas import Page, after_id, next_id_cursor
from shop.core.security import Role
from shop.users import repository, schemas
from shop.users.errors import CannotChangeOwnAccess, EmailTaken, InvalidCurrentPassword, UserNotFound
from shop.users.models import User
from shop.users.passwords import hash_password, verify_password
from shop.users.repository import is_email_conflict

log = structlog.get_logger()

ADMIN_DEFAULT_FULL_NAME = "Administrator"


class UserService:
    async def register(self, session: AsyncSession, *, data: schemas.UserCreate) -> User:
        if await repository.email_exists(session, data.email):
            raise EmailTaken
        password_hash = await hash_password(data.password.get_secret_value())
        user = User(email=data.email, full_name=data.full_name, password_hash=password_hash, role=Role.customer)
        await _save(session, user)
        welcome = events.UserRegistered(user_id=user.id, email=user.email, full_name=user.full_name)
        events.publish(session, events.USER_REGISTERED, welcome)
        log.info("users.registered", user_id=str(user.id))
        return user

    async def update_own(self, session: AsyncSession, *, user: User, data: schemas.UserUpdate) -> User:
        """The caller's own profile; a new email or password needs the current password."""
        if data.email is not None or data.password is not None:
            current = data.current_password.get_secret_value() if data.current_password else ""
            if not await verify_password(user.password_hash, current):
                raise InvalidCurrentPassword
        if data.full_name is not None:
            user.full_name = data.full_name
        if data.email is not None and data.email != user.email:
            if await repository.email_exists(session, data.email):
                raise EmailTaken
            user.email = data.email
        if data.password is not None:
            user.password_hash = await hash_password(data.password.get_secret_value())
            # Sessions elsewhere (perhaps someone else's) end with the old password.
            await repository.revoke_refresh_tokens_of(session, user.id)
        await _save(session, user)
        log.info(
            "users.profile_updated", email_changed=data.email is not None, password_changed=data.password is not None
        )
        return user

    async def page(
        self, session: AsyncSession, *, limit: int, cursor: str | None, role: Role | None, search: str | None
    ) -> Page[schemas.AdminUserView]:
        rows = await repository.page_users(
            session, limit=limit + 1, before_id=after_id(cursor), role=role, search=search
        )
        return Page[schemas.AdminUserView](
            items=[schemas.AdminUserView.model_validate(row) for row in rows[:limit]],
            next_cursor=next_id_cursor([row.id for row in rows], limit),
        )

    async def update_access(
        self, session: AsyncSession, *, actor: User, user_id: uuid.UUID, data: schemas.AdminUserUpdate
    ) -> User:
        """An admin changes someone's role, activation or customer groups."""
        user = await repository.get_user(session, user_id)
        if user is None:
            raise UserNotFound
        demoting_self = data.role is not None and data.role != user.role
        if user.id == actor.id and (demoting_self or data.is_active is False):
            # The last admin could lock everybody out of user management.
            raise CannotChangeOwnAccess
        if data.role is not None:
            user.role = data.role
        if data.is_active is not None:
            if not data.is_active:
                await repository.revoke_refresh_tokens_of(session, user.id)
            user.is_active = data.is_active
        if data.groups is not None:
            user.groups = list(data.groups)
        await _save(session, user)
        log.info(
            "users.access_changed",
            target_id=str(user.id),
            role=user.role.value,
            is_active=user.is_active,
            groups=user.groups,
        )
        return user

    async def make_admin(
        self, session: AsyncSession, *, email: str, password: str, full_name: str = ADMIN_DEFAULT_FULL_NAME
    ) -> tuple[User, bool]:
        """`shop create-admin`: a new admin, or an existing user promoted (reactivated, new password)."""
        password_hash = await hash_password(password)
        user = await repository.get_user_by_email(session, email)
        created = user is None
        if user is None:
            user = User(email=email, full_name=full_name, password_hash=password_hash)
        else:
            user.password_hash = password_hash
            await repository.revoke_refresh_tokens_of(session, user.id)
        user.role = Role.admin
        user.is_active = True
        await _save(session, user)
        log.info("users.admin_made", user_id=str(user.id), created=created)
        return user, created


async def _save(session: AsyncSession, user: User) -> None:
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        # A concurrent request took the address between our check and this write.
        if is_email_conflict(exc):
            raise EmailTaken from None
        raise


users = UserService()
