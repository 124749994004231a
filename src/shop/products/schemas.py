"""Catalog request and response models."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, field_validator

from shop.core.schemas import Money, Schema
from shop.taxes.schemas import TaxClassCode

Slug = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
ImageUrl = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^https?://\S+$")]
Attributes = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=50)], Annotated[str, Field(max_length=200)]],
    Field(max_length=50),
]
# Shared by the admin bodies and the import file, so both accept exactly the same values.
Description = Annotated[str, Field(max_length=20_000)]
VariantName = Annotated[str, Field(max_length=200)]
Images = Annotated[list[ImageUrl], Field(max_length=20)]
MAX_AMOUNT = 10**12
MAX_STOCK = 10**9


class Price(Schema):
    """A price in the store's currency: integer minor units, never negative."""

    amount: StrictInt = Field(ge=0, le=MAX_AMOUNT, description="Integer amount in minor units (cents).")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code; must be the store's currency.")


class Category(Schema):
    id: uuid.UUID
    name: str
    slug: str
    parent_id: uuid.UUID | None


class CategoryList(Schema):
    items: list[Category]


class CategoryCreate(Schema):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    slug: Slug | None = None
    parent_id: uuid.UUID | None = None


class CategoryUpdate(Schema):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    slug: Slug | None = None
    parent_id: uuid.UUID | None = None


class Variant(Schema):
    id: uuid.UUID
    sku: str
    name: str
    price: Money
    stock_available: int
    attributes: dict[str, str]
    is_active: bool
    tax_class: str = Field(description="The code of the tax class its price is taxed under.")


class PriceRange(Schema):
    min: Money
    max: Money


class Product(Schema):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    category: Category | None
    images: list[str]
    is_active: bool
    variants: list[Variant]
    price_range: PriceRange | None
    created_at: datetime
    updated_at: datetime


class VariantCreate(Schema):
    sku: Sku
    name: VariantName = ""
    price: Price
    stock: StrictInt = Field(default=0, ge=0, le=MAX_STOCK)
    attributes: Attributes = Field(default_factory=dict)
    is_active: StrictBool = True
    tax_class: TaxClassCode = Field(
        default="standard",
        description="The code of its tax class. In a product update, a known variant keeps its class unless given.",
    )


class VariantUpdate(Schema):
    name: VariantName | None = None
    price: Price | None = None
    attributes: Attributes | None = None
    is_active: StrictBool | None = None
    tax_class: TaxClassCode | None = None


def distinct_skus(variants: list[VariantCreate]) -> list[VariantCreate]:
    skus = [variant.sku for variant in variants]
    if len(skus) != len(set(skus)):
        raise ValueError("each variant needs its own SKU")
    return variants


class ProductCreate(Schema):
    name: Name
    slug: Slug | None = None
    description: Description = ""
    category_id: uuid.UUID | None = None
    images: Images = Field(default_factory=list)
    is_active: StrictBool = True
    variants: Annotated[list[VariantCreate], Field(max_length=100)] = Field(default_factory=list)

    @field_validator("variants")
    @classmethod
    def _distinct_skus(cls, variants: list[VariantCreate]) -> list[VariantCreate]:
        return distinct_skus(variants)


class ProductUpdate(Schema):
    """Every field optional; `variants` are upserted by SKU (existing ones updated, new ones added)."""

    name: Name | None = None
    slug: Slug | None = None
    description: Description | None = None
    category_id: uuid.UUID | None = None
    images: Images | None = None
    is_active: StrictBool | None = None
    variants: Annotated[list[VariantCreate], Field(max_length=100)] | None = None

    @field_validator("variants")
    @classmethod
    def _distinct_skus(cls, variants: list[VariantCreate] | None) -> list[VariantCreate] | None:
        return None if variants is None else distinct_skus(variants)


class StockAdjustment(Schema):
    delta: StrictInt = Field(ge=-(10**9), le=10**9, description="Units to add (negative to remove); not zero.")
    reason: Annotated[str, Field(min_length=1, max_length=200)]

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, delta: int) -> int:
        if delta == 0:
            raise ValueError("delta must not be zero")
        return delta


class ImportAccepted(Schema):
    job_id: uuid.UUID


class SaleVariant(Schema):
    """A variant as a cart or an order sees it: its name, current price and stock, and whether it is for sale."""

    id: uuid.UUID
    product_id: uuid.UUID
    sku: str
    name: str  # "Product - Variant"
    price_amount: int
    stock: int
    for_sale: bool  # the variant is active and its product active and not archived
    tax_class: str = "standard"  # what its price is taxed under (shop.taxes)
    category_id: uuid.UUID | None = None  # its product's category, which a promotion may target


class StockChange(Schema):
    """Units given back to a variant, and why (a cancelled or refunded order)."""

    variant_id: uuid.UUID
    quantity: int = Field(gt=0)
    reason: str
    actor_id: uuid.UUID | None = None
