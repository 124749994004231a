"""The promotions domain's business rules, one module per concern; each service is a module singleton."""

from shop.promotions.service.codes import CodeService, codes
from shop.promotions.service.promotions import PromotionService, promotions
from shop.promotions.service.redemptions import Claim, FoundCode, Limits, Offer, RedemptionService, redemptions

__all__ = [
    "Claim",
    "CodeService",
    "FoundCode",
    "Limits",
    "Offer",
    "PromotionService",
    "RedemptionService",
    "codes",
    "promotions",
    "redemptions",
]
