"""The events that send email, and the payload each must carry (their producers build these)."""

import uuid

from pydantic import BaseModel, ConfigDict

USER_REGISTERED = "user.registered"
PASSWORD_RESET_REQUESTED = "user.password_reset_requested"  # noqa: S105  (an event name)
ORDER_PLACED = "order.placed"
ORDER_PAID = "order.paid"
ORDER_SHIPPED = "order.shipped"
ORDER_CANCELLED = "order.cancelled"
ORDER_REFUNDED = "order.refunded"


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class UserRegistered(Payload):
    user_id: uuid.UUID
    email: str
    full_name: str


class PasswordResetRequested(Payload):
    user_id: uuid.UUID
    email: str
    full_name: str
    token: str
    expires_minutes: int


class Amount(Payload):
    amount: int
    currency: str


class OrderLine(Payload):
    sku: str
    name: str
    quantity: int
    line_total: Amount


class Tracking(Payload):
    carrier: str
    tracking_number: str


class OrderNotice(Payload):
    """The payload of every `order.*` event."""

    order_id: uuid.UUID
    number: str
    email: str
    status: str
    items: list[OrderLine]
    subtotal: Amount
    shipping_total: Amount
    total: Amount
    tracking: Tracking | None = None
