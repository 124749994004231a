"""Checkout limits: orders per customer and per client address, shared by every server process.

A checkout reserves stock until it is paid or expires, so a script placing orders in a loop
could hold a whole catalog out of stock. Every checkout attempt that could create an order
counts, whatever its outcome; the replay of an Idempotency-Key's stored answer creates nothing
and is served whatever the limits say.
"""

from shop.core.config import Settings
from shop.core.errors import RateLimited
from shop.core.ratelimit import Limit, SlidingWindowLimiter


class CheckoutLimits:
    def __init__(self, limiter: SlidingWindowLimiter, settings: Settings) -> None:
        self.limiter = limiter
        self.per_user = Limit(settings.checkout_max_per_user, settings.checkout_window_seconds)
        self.per_address = Limit(settings.checkout_max_per_address, settings.checkout_window_seconds)

    async def check(self, user_id: str, address: str | None) -> None:
        """Count one checkout, or raise `RateLimited` when the customer or the address has had enough."""
        if address is not None:
            decision = await self.limiter.hit(f"checkout:address:{address}", self.per_address)
            if not decision.allowed:
                raise RateLimited(decision.retry_after, "Too many orders from this address; retry later.")
        decision = await self.limiter.hit(f"checkout:user:{user_id}", self.per_user)
        if not decision.allowed:
            raise RateLimited(decision.retry_after, "Too many orders; retry later.")
