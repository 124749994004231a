"""The tax domain's business rules, one module per concern; each service is a module singleton."""

from shop.taxes.service.rates import NOWHERE, UNKNOWN_COUNTRY, RateService, rates

__all__ = ["NOWHERE", "UNKNOWN_COUNTRY", "RateService", "rates"]
