"""Shipping request and response models.

Amounts are Money in the store's currency (the service refuses another); a method's bands are
stored as shop.pricing reads them, `{"from_subtotal", "amount"}` in minor units.
"""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, field_validator, model_validator

from shop.core.countries import CountryCode
from shop.core.schemas import Money, Schema
from shop.pricing.inputs import Band, ShippingRate
from shop.taxes.schemas import TaxClassCode

MAX_AMOUNT = 10**12
MAX_BANDS = 50
Name = Annotated[str, Field(min_length=1, max_length=100)]
Countries = Annotated[list[CountryCode], Field(max_length=300)]
DeliveryDays = Annotated[StrictInt, Field(ge=0, le=365)]


class Amount(Schema):
    """An amount in the store's currency: integer minor units, never negative."""

    amount: StrictInt = Field(ge=0, le=MAX_AMOUNT, description="Integer amount in minor units (cents).")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code; must be the store's currency.")


class BandIn(Schema):
    from_subtotal: Amount = Field(description="From this subtotal on (inclusive, after discounts)...")
    price: Amount = Field(description="...shipping costs this.")


class BandOut(Schema):
    from_subtotal: Money
    price: Money


def rising_bands(bands: list[BandIn]) -> list[BandIn]:
    """The rule shop.pricing holds a price to: the first band from 0, each next one higher."""
    try:
        ShippingRate(bands=tuple(Band(band.from_subtotal.amount, band.price.amount) for band in bands))
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return bands


Bands = Annotated[list[BandIn], Field(min_length=1, max_length=MAX_BANDS)]


def ordered_days(low: int | None, high: int | None) -> None:
    if low is not None and high is not None and low > high:
        raise ValueError("min_delivery_days must not exceed max_delivery_days")


class ShippingMethod(Schema):
    id: uuid.UUID
    zone_id: uuid.UUID
    name: str
    bands: list[BandOut]
    free_from: Money | None = Field(description="From this subtotal on, shipping is free; null: never.")
    tax_class: str
    min_delivery_days: int | None
    max_delivery_days: int | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ShippingMethodCreate(Schema):
    name: Name
    bands: Bands
    free_from: Amount | None = None
    tax_class: TaxClassCode = "standard"
    min_delivery_days: DeliveryDays | None = None
    max_delivery_days: DeliveryDays | None = None
    is_active: StrictBool = True

    @field_validator("bands")
    @classmethod
    def _bands(cls, bands: list[BandIn]) -> list[BandIn]:
        return rising_bands(bands)

    @model_validator(mode="after")
    def _days(self) -> "ShippingMethodCreate":
        ordered_days(self.min_delivery_days, self.max_delivery_days)
        return self


class ShippingMethodUpdate(Schema):
    """Every field optional; `free_from` and the delivery days take null to clear them."""

    name: Name | None = None
    bands: Bands | None = None
    free_from: Amount | None = None
    tax_class: TaxClassCode | None = None
    min_delivery_days: DeliveryDays | None = None
    max_delivery_days: DeliveryDays | None = None
    is_active: StrictBool | None = None

    @field_validator("bands")
    @classmethod
    def _bands(cls, bands: list[BandIn] | None) -> list[BandIn] | None:
        return None if bands is None else rising_bands(bands)


class ShippingZone(Schema):
    id: uuid.UUID
    name: str
    is_default: bool = Field(description="Serves every country no other zone names.")
    countries: list[str] = Field(description="ISO 3166-1 alpha-2 codes, in alphabetical order.")
    created_at: datetime
    updated_at: datetime


class ShippingZoneCreate(Schema):
    name: Name
    countries: Countries = Field(default_factory=list, description="May be empty only for the default zone.")
    is_default: StrictBool = False

    @model_validator(mode="after")
    def _somewhere(self) -> "ShippingZoneCreate":
        if not self.countries and not self.is_default:
            raise ValueError("a zone that is not the default names at least one country")
        return self


class ShippingZoneUpdate(Schema):
    """Every field optional; `countries` replaces the zone's whole set."""

    name: Name | None = None
    countries: Countries | None = None
    is_default: StrictBool | None = None
