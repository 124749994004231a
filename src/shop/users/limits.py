"""The accounts' rate limits (API.md, "Limits"), on the shared sliding-window limiter.

Login: every attempt counts against the client address; only failed ones count against the
email, so a customer typing a wrong password twice is not locked out by their own later
success, and an attacker cannot lock an account out for longer than the window.
"""

import hashlib

from shop.core.config import Settings
from shop.core.errors import RateLimited
from shop.core.ratelimit import Decision, Limit, SlidingWindowLimiter


class AccountLimits:
    def __init__(self, limiter: SlidingWindowLimiter, settings: Settings) -> None:
        self.limiter = limiter
        self.login_per_address = Limit(settings.login_max_attempts_per_address, settings.login_window_seconds)
        self.login_failures_per_email = Limit(settings.login_max_failures_per_email, settings.login_window_seconds)
        self.reset_per_email = Limit(settings.password_reset_max_per_email, settings.password_reset_window_seconds)
        self.reset_per_address = Limit(settings.password_reset_max_per_address, settings.password_reset_window_seconds)

    async def check_login(self, email: str, address: str | None) -> None:
        """Raise `RateLimited` before the password is even checked, when either limit is reached."""
        if address is not None:
            _raise_unless_allowed(await self.limiter.hit(f"login:address:{address}", self.login_per_address))
        _raise_unless_allowed(await self.limiter.peek(_email_key("login", email), self.login_failures_per_email))

    async def login_failed(self, email: str) -> None:
        await self.limiter.add(_email_key("login", email), self.login_failures_per_email)

    async def login_succeeded(self, email: str) -> None:
        await self.limiter.reset(_email_key("login", email))

    async def check_reset_request(self, email: str, address: str | None) -> None:
        if address is not None:
            _raise_unless_allowed(await self.limiter.hit(f"reset:address:{address}", self.reset_per_address))
        _raise_unless_allowed(await self.limiter.hit(_email_key("reset", email), self.reset_per_email))


def _email_key(purpose: str, email: str) -> str:
    # Redis holds a digest, not the address: keys show up in monitoring and dumps.
    return f"{purpose}:email:{hashlib.sha256(email.encode()).hexdigest()[:32]}"


def _raise_unless_allowed(decision: Decision) -> None:
    if not decision.allowed:
        raise RateLimited(decision.retry_after, "Too many attempts; retry later.")
