"""What a price is computed from: the cart, where it goes, how, for whom, under which taxes and promotions.

Everything here is data the caller loaded; nothing is looked up. Amounts are integers of the
store currency's minor unit, in the store's tax mode (gross in a store that enters prices
including tax, net in one that enters them excluding it): a line's unit price, a fixed amount
off, a shipping charge and a subtotal threshold are all read the same way.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shop.pricing.arithmetic import PPM, ppm

# The tax classes every store has; an admin may define more (any other name).
STANDARD = "standard"
REDUCED = "reduced"
ZERO = "zero"


class TaxMode(StrEnum):
    """How the store enters its prices: EU shops enter what the customer pays, US shops the net price."""

    inclusive = "inclusive"
    exclusive = "exclusive"


@dataclass(frozen=True, slots=True)
class Line:
    product_id: uuid.UUID
    variant_id: uuid.UUID
    unit_price: int
    quantity: int
    tax_class: str = STANDARD
    category_ids: frozenset[uuid.UUID] = frozenset()

    def __post_init__(self) -> None:
        if self.unit_price < 0 or self.quantity < 1:
            raise ValueError("a line has a unit price >= 0 and a quantity >= 1")


@dataclass(frozen=True, slots=True)
class Destination:
    country: str  # ISO 3166-1 alpha-2, upper case
    region: str | None = None  # ISO 3166-2 subdivision code, such as "ES-CN" (Canary Islands)


@dataclass(frozen=True, slots=True)
class TaxRate:
    """The rate of one tax class in a country, or in one region of it (which then wins)."""

    tax_class: str
    country: str
    percent: Decimal
    region: str | None = None
    ppm: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rate = ppm(self.percent)
        if not 0 <= rate <= PPM:
            raise ValueError("a tax rate is between 0 and 100 %")
        object.__setattr__(self, "ppm", rate)


@dataclass(frozen=True, slots=True)
class Band:
    """From this subtotal on (inclusive), shipping costs `amount`."""

    from_subtotal: int
    amount: int


@dataclass(frozen=True, slots=True)
class ShippingRate:
    """A shipping method's price: flat (one band from 0), or by subtotal bands, free from a threshold.

    The subtotal it is judged on is the lines' after their discounts, so a discount cannot buy
    free shipping with money the customer does not pay.
    """

    bands: tuple[Band, ...]
    free_from: int | None = None
    tax_class: str = STANDARD

    def __post_init__(self) -> None:
        starts = [band.from_subtotal for band in self.bands]
        if not starts or starts[0] != 0 or starts != sorted(set(starts)):
            raise ValueError("shipping bands start at 0 and rise strictly")
        if any(band.amount < 0 for band in self.bands):
            raise ValueError("a shipping band costs >= 0")

    def charge(self, subtotal: int) -> int:
        """The price of shipping lines worth `subtotal`: the last band it reaches, or 0 from the threshold."""
        if self.free_from is not None and subtotal >= self.free_from:
            return 0
        amount = self.bands[0].amount
        for band in self.bands:
            if band.from_subtotal > subtotal:
                break
            amount = band.amount
        return amount

    @classmethod
    def flat(cls, amount: int, *, free_from: int | None = None, tax_class: str = STANDARD) -> "ShippingRate":
        return cls(bands=(Band(0, amount),), free_from=free_from, tax_class=tax_class)


@dataclass(frozen=True, slots=True)
class Customer:
    """What a promotion's conditions may ask about the customer; `id` None is a guest."""

    id: uuid.UUID | None = None
    groups: frozenset[str] = frozenset()
    first_order: bool = False


@dataclass(frozen=True, slots=True)
class PercentOff:
    percent: Decimal
    ppm: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rate = ppm(self.percent)
        if not 0 < rate <= PPM:
            raise ValueError("a percentage off is above 0 and at most 100 %")
        object.__setattr__(self, "ppm", rate)


@dataclass(frozen=True, slots=True)
class AmountOff:
    """A fixed amount off what the promotion targets (all of it together, not each unit)."""

    amount: int

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("an amount off is above 0")


@dataclass(frozen=True, slots=True)
class FreeShipping:
    pass


Benefit = PercentOff | AmountOff | FreeShipping


@dataclass(frozen=True, slots=True)
class LineFilter:
    """The lines a promotion applies to: a line matches when its product, its variant or one of
    its categories is named. No filter on a promotion means the whole order."""

    product_ids: frozenset[uuid.UUID] = frozenset()
    variant_ids: frozenset[uuid.UUID] = frozenset()
    category_ids: frozenset[uuid.UUID] = frozenset()

    def matches(self, line: Line) -> bool:
        return (
            line.product_id in self.product_ids
            or line.variant_id in self.variant_ids
            or not self.category_ids.isdisjoint(line.category_ids)
        )


@dataclass(frozen=True, slots=True)
class Conditions:
    """When a promotion applies. Every condition given must hold; none given means always.

    The window is [starts_at, ends_at). The minimum is on the subtotal before any discount.
    Customer ids and groups together say who may use it: a customer named, or in a group named.
    """

    min_subtotal: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    first_order_only: bool = False
    customer_ids: frozenset[uuid.UUID] = frozenset()
    customer_groups: frozenset[str] = frozenset()


ALWAYS = Conditions()


@dataclass(frozen=True, slots=True)
class Promotion:
    id: uuid.UUID
    name: str
    benefit: Benefit
    applies_to: LineFilter | None = None
    conditions: Conditions = ALWAYS


@dataclass(frozen=True, slots=True)
class Coupon:
    """A code the customer entered, with what the caller found for it.

    `promotion` None: no such code. The uses are counted by the caller (redemptions so far, in
    all and by this customer); the limits None mean unlimited. These counts make the cart's
    answer; the checkout must still take the redemption under a lock, as they can change.
    """

    code: str
    promotion: Promotion | None
    uses: int = 0
    max_uses: int | None = None
    customer_uses: int = 0
    max_uses_per_customer: int | None = None
