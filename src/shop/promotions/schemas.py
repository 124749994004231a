"""Promotion request and response models.

They accept exactly what shop.pricing can compute: a percentage off above 0 and at most 100 with
at most four decimals (`shop.pricing.arithmetic.ppm`), an amount off above 0, a window whose start
comes before its end. Amounts are in the store's currency (checked by the service, which knows it).
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, StrictBool, StrictInt, StringConstraints, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from shop.core.groups import CustomerGroups
from shop.core.schemas import Rfc3339Datetime, Schema
from shop.pricing.arithmetic import PPM, ppm
from shop.promotions.models import CODE_MAX_LENGTH

MAX_AMOUNT = 10**12
MAX_LIMIT = 10**9
MAX_IDS = 1000
MAX_BULK_CODES = 10_000
PREFIX_MAX_LENGTH = 10
CODE_MIN_LENGTH = 3

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Limit = Annotated[StrictInt, Field(ge=1, le=MAX_LIMIT)]


def _percent_off(value: str) -> str:
    if not 0 < ppm(Decimal(value)) <= PPM:
        raise ValueError("a percentage off is above 0 and at most 100")
    return value


Percent = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,3}(\.[0-9]{1,4})?$"),
    AfterValidator(_percent_off),
    Field(description='A decimal string above 0 and at most 100, with at most 4 decimals ("15", "12.5").'),
]


def percent_of(rate_ppm: int) -> str:
    """The percentage a rate in parts per million stands for, as the API writes it: 150000 is "15"."""
    return format((Decimal(rate_ppm) / (PPM // 100)).normalize(), "f")


def _distinct_ids(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(ids))


Ids = Annotated[list[uuid.UUID], Field(max_length=MAX_IDS), AfterValidator(_distinct_ids)]


class AmountOffMoney(Schema):
    """An amount off in the store's currency: integer minor units, above 0."""

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="Integer amount in minor units (cents).")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code; must be the store's currency.")


class Threshold(Schema):
    """A subtotal in the store's currency: integer minor units, never negative."""

    amount: StrictInt = Field(ge=0, le=MAX_AMOUNT, description="Integer amount in minor units (cents).")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code; must be the store's currency.")


class PercentOff(Schema):
    type: Literal["percent"]
    percent: Percent


class AmountOff(Schema):
    """A fixed amount off what the promotion targets, all of it together (not each unit)."""

    type: Literal["amount"]
    amount: AmountOffMoney


class FreeShipping(Schema):
    type: Literal["free_shipping"]


Benefit = Annotated[PercentOff | AmountOff | FreeShipping, Field(discriminator="type")]


class AppliesTo(Schema):
    """The lines discounted: those whose product, variant or one of whose categories is named."""

    product_ids: Ids = Field(default_factory=list)
    variant_ids: Ids = Field(default_factory=list)
    category_ids: Ids = Field(default_factory=list)


class Conditions(Schema):
    """When the promotion applies; every condition given must hold. The window is [starts_at, ends_at);
    the minimum is on the subtotal before any discount; customers named or in a group named may use it."""

    min_subtotal: Threshold | None = None
    starts_at: Rfc3339Datetime | None = None
    ends_at: Rfc3339Datetime | None = None
    first_order_only: StrictBool = False
    customer_ids: Ids = Field(default_factory=list)
    customer_groups: CustomerGroups = Field(default_factory=list)

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.starts_at is not None and self.ends_at is not None and self.starts_at >= self.ends_at:
            raise ValueError("starts_at must come before ends_at")
        return self


class PromotionCreate(Schema):
    name: Name
    automatic: StrictBool = Field(description="True: applies to every cart its conditions hold for; false: by code.")
    benefit: Benefit
    applies_to: AppliesTo | None = Field(default=None, description="None: the whole order.")
    conditions: Conditions = Field(default_factory=Conditions)
    max_uses: Limit | None = Field(default=None, description="Uses in all; none: unlimited.")
    max_uses_per_customer: Limit | None = Field(default=None, description="Uses by one customer; none: unlimited.")
    is_active: StrictBool = True


