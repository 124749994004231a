"""The built-in `test` payment provider: a sandbox that moves no money.

Tokens: `tok_success` pays, `tok_declined` declines, `tok_error` fails like an outage before
anything is charged, and any other token is declined as not valid. Like a real provider it keeps
a ledger, in the shop's Redis so that every process (each server, each worker) sees the same
one, and it honours idempotency keys: a call repeated with a key it has seen gets the first
answer, and a charge is refunded at most once.

Its controls (for tests and demos, through the same Redis) make the failures a real provider's
network has: `inject_faults` queues faults for the next calls (`down`: the call fails before
anything happens; `lose_answer`: the money moves, then the answer is lost) and `set_latency`
delays every answer after the money has moved.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING

from shop.orders.errors import PaymentProviderError
from shop.orders.providers import Charge, ChargeResult, RefundRequest

if TYPE_CHECKING:  # the cache module loads the metrics, which `shop serve`'s supervisor must not
    from shop.core.cache import RedisClient

PREFIX = "shop:sandbox:"
LEDGER_TTL_SECONDS = 90 * 24 * 3600
_FAULTS = PREFIX + "faults"
_LATENCY = PREFIX + "latency_ms"


class Fault(StrEnum):
    down = "down"
    lose_answer = "lose_answer"


class TestProvider:
    name = "test"

    def __init__(self, redis: RedisClient) -> None:
        self.redis = redis

    async def charge(self, charge: Charge, token: str, *, idempotency_key: str) -> ChargeResult:
        fault = await self._next_fault()
        if fault is Fault.down or token == "tok_error":  # noqa: S105 (a sandbox token, not a secret)
            raise PaymentProviderError(
                "The payment provider failed; nothing was charged. Try again.", nothing_done=True
            )
        match token:
            case "tok_success":
                result = ChargeResult(succeeded=True, reference=f"test_ch_{uuid.uuid4().hex}")
            case "tok_declined":
                result = ChargeResult(succeeded=False, reason="The card was declined.")
            case _:
                result = ChargeResult(succeeded=False, reason="The payment token is not valid.")
        stored = json.dumps({"succeeded": result.succeeded, "reference": result.reference, "reason": result.reason})
        key = _charge_key(idempotency_key)
        if not await self.redis.set(key, stored, nx=True, ex=LEDGER_TTL_SECONDS):
            result = await self._stored_charge(key) or result  # a repeated key: the first answer
        elif result.succeeded:
            await self.redis.incr(_charges_key(charge.order_id))
        await self._answer(fault)
        return result

    async def find_charge(self, idempotency_key: str) -> ChargeResult | None:
        fault = await self._next_fault()
        if fault is Fault.down:
            raise PaymentProviderError("The payment provider failed. Try again.", nothing_done=True)
        result = await self._stored_charge(_charge_key(idempotency_key))
        await self._answer(fault)
        return result

    async def refund(self, refund: RefundRequest, *, idempotency_key: str) -> str:
        fault = await self._next_fault()
        if fault is Fault.down:
            raise PaymentProviderError(
                "The payment provider failed; nothing was refunded. Try again.", nothing_done=True
            )
        key = PREFIX + "refund:" + idempotency_key
        reference = f"test_re_{uuid.uuid4().hex}"
        if not await self.redis.set(key, reference, nx=True, ex=LEDGER_TTL_SECONDS):
            reference = _text(await self.redis.get(key) or reference)  # a repeated key: the first answer
        elif await self.redis.incr(_refunds_key(refund.reference)) > 1:
            await self.redis.decr(_refunds_key(refund.reference))
            await self.redis.delete(key)
            # As a real provider answers a second refund of a fully refunded charge.
            raise PaymentProviderError("The charge has already been refunded.", nothing_done=True)
        await self._answer(fault)
        return reference

    async def _stored_charge(self, key: str) -> ChargeResult | None:
        raw = await self.redis.get(key)
        if raw is None:
            return None
        data = json.loads(raw)
        return ChargeResult(succeeded=data["succeeded"], reference=data["reference"], reason=data["reason"])

    async def _next_fault(self) -> Fault | None:
        raw = await self.redis.lpop(_FAULTS)
        return Fault(_text(raw)) if isinstance(raw, bytes | str) else None

    async def _answer(self, fault: Fault | None) -> None:
        latency = await self.redis.get(_LATENCY)
        if latency:
            await asyncio.sleep(int(_text(latency)) / 1000)
        if fault is Fault.lose_answer:
            raise PaymentProviderError("The payment provider did not answer. Try again.")


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _charge_key(idempotency_key: str) -> str:
    return PREFIX + "charge:" + idempotency_key


def _charges_key(order_id: uuid.UUID) -> str:
    return PREFIX + "charges-of-order:" + str(order_id)


def _refunds_key(charge_reference: str) -> str:
    return PREFIX + "refunds-of-charge:" + charge_reference


# -- controls and the ledger's totals ----------------------------------------------------------


async def inject_faults(redis: RedisClient, *faults: Fault) -> None:
    """The next calls, one fault each, in order."""
    await redis.rpush(_FAULTS, *[fault.value for fault in faults])


async def set_latency(redis: RedisClient, milliseconds: int) -> None:
    await redis.set(_LATENCY, milliseconds)


async def charges_of(redis: RedisClient, order_id: uuid.UUID) -> int:
    """How many successful charges the sandbox made for an order."""
    return int(await redis.get(_charges_key(order_id)) or 0)


async def refunds_of(redis: RedisClient, charge_reference: str) -> int:
    """How many times the sandbox refunded a charge (a second refund is refused, as real providers do)."""
    return int(await redis.get(_refunds_key(charge_reference)) or 0)
