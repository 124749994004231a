"""Validating dependencies of the promotion routes."""

from fastapi import Depends

from shop.core.idempotency import idempotency_guard
from shop.core.security import get_principal

# `dependencies=[IdempotencyKey]` makes a route honour `Idempotency-Key` (shop.core.idempotency).
# The staff guard the admin router is mounted with (shop.api) has set the principal by then.
IdempotencyKey = Depends(idempotency_guard(get_principal))
