"""Access tokens (signed JWTs) and the opaque one-time strings behind refresh and reset tokens."""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from shop.core.config import Settings
from shop.core.security import Role
from shop.users.errors import InvalidToken

ISSUER = "shop"
AUDIENCE = "shop-api"
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "role", "exp", "iat", "iss", "aud", "jti"]
# Server processes' clocks differ a little; a token is not refused over a second or two.
CLOCK_LEEWAY_SECONDS = 5
OPAQUE_TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    role: Role
    token_id: str
    expires_at: datetime


def create_access_token(user_id: uuid.UUID, role: Role, settings: Settings, *, now: datetime | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": role.value,
        "iat": issued,
        "exp": issued + timedelta(minutes=settings.access_token_minutes),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, _signing_key(settings), algorithm=ALGORITHM)


def decode_access_token(token: str, settings: Settings) -> AccessClaims:
    """The verified claims (signature, expiry, issuer, audience); `InvalidToken` otherwise."""
    try:
        claims = jwt.decode(
            token,
            _signing_key(settings),
            algorithms=[ALGORITHM],  # never taken from the token's header ("alg": "none")
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            role=Role(claims["role"]),
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidToken from None


def new_opaque_token() -> str:
    """A refresh or reset token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(OPAQUE_TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What the database keeps of an opaque token. Plain SHA-256 suffices for 256 random bits."""
    return hashlib.sha256(token.encode()).hexdigest()


def _signing_key(settings: Settings) -> bytes:
    # A key derived for this one purpose: the same secret may sign other things some day.
    if not settings.secret_key:
        raise RuntimeError("SHOP_SECRET_KEY is not set")
    return hmac.new(settings.secret_key.encode(), b"shop.access-token.v1", hashlib.sha256).digest()
