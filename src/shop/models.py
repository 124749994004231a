"""Every domain's ORM models, imported so that Alembic and the mapper see all tables."""

from shop.core.db import Base
from shop.core.outbox import OutboxDelivery, OutboxEvent

__all__ = ["Base", "OutboxDelivery", "OutboxEvent"]