def _not_null(value: object) -> object:
    # Runs only on a value given: a field left out keeps its default (None) unvalidated.
    if value is None:
        raise ValueError("Input may not be null: leave the field out to keep it as it is")
    return value


class ConditionsUpdate(Schema):
    """Only the conditions given change, the others stay as they are; `min_subtotal`, `starts_at` and
    `ends_at` take null to clear them. The window the change leaves must still start before it ends."""

    min_subtotal: Threshold | None = None
    starts_at: Rfc3339Datetime | None = None
    ends_at: Rfc3339Datetime | None = None
    first_order_only: StrictBool | SkipJsonSchema[None] = None
    customer_ids: Ids | SkipJsonSchema[None] = None
    customer_groups: CustomerGroups | SkipJsonSchema[None] = None

    _given_not_null = field_validator("first_order_only", "customer_ids", "customer_groups")(_not_null)

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.starts_at is not None and self.ends_at is not None and self.starts_at >= self.ends_at:
            raise ValueError("starts_at must come before ends_at")
        return self


class PromotionUpdate(Schema):
    """Fields left out stay as they are. `applies_to` replaces the whole object (null: the whole
    order); `conditions` changes only the conditions it gives (null: no conditions at all);
    `max_uses` and `max_uses_per_customer` null: unlimited. The other fields cannot be null."""

    name: Name | SkipJsonSchema[None] = None
    automatic: StrictBool | SkipJsonSchema[None] = None
    benefit: Benefit | SkipJsonSchema[None] = None
    applies_to: AppliesTo | None = None
    conditions: ConditionsUpdate | None = None
    max_uses: Limit | None = None
    max_uses_per_customer: Limit | None = None
    is_active: StrictBool | SkipJsonSchema[None] = None

    _given_not_null = field_validator("name", "automatic", "benefit", "is_active")(_not_null)


class Promotion(Schema):
    id: uuid.UUID
    name: str
    automatic: bool
    benefit: Benefit
    applies_to: AppliesTo | None
    conditions: Conditions
    max_uses: int | None
    max_uses_per_customer: int | None
    uses: int = Field(description="Uses taken by orders not cancelled.")
    is_active: bool
    created_at: datetime
    updated_at: datetime


# A letter or a digit first: the CSV export must not start a cell with "-" (or "=", "+", "@"),
# which a spreadsheet would evaluate as a formula ("-1-1").
CodeText = Annotated[
    str,
    StringConstraints(
        pattern=rf"^[A-Za-z0-9][A-Za-z0-9_-]{{{CODE_MIN_LENGTH - 1},{CODE_MAX_LENGTH - 1}}}$",
        max_length=CODE_MAX_LENGTH,
    ),
    AfterValidator(str.upper),
    Field(
        description=(
            "Letters, digits, - and _, starting with a letter or a digit;"
            " matched case-insensitively, stored upper case."
        )
    ),
]
Prefix = Annotated[
    str,
    StringConstraints(
        pattern=rf"^[A-Za-z0-9][A-Za-z0-9_-]{{0,{PREFIX_MAX_LENGTH - 1}}}$", max_length=PREFIX_MAX_LENGTH
    ),
    AfterValidator(str.upper),
]


class PromotionCodeCreate(Schema):
    code: CodeText
    max_uses: Limit | None = Field(default=None, description="Uses of this code; none: unlimited.")


class PromotionCodeBulkCreate(Schema):
    count: StrictInt = Field(ge=1, le=MAX_BULK_CODES)
    prefix: Prefix | None = Field(default=None, description="Put before each code's random part (upper-cased).")
    length: StrictInt = Field(default=8, ge=6, le=16, description="Random characters after the prefix.")
    max_uses: Limit | None = Field(default=1, description="Uses of each code; null: unlimited.")


class PromotionCodesCreated(Schema):
    created: int
    prefix: str | None


class PromotionCode(Schema):
    id: uuid.UUID
    promotion_id: uuid.UUID
    code: str
    max_uses: int | None
    uses: int
    created_at: datetime
