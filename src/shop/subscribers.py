"""Every module that subscribes to outbox events or schedules jobs.

Imported by the API (whose relay must know each event's handlers) and by the worker (which runs
them).
"""

import shop.emails.handlers
import shop.orders.tasks  # noqa: F401
