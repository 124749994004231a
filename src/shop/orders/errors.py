"""Cart, checkout, lifecycle and payment errors, each with its status and API.md code."""

from collections.abc import Sequence

from shop.core.errors import BadRequest, Conflict, NotFound, ShopError, UnprocessableEntity
from shop.pricing import Refusal
from shop.products.errors import InsufficientStock

__all__ = [
    "ChargeGivenBack",
    "CouponRefused",
    "EmptyOrder",
    "InsufficientStock",
    "InvalidSignature",
    "InvalidTransition",
    "OrderNotFound",
    "PaymentDeclined",
    "PaymentInProgress",
    "PaymentProviderError",
    "ShippingMethodUnavailable",
    "ShippingUnavailable",
    "VariantUnavailable",
]


class OrderNotFound(NotFound):
    def __init__(self) -> None:
        # Also the answer for another customer's order: its existence is not revealed.
        super().__init__("No such order.")


class EmptyOrder(UnprocessableEntity):
    code = "empty_order"

    def __init__(self) -> None:
        super().__init__("The order has no lines (and the cart is empty).")


class VariantUnavailable(UnprocessableEntity):
    code = "variant_unavailable"


class ShippingUnavailable(UnprocessableEntity):
    code = "shipping_unavailable"

    def __init__(self, country: str, loc: Sequence[str]) -> None:
        super().__init__(
            f"The shop does not ship to {country}.",
            errors=[{"loc": list(loc), "msg": "No shipping to this country", "type": "shipping_unavailable"}],
        )


class ShippingMethodUnavailable(UnprocessableEntity):
    code = "shipping_method_unavailable"

    def __init__(self, detail: str, loc: Sequence[str]) -> None:
        super().__init__(
            detail,
            errors=[{"loc": list(loc), "msg": "Not offered here", "type": "shipping_method_unavailable"}],
        )


# What a storefront can show for each reason a code is refused.
REFUSALS = {
    Refusal.unknown: "There is no such code.",
    Refusal.expired: "This code has expired.",
    Refusal.not_yet_valid: "This code is not valid yet.",
    Refusal.used_up: "This code has been used up.",
    Refusal.not_for_this_customer: "This code is not available to your account.",
    Refusal.minimum_not_met: "The cart does not reach this code's minimum amount.",
    Refusal.not_applicable: "Nothing in the cart is discounted by this code.",
}


class CouponRefused(UnprocessableEntity):
    """A code that does not apply; `errors[0].type` says why (one of shop.pricing.Refusal)."""

    code = "coupon_refused"

    def __init__(self, reason: Refusal, loc: Sequence[str], detail: str | None = None) -> None:
        super().__init__(
            detail or f"The code cannot be used: {REFUSALS[reason]}",
            errors=[{"loc": list(loc), "msg": REFUSALS[reason], "type": reason.value}],
        )
        self.reason = reason


class InvalidTransition(Conflict):
    code = "invalid_transition"


class PaymentDeclined(ShopError):
    status = 402
    code = "payment_declined"
    # The declined attempt is recorded although the request fails.
    keeps_changes = True


class PaymentInProgress(Conflict):
    code = "payment_in_progress"
    final = False
    response_headers = ("Retry-After",)

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            "A payment of this order is in progress; its outcome is known shortly.",
            headers={"Retry-After": str(max(1, retry_after_seconds))},
        )


class PaymentProviderError(ShopError):
    """The provider failed or did not answer. Unless it said for certain that it did nothing
    (`nothing_done`), the money may have moved: the intent waits for its lease to settle."""

    status = 502
    code = "payment_provider_error"

    def __init__(self, detail: str, *, nothing_done: bool = False) -> None:
        super().__init__(detail)
        self.nothing_done = nothing_done


class ChargeGivenBack(InvalidTransition):
    """The charge went through for an order that could no longer take it: it is being refunded."""

    keeps_changes = True  # the charge and its refund are recorded although the request fails

    def __init__(self) -> None:
        super().__init__("The order can no longer be paid; the charge is being refunded.")


class InvalidSignature(BadRequest):
    code = "invalid_signature"

    def __init__(self) -> None:
        super().__init__("The webhook signature is missing, wrong or too old.")
