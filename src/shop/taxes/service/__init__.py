"""The tax domain's business rules, one module per concern; each service is a module singleton."""

from shop.taxes.service.rates import NOWHERE, UNKNOWN_COUNTRY, RateService, rates
from shop.taxes.service.tax_classes import TaxClassService, tax_classes
from shop.taxes.service.tax_rates import TaxRateService, tax_rates

__all__ = [
    "NOWHERE",
    "UNKNOWN_COUNTRY",
    "RateService",
    "TaxClassService",
    "TaxRateService",
    "rates",
    "tax_classes",
    "tax_rates",
]
