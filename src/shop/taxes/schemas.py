"""Tax request and response models.

A rate travels as the decimal string people write ("19", "5.5", "8.875") and is stored in parts
per million (shop.pricing.arithmetic.ppm), so no float ever holds it.
"""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from shop.core.countries import CountryCode, RegionCode
from shop.core.schemas import Schema

TaxClassCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^[a-z0-9_-]+$",
        description="A tax class's code: lower-case letters, digits, `_` and `-` (e.g. `standard`).",
    ),
]
TaxClassName = Annotated[str, Field(min_length=1, max_length=100)]
# 0 to 100 with at most four decimals: the precision shop.pricing computes exactly in ppm.
Percent = Annotated[
    str,
    Field(
        pattern=r"^(?:100(?:\.0{1,4})?|[1-9]?[0-9](?:\.[0-9]{1,4})?)$",
        description='A percentage from 0 to 100 with at most 4 decimals, as a string: "19", "5.5", "8.875".',
        examples=["19"],
    ),
]


class TaxClass(Schema):
    id: uuid.UUID
    code: str
    name: str
    builtin: bool = Field(description="standard, reduced and zero: they cannot be deleted.")
    created_at: datetime
    updated_at: datetime


class TaxClassCreate(Schema):
    code: TaxClassCode
    name: TaxClassName


class TaxClassUpdate(Schema):
    """The name only: the code is what variants and shipping methods refer to, and never changes."""

    name: TaxClassName | None = None


class TaxRate(Schema):
    id: uuid.UUID
    tax_class: str
    country: str
    region: str | None
    rate: str = Field(description='The percentage, normalised: "19", "5.5", "8.875".')
    created_at: datetime
    updated_at: datetime


class TaxRateCreate(Schema):
    tax_class: TaxClassCode
    country: CountryCode
    region: RegionCode | None = None
    rate: Percent

    @model_validator(mode="after")
    def _region_in_country(self) -> "TaxRateCreate":
        if self.region is not None and not self.region.startswith(f"{self.country}-"):
            raise ValueError(f"region {self.region} is not in country {self.country}")
        return self


class TaxRateUpdate(Schema):
    rate: Percent
