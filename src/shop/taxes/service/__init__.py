"""The tax domain's business rules, one module per concern; each service is a module singleton."""

from shop.taxes.service.tax_classes import TaxClassService, tax_classes
from shop.taxes.service.tax_rates import TaxRateService, tax_rates

__all__ = ["TaxClassService", "TaxRateService", "tax_classes", "tax_rates"]
