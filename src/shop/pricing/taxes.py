"""Tax by destination and by rate: which rate each tax class has where the order goes, and how much
tax each line and the shipping carry."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shop.pricing.arithmetic import allocate, included_share, share
from shop.pricing.breakdown import TaxTotal
from shop.pricing.inputs import Destination, TaxMode, TaxRate


class MissingTaxRate(LookupError):
    """No rate is defined for a tax class at the destination: the store's tax setup is incomplete."""

    def __init__(self, tax_class: str, destination: Destination) -> None:
        super().__init__(f"no {tax_class!r} tax rate for {destination.country} {destination.region or ''}".rstrip())
        self.tax_class = tax_class
        self.destination = destination


def rates_for(destination: Destination, rates: Sequence[TaxRate]) -> dict[str, TaxRate]:
    """The rate of each tax class at `destination`: its region's rate if it has one, else the country's."""
    found: dict[str, TaxRate] = {}
    for rate in rates:
        if rate.country != destination.country:
            continue
        if rate.region is None:
            found.setdefault(rate.tax_class, rate)
        elif rate.region == destination.region:
            found[rate.tax_class] = rate
    return found


@dataclass(frozen=True, slots=True)
class Taxed:
    taxes: list[int]  # one per amount, in order
    totals: tuple[TaxTotal, ...]


def tax(amounts: Sequence[int], rates: Sequence[int], mode: TaxMode) -> Taxed:
    """The tax of each amount (gross or net as `mode` says), each taxed at the rate (ppm) beside it.

    The tax of a rate is computed once, on the sum of all amounts at that rate, rounded half up,
    and then allocated to the amounts in proportion (largest remainder), so the lines' taxes add
    up exactly to the invoice's tax per rate.
    """
    by_rate: dict[int, list[int]] = {}
    for index, rate in enumerate(rates):
        by_rate.setdefault(rate, []).append(index)
    taxes = [0] * len(amounts)
    totals: list[TaxTotal] = []
    for rate in sorted(by_rate):
        indexes = by_rate[rate]
        weights = [amounts[i] for i in indexes]
        base = sum(weights)
        total = share(base, rate) if mode is TaxMode.exclusive else included_share(base, rate)
        for index, part in zip(indexes, allocate(total, weights), strict=True):
            taxes[index] = part
        if base == 0:
            continue  # nothing at this rate is charged: no row on the invoice
        taxable = base if mode is TaxMode.exclusive else base - total
        totals.append(TaxTotal(rate=percent(rate), taxable=taxable, tax=total))
    return Taxed(taxes=taxes, totals=tuple(totals))


def percent(rate_ppm: int) -> Decimal:
    """A rate in ppm as the percentage people read: 190000 is Decimal("19"), 55000 is Decimal("5.5")."""
    value = Decimal(rate_ppm).scaleb(-4).normalize()
    # normalize() writes 20 as 2E+1; a whole percentage is written whole.
    return value.quantize(_WHOLE) if value == value.to_integral_value() else value


_WHOLE = Decimal(1)
