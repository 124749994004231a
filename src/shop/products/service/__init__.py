"""The catalog's business rules, one module per concern; each service is a module singleton."""

from shop.products.service.catalog import CatalogService, catalog
from shop.products.service.categories import CategoryService, categories

__all__ = ["CatalogService", "CategoryService", "catalog", "categories"]
