"""Every domain's ORM models, imported so that Alembic and the mapper see all tables."""

from shop.core.db import Base

__all__ = ["Base"]
