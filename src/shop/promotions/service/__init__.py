"""The promotions domain's business rules, one module per concern; each service is a module singleton."""

from shop.promotions.service.redemptions import Claim, FoundCode, Limits, Offer, RedemptionService, redemptions

__all__ = ["Claim", "FoundCode", "Limits", "Offer", "RedemptionService", "redemptions"]
