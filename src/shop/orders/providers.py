"""Payment providers: the interface the shop charges and refunds through, the registry that
`SHOP_PAYMENT_PROVIDER` selects from, and the check of a provider's signed webhook calls.

Every call carries an idempotency key derived from an intent the shop committed before calling
(a pending payment or refund row), as Stripe and Adyen take one: a repeated call with the same
key, after a timeout or a crash, gets the first call's answer and never moves money twice.
A real provider (Stripe, Adyen, …) implements `PaymentProvider` over its HTTP API and is
registered in `PROVIDERS` under its name.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from shop.core.config import ConfigError, Settings
from shop.orders.errors import InvalidSignature, PaymentProviderError

if TYPE_CHECKING:  # the cache module loads the metrics, which `shop serve`'s supervisor must not
    from shop.core.cache import RedisClient

WEBHOOK_TOLERANCE_SECONDS = 300
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Charge:
    order_id: uuid.UUID
    number: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class ChargeResult:
    succeeded: bool
    reference: str | None = None  # the provider's id of the charge
    reason: str | None = None  # why it was declined


@dataclass(frozen=True, slots=True)
class RefundRequest:
    reference: str  # the charge to give back, in full
    amount: int
    currency: str


class PaymentProvider(Protocol):
    name: str

    async def charge(self, charge: Charge, token: str, *, idempotency_key: str) -> ChargeResult:
        """Charge `token`; a decline is a result, a failed or unanswered call raises PaymentProviderError."""

    async def find_charge(self, idempotency_key: str) -> ChargeResult | None:
        """What became of the charge made with `idempotency_key`: None only when the provider is
        sure it never got one; a charge it is still processing raises PaymentProviderError."""

    async def refund(self, refund: RefundRequest, *, idempotency_key: str) -> str:
        """Give a charge back; the provider's id of the refund. Raises PaymentProviderError on failure."""


ProviderFactory = Callable[[Settings, "RedisClient"], PaymentProvider]
PROVIDERS: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    PROVIDERS[name] = factory


def _factory(name: str) -> ProviderFactory:
    from shop.orders.sandbox import TestProvider  # the sandbox is built on the types above

    factories: dict[str, ProviderFactory] = {TestProvider.name: lambda _, redis: TestProvider(redis), **PROVIDERS}
    try:
        return factories[name]
    except KeyError:
        raise ConfigError(f"SHOP_PAYMENT_PROVIDER: unknown provider {name!r}") from None


def check_provider(name: str) -> None:
    """An unknown provider stops start-up with one line, not the first payment with a 500."""
    _factory(name)


def get_gateway(settings: Settings, redis: RedisClient, name: str | None = None) -> PaymentGateway:
    """The gateway to provider `name` (default: the configured one)."""
    provider = _factory(name or settings.effective_payment_provider)(settings, redis)
    return PaymentGateway(provider, timedelta(seconds=settings.payment_provider_timeout_seconds), settings, redis)


class PaymentGateway:
    """What the shop's services call a provider through: every call ends within `timeout`.

    An unanswered call is a PaymentProviderError, so the `lease` of an intent (three times the
    timeout, counted from when the intent is recorded) outlives the calls made for it: once the
    lease is over, nobody is still waiting for an answer, and the reconciliation may settle it.
    """

    def __init__(self, provider: PaymentProvider, timeout: timedelta, settings: Settings, redis: RedisClient) -> None:
        self.name = provider.name
        # The call itself, plus a give-back refund that may run before it, with room to spare.
        self.lease = 3 * timeout
        self._provider = provider
        self._timeout = timeout.total_seconds()
        self._settings = settings
        self._redis = redis

    def of(self, name: str) -> PaymentGateway:
        """The gateway to the provider `name`: a payment is settled and refunded where it was made."""
        return self if name == self.name else get_gateway(self._settings, self._redis, name)

    async def charge(self, charge: Charge, token: str, *, idempotency_key: str) -> ChargeResult:
        return await self._bounded(self._provider.charge(charge, token, idempotency_key=idempotency_key))

    async def find_charge(self, idempotency_key: str) -> ChargeResult | None:
        return await self._bounded(self._provider.find_charge(idempotency_key))

    async def refund(self, refund: RefundRequest, *, idempotency_key: str) -> str:
        return await self._bounded(self._provider.refund(refund, idempotency_key=idempotency_key))

    async def _bounded(self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except TimeoutError:
            raise PaymentProviderError("The payment provider did not answer in time. Try again.") from None


# -- webhooks ----------------------------------------------------------------------------------

# The provider's webhook event types: its vocabulary, received from outside, not events of the
# shop (those are `shop.events`).
PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Shop-Signature` value a provider sends: HMAC-SHA256 of "<t>.<raw body>"."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# A timestamp and a few signatures (several while keys rotate); anything longer is not one.
MAX_SIGNATURE_HEADER_LENGTH = 1024


def verify_signature(secret: str | None, header: str | None, body: bytes, now: float) -> None:
    """Raise 400 `invalid_signature` unless `header` signs `body` with `secret`, within 300 s of `now`."""
    if not secret or not header or len(header) > MAX_SIGNATURE_HEADER_LENGTH:
        raise InvalidSignature()
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    # The timestamp is signed too, so an old request cannot be replayed with a new one.
    if timestamp is None or abs(now - timestamp) > WEBHOOK_TOLERANCE_SECONDS:
        raise InvalidSignature()
    expected = webhook_signature(secret, timestamp, body).partition(",v1=")[2]
    # Every candidate is compared in constant time (a provider may send several while rotating keys).
    if not any(hmac.compare_digest(expected.encode(), signature.encode()) for signature in signatures):
        raise InvalidSignature()
