"""Every module that subscribes to outbox events or schedules jobs.

Imported by the API (whose relay must know each event's handlers) and by the worker (which runs
them).
"""

import shop.core.idempotency
import shop.emails.handlers
import shop.orders.tasks
import shop.products.tasks  # noqa: F401
