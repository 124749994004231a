"""Cart, checkout, lifecycle and payment errors, each with its status and API.md code."""

from shop.core.errors import BadRequest, Conflict, NotFound, ShopError, UnprocessableEntity
from shop.products.errors import InsufficientStock

__all__ = [
    "ChargeGivenBack",
    "EmptyOrder",
    "InsufficientStock",
    "InvalidSignature",
    "InvalidTransition",
    "OrderNotFound",
    "PaymentDeclined",
    "PaymentInProgress",
    "PaymentProviderError",
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
