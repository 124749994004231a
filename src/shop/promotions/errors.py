"""Promotion errors, each with its status and stable code."""

from shop.core.errors import Conflict, NotFound


class PromotionNotFound(NotFound):
    pass


class PromotionCodeNotFound(NotFound):
    pass


class CodeTaken(Conflict):
    """Codes are unique across every promotion, compared case-insensitively."""

    code = "code_taken"


class PromotionIsAutomatic(Conflict):
    """An automatic promotion applies without a code: a code for it would mean nothing."""

    code = "promotion_is_automatic"


class PromotionHasCodes(Conflict):
    """A promotion with codes cannot become automatic: delete its codes first."""

    code = "promotion_has_codes"


class BulkGenerationInProgress(Conflict):
    """Another bulk run holds the turn: this one did not start, and a retry shortly may."""

    code = "bulk_generation_in_progress"
    final = False
    response_headers = ("Retry-After",)
    # A run of 10,000 codes takes a few seconds.
    RETRY_AFTER = 5

    def __init__(self, detail: str = "Another bulk code run is in progress; retry shortly.") -> None:
        super().__init__(detail, headers={"Retry-After": str(self.RETRY_AFTER)})


class LimitBelowUses(Conflict):
    """A usage limit below the uses orders already hold: cancel those orders, or keep the limit."""

    code = "limit_below_uses"
