"""The events of the shop: every name a producer publishes to the outbox, and its payload.

The one contract between the code that changes something and the code that reacts to it (emails
today; webhooks and the audit log tomorrow). A producer publishes with `publish(session, NAME,
payload)`, which records the event in its transaction (`shop.core.outbox`); a consumer subscribes
to NAME with `shop.core.outbox.handles` and reads the payload with `read(event, PayloadType)`. No
consumer owns a name: a new subscriber imports this module, never the producer.

Payloads ignore fields they do not know, so a producer may add one without breaking a consumer;
renaming or removing a field is a breaking change for every subscriber.
"""

import uuid
from typing import TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.outbox import Event, record_event

USER_REGISTERED = "user.registered"
PASSWORD_RESET_REQUESTED = "user.password_reset_requested"  # noqa: S105  (an event name)
ORDER_PLACED = "order.placed"
ORDER_PAID = "order.paid"
ORDER_SHIPPED = "order.shipped"
ORDER_DELIVERED = "order.delivered"
ORDER_CANCELLED = "order.cancelled"
ORDER_REFUNDED = "order.refunded"
# Announces a catalog import job; the job runner (`shop.core.jobs`) records it with its payload.
CATALOG_IMPORT_REQUESTED = "catalog.import_requested"


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


P = TypeVar("P", bound=Payload)


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


class TaxLine(Payload):
    """One rate of the order's tax, as an invoice states it."""

    rate: str  # percent, "19" or "5.5"
    taxable: Amount
    tax: Amount


class PromotionLine(Payload):
    name: str
    code: str | None  # None: applied automatically
    amount: Amount  # what it took off, the lines and the shipping together


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
    # The price breakdown (events recorded before it existed carry none of it: no discount, no tax).
    discount_total: Amount | None = None
    tax_total: Amount | None = None
    prices_include_tax: bool = True
    shipping_method: str | None = None
    taxes: list[TaxLine] = []
    promotions: list[PromotionLine] = []


class JobQueued(Payload):
    """The payload of an event that announces a background job (`shop.core.jobs`)."""

    job_id: uuid.UUID


PAYLOADS: dict[str, type[Payload]] = {
    USER_REGISTERED: UserRegistered,
    PASSWORD_RESET_REQUESTED: PasswordResetRequested,
    ORDER_PLACED: OrderNotice,
    ORDER_PAID: OrderNotice,
    ORDER_SHIPPED: OrderNotice,
    ORDER_DELIVERED: OrderNotice,
    ORDER_CANCELLED: OrderNotice,
    ORDER_REFUNDED: OrderNotice,
    CATALOG_IMPORT_REQUESTED: JobQueued,
}


def publish(session: AsyncSession, name: str, payload: Payload) -> uuid.UUID:
    """Record event `name` in the session's transaction; it is relayed once that commits."""
    _check(name, type(payload))
    return record_event(session, name, payload.model_dump(mode="json"))


def read(event: Event, payload_type: type[P]) -> P:
    """The event's payload as `payload_type`, which must be the one its name carries."""
    _check(event.type, payload_type)
    return payload_type.model_validate(event.payload)


def _check(name: str, payload_type: type[Payload]) -> None:
    expected = PAYLOADS.get(name)
    if expected is None:
        raise ValueError(f"{name!r} is not an event of shop.events")
    if payload_type is not expected:
        raise TypeError(f"{name!r} carries {expected.__name__}, not {payload_type.__name__}")
