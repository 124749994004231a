"""The oversell check of the order scenarios: every unit the stock lost is on an order, and back.

The seed has no orders, and nothing but checkouts changes stock during a run, so for each
variant the units on order lines must equal the seeded stock minus the stock left.
"""

import asyncpg

SEEDED_STOCK = "CREATE TABLE IF NOT EXISTS bench_seeded_stock AS SELECT id, stock FROM variant"
MISMATCHES = """
SELECT s.id, s.stock AS seeded, v.stock AS left_now, coalesce(sum(l.quantity), 0) AS ordered
FROM bench_seeded_stock s
JOIN variant v ON v.id = s.id
LEFT JOIN order_line l ON l.variant_id = s.id
GROUP BY s.id, s.stock, v.stock
HAVING s.stock - v.stock <> coalesce(sum(l.quantity), 0) OR v.stock < 0
"""


async def remember_seeded_stock(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(SEEDED_STOCK)
    finally:
        await connection.close()


async def audit(dsn: str) -> tuple[int, int, int]:
    """(orders placed, units ordered, units oversold or unaccounted for)."""
    connection = await asyncpg.connect(dsn)
    try:
        orders = await connection.fetchval("SELECT count(*) FROM customer_order")
        units = await connection.fetchval("SELECT coalesce(sum(quantity), 0) FROM order_line")
        rows = await connection.fetch(MISMATCHES)
    finally:
        await connection.close()
    wrong = sum(abs(row["ordered"] - (row["seeded"] - row["left_now"])) for row in rows)
    return int(orders), int(units), int(wrong)
