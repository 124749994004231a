"""Authentication: login, refresh-token rotation, logout, password reset, bearer tokens.

Refresh tokens rotate: each use returns a new pair and revokes the token used. All tokens of
one login share a family id, so a revoked token that comes back (a stolen copy, or the
original after the thief used it) ends the whole login for both holders.
"""

import uuid
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shop import events
from shop.core.config import Settings
from shop.core.db import new_id
from shop.users import passwords, repository, tokens
from shop.users.errors import AccountDisabled, InvalidCredentials, InvalidToken, RefreshTokenReused
from shop.users.limits import AccountLimits
from shop.users.models import PasswordResetToken, RefreshToken, User
from shop.users.schemas import TokenPair, normalise_email

log = structlog.get_logger()


class AuthService:
    async def login(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        limits: AccountLimits,
        username: str,
        password: str,
        address: str | None,
    ) -> TokenPair:
        email = _login_email(username)
        await limits.check_login(email, address)
        user = await repository.get_user_by_email(session, email)
        if user is None:
            await passwords.verify_nothing(password)  # as slow as a known email
            ok = False
        else:
            ok = await passwords.verify_password(user.password_hash, password)
        if user is None or not ok:
            await limits.login_failed(email)
            log.info("users.login_failed")
            raise InvalidCredentials
        if not user.is_active:
            raise AccountDisabled
        await limits.login_succeeded(email)
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = await passwords.hash_password(password)
        log.info("users.logged_in", user_id=str(user.id))
        return await self._issue(session, settings, user)

    async def refresh(self, session: AsyncSession, *, settings: Settings, raw_token: str) -> TokenPair:
        token = await repository.lock_refresh_token(session, tokens.token_digest(raw_token))
        if token is None:
            raise InvalidToken
        if token.revoked_at is not None:
            await repository.revoke_token_family(session, token.family_id)
            log.warning("users.refresh_token_reused", user_id=str(token.user_id), family_id=str(token.family_id))
            raise RefreshTokenReused
        if token.expires_at <= datetime.now(UTC):
            raise InvalidToken
        user = await repository.get_user(session, token.user_id)
        if user is None:
            raise InvalidToken
        if not user.is_active:
            raise AccountDisabled
        token.revoked_at = datetime.now(UTC)
        return await self._issue(session, settings, user, family_id=token.family_id)

    async def logout(self, session: AsyncSession, *, raw_token: str) -> None:
        """End the login the refresh token belongs to; an unknown token is already logged out."""
        token = await repository.lock_refresh_token(session, tokens.token_digest(raw_token))
        if token is not None:
            await repository.revoke_token_family(session, token.family_id)
            log.info("users.logged_out", user_id=str(token.user_id))

    async def request_password_reset(
        self, session: AsyncSession, *, settings: Settings, limits: AccountLimits, email: str, address: str | None
    ) -> None:
        """Email a one-time token if the address has an active account; the caller never learns which."""
        await limits.check_reset_request(email, address)
        # Made whether or not the account exists, so both paths do the same work.
        raw_token = tokens.new_opaque_token()
        digest = tokens.token_digest(raw_token)
        user = await repository.get_user_by_email(session, email)
        if user is None or not user.is_active:
            return
        lifetime = settings.password_reset_token_minutes
        expires_at = datetime.now(UTC) + timedelta(minutes=lifetime)
        await repository.add_reset_token(
            session, PasswordResetToken(user_id=user.id, token_hash=digest, expires_at=expires_at)
        )
        notice = events.PasswordResetRequested(
            user_id=user.id, email=user.email, full_name=user.full_name, token=raw_token, expires_minutes=lifetime
        )
        events.publish(session, events.PASSWORD_RESET_REQUESTED, notice)
        log.info("users.password_reset_requested", user_id=str(user.id))

    async def confirm_password_reset(
        self, session: AsyncSession, *, limits: AccountLimits, raw_token: str, new_password: str
    ) -> None:
        now = datetime.now(UTC)
        token = await repository.lock_reset_token(session, tokens.token_digest(raw_token))
        if token is None or token.used_at is not None or token.expires_at <= now:
            raise InvalidToken
        user = await repository.get_user(session, token.user_id)
        if user is None or not user.is_active:
            raise InvalidToken
        user.password_hash = await passwords.hash_password(new_password)
        await repository.use_reset_tokens_of(session, user.id, now)
        await repository.revoke_refresh_tokens_of(session, user.id)
        # Whoever reads the mailbox owns the account: earlier failed logins no longer hold it back.
        await limits.login_succeeded(user.email)
        log.info("users.password_reset", user_id=str(user.id))

    async def user_for_access_token(self, session: AsyncSession, *, settings: Settings, access_token: str) -> User:
        """The user a bearer token speaks for, read afresh: deactivation takes effect at once."""
        claims = tokens.decode_access_token(access_token, settings)
        user = await repository.get_user(session, claims.user_id)
        if user is None:
            raise InvalidToken
        if not user.is_active:
            raise AccountDisabled
        return user

    async def _issue(
        self, session: AsyncSession, settings: Settings, user: User, family_id: uuid.UUID | None = None
    ) -> TokenPair:
        raw_refresh = tokens.new_opaque_token()
        token = RefreshToken(
            user_id=user.id,
            family_id=family_id or new_id(),
            token_hash=tokens.token_digest(raw_refresh),
            expires_at=datetime.now(UTC) + timedelta(days=settings.refresh_token_days),
        )
        await repository.add_refresh_token(session, token)
        return TokenPair(
            access_token=tokens.create_access_token(user.id, user.role, settings),
            refresh_token=raw_refresh,
            expires_in=settings.access_token_minutes * 60,
        )


def _login_email(username: str) -> str:
    """The login name in its stored form; something that is no address simply matches no one."""
    try:
        return normalise_email(username)
    except ValueError:
        return username.strip().lower()


auth = AuthService()
