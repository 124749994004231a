"""Business counters of orders, exported on `/metrics`.

Money and orders are counted only once their transaction committed (`after_commit`): a checkout
or payment that rolls back never counts, and an idempotent replay, which does not run again,
does not count twice.
"""

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.db import after_commit

orders_placed = Counter("shop_orders_placed_total", "Orders placed, counted once the checkout committed.", ["currency"])
checkout_rejections = Counter(
    "shop_checkout_rejections_total",
    "Checkouts refused by a business rule, by the problem code of the answer (insufficient_stock, "
    "empty_order, variant_unavailable, validation_error).",
    ["reason"],
)
revenue = Counter(
    "shop_revenue_minor_units_total",
    "Order totals paid, in minor units of the currency, counted once the payment committed "
    "(gross: refunds are not subtracted).",
    ["currency"],
)


def count_after_commit(session: AsyncSession, counter: Counter, currency: str, amount: int = 1) -> None:
    """Add `amount` to `counter{currency}` once the session's transaction has committed."""

    async def count() -> None:
        counter.labels(currency).inc(amount)

    after_commit(session, count)
