"""Payment providers: the interface the shop charges through, the built-in `test` provider, and
the check of a provider's signed webhook calls.

A real provider (Stripe, Adyen, …) implements `PaymentProvider` with its HTTP API and is
registered in `PROVIDERS` under the name `SHOP_PAYMENT_PROVIDER` selects.
"""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Protocol

from shop.core.config import ConfigError
from shop.orders.errors import InvalidSignature, PaymentProviderError

WEBHOOK_TOLERANCE_SECONDS = 300


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


class PaymentProvider(Protocol):
    name: str

    async def charge(self, charge: Charge, token: str) -> ChargeResult:
        """Charge `token`; a decline is a result, an unreachable provider raises PaymentProviderError."""

    async def refund(self, reference: str, amount: int, currency: str) -> None:
        """Give a charge back in full; raises PaymentProviderError when the provider fails."""


class TestProvider:
    """Charges nothing: `tok_success` pays, `tok_error` fails like an outage, anything else declines."""

    name = "test"

    async def charge(self, charge: Charge, token: str) -> ChargeResult:
        match token:
            case "tok_success":
                return ChargeResult(succeeded=True, reference=f"test_ch_{uuid.uuid4().hex}")
            case "tok_error":
                raise PaymentProviderError("The payment provider failed; nothing was charged. Try again.")
            case "tok_declined":
                return ChargeResult(succeeded=False, reason="The card was declined.")
            case _:
                return ChargeResult(succeeded=False, reason="The payment token is not valid.")

    async def refund(self, reference: str, amount: int, currency: str) -> None:
        return None


PROVIDERS: dict[str, PaymentProvider] = {TestProvider.name: TestProvider()}


def get_provider(name: str) -> PaymentProvider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise ConfigError(f"SHOP_PAYMENT_PROVIDER: unknown provider {name!r}") from None


# -- webhooks ----------------------------------------------------------------------------------


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
