"""Catalog errors, each with its status and API.md code."""

from shop.core.errors import Conflict, NotFound, UnprocessableEntity, UnsupportedMediaType


class ProductNotFound(NotFound):
    pass


class CategoryNotFound(NotFound):
    pass


class VariantNotFound(NotFound):
    pass


class SkuTaken(Conflict):
    code = "sku_taken"


class SlugTaken(Conflict):
    code = "slug_taken"


class CategoryNotEmpty(Conflict):
    code = "category_not_empty"


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class InvalidReference(UnprocessableEntity):
    """A body names a category (or parent) that does not exist, or would make a cycle."""


class UnsupportedCatalogFile(UnsupportedMediaType):
    """An import upload that is neither CSV nor JSON Lines."""


class UnusableCatalogFile(UnprocessableEntity):
    """An import upload that cannot be read at all (wrong header, not UTF-8): nothing is queued."""
