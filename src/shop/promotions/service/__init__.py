"""The promotions domain's business rules, one module per concern; each service is a module singleton."""

from shop.promotions.service.codes import CodeService, codes
from shop.promotions.service.promotions import PromotionService, promotions

__all__ = ["CodeService", "PromotionService", "codes", "promotions"]
