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


class LimitBelowUses(Conflict):
    """A usage limit below the uses orders already hold: cancel those orders, or keep the limit."""

    code = "limit_below_uses"
