"""Every domain's ORM models, imported so that Alembic and the mapper see all tables."""

from shop.core.config_cache import ConfigGeneration
from shop.core.db import Base
from shop.core.idempotency import IdempotencyRecord
from shop.core.jobs import Job
from shop.core.outbox import OutboxDelivery, OutboxEvent
from shop.orders.models import (
    Cart,
    CartItem,
    Order,
    OrderLine,
    OrderStatusChange,
    Payment,
    PaymentEvent,
    Refund,
)
from shop.products.models import Category, Product, SearchWord, StockMovement, Variant
from shop.promotions.models import CustomerUse, Promotion, PromotionCode
from shop.shipping.models import ShippingMethod, ShippingZone, ShippingZoneCountry
from shop.taxes.models import TaxClass, TaxRate
from shop.users.models import PasswordResetToken, RefreshToken, User

__all__ = [
    "Base",
    "Cart",
    "CartItem",
    "Category",
    "ConfigGeneration",
    "CustomerUse",
    "IdempotencyRecord",
    "Job",
    "Order",
    "OrderLine",
    "OrderStatusChange",
    "OutboxDelivery",
    "OutboxEvent",
    "PasswordResetToken",
    "Payment",
    "PaymentEvent",
    "Product",
    "Promotion",
    "PromotionCode",
    "RefreshToken",
    "Refund",
    "SearchWord",
    "ShippingMethod",
    "ShippingZone",
    "ShippingZoneCountry",
    "StockMovement",
    "TaxClass",
    "TaxRate",
    "User",
    "Variant",
]
