"""The orders' business rules, one module per concern; each service is a module singleton."""

from shop.orders.service.cart import CartService, cart
from shop.orders.service.checkout import Buyer, CheckoutService, checkout
from shop.orders.service.lifecycle import TRANSITIONS, apply_transition
from shop.orders.service.orders import OrderService, orders
from shop.orders.service.payments import PaymentService, payments
from shop.orders.service.prices import Shopper

__all__ = [
    "TRANSITIONS",
    "Buyer",
    "CartService",
    "CheckoutService",
    "OrderService",
    "PaymentService",
    "Shopper",
    "apply_transition",
    "cart",
    "checkout",
    "orders",
    "payments",
]
