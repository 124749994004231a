"""The shipping domain's business rules, one module per concern; each service is a module singleton."""

from shop.shipping.service.quotes import Quote, QuoteService, quotes

__all__ = ["Quote", "QuoteService", "quotes"]
