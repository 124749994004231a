"""Every domain's ORM models, imported so that Alembic and the mapper see all tables."""

from shop.core.db import Base
from shop.core.jobs import Job
from shop.core.outbox import OutboxDelivery, OutboxEvent
from shop.products.models import Category, Product, StockMovement, Variant
from shop.users.models import PasswordResetToken, RefreshToken, User

__all__ = [
    "Base",
    "Category",
    "Job",
    "OutboxDelivery",
    "OutboxEvent",
    "PasswordResetToken",
    "Product",
    "RefreshToken",
    "StockMovement",
    "User",
    "Variant",
]
