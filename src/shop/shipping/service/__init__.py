"""The shipping domain's business rules, one module per concern; each service is a module singleton."""

from shop.shipping.service.methods import MethodService, methods
from shop.shipping.service.quotes import Quote, QuoteService, quotes
from shop.shipping.service.zones import ZoneService, zones

__all__ = ["MethodService", "Quote", "QuoteService", "ZoneService", "methods", "quotes", "zones"]
