"""An independent reference for the pricing rules: Decimal in major units, quantized to the
currency's exponent, with Fractions for the allocation. Written apart from shop.pricing (which
works in integer minor units), so that one cannot share a mistake with the other."""

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction

from shop.pricing import AmountOff, Line, PercentOff, TaxMode


def major(minor: int, exponent: int) -> Decimal:
    return Decimal(minor).scaleb(-exponent)


def minor(amount: Decimal, exponent: int) -> int:
    scaled = amount.scaleb(exponent)
    assert scaled == scaled.to_integral_value(), amount
    return int(scaled)


def hamilton(amount: Decimal, weights: list[Decimal], unit: Decimal) -> list[Decimal]:
    """Largest-remainder apportionment of `amount` in steps of `unit`, earlier first on ties."""
    total = sum(weights, Decimal(0))
    if total == 0:
        return [Decimal(0)] * len(weights)
    exact = [Fraction(amount) * Fraction(weight) / Fraction(total) for weight in weights]
    floors = [Decimal(int(share / Fraction(unit))) * unit for share in exact]
    left = int((amount - sum(floors, Decimal(0))) / unit)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - Fraction(floors[i])), i))
    for i in order[:left]:
        floors[i] += unit
    return floors


def expected(
    lines: list[Line],
    *,
    exponent: int,
    mode: TaxMode,
    percents: dict[str, Decimal],
    shipping: int,
    shipping_class: str,
    order_discount: PercentOff | AmountOff | None,
) -> dict[str, object]:
    """Subtotal, discount, tax per rate, tax and total of an order with at most one discount off
    the whole order: what the documented rules say, computed another way."""
    unit = Decimal(1).scaleb(-exponent)
    subtotals = [major(line.unit_price, exponent) * line.quantity for line in lines]
    subtotal = sum(subtotals, Decimal(0))
    if isinstance(order_discount, PercentOff):
        discount = (subtotal * order_discount.percent / 100).quantize(unit, rounding=ROUND_HALF_UP)
    elif isinstance(order_discount, AmountOff):
        discount = min(major(order_discount.amount, exponent), subtotal)
    else:
        discount = Decimal(0)
    after = [s - d for s, d in zip(subtotals, hamilton(discount, subtotals, unit), strict=True)]
    by_rate: dict[Decimal, Decimal] = {}
    for line, amount in zip(lines, after, strict=True):
        rate = percents[line.tax_class]
        by_rate[rate] = by_rate.get(rate, Decimal(0)) + amount
    shipping_major = major(shipping, exponent)
    rate = percents[shipping_class]
    by_rate[rate] = by_rate.get(rate, Decimal(0)) + shipping_major
    taxes: dict[Decimal, int] = {}
    for rate, base in by_rate.items():
        if base == 0:
            continue
        divisor = 100 if mode is TaxMode.exclusive else 100 + rate
        taxes[rate] = minor((base * rate / divisor).quantize(unit, rounding=ROUND_HALF_UP), exponent)
    tax = sum(taxes.values())
    charged = subtotal - discount + shipping_major
    total = minor(charged, exponent) + (tax if mode is TaxMode.exclusive else 0)
    assert discount == discount.quantize(unit, rounding=ROUND_FLOOR)
    return {
        "subtotal": minor(subtotal, exponent),
        "discount": minor(discount, exponent),
        "taxes": taxes,
        "tax": tax,
        "total": total,
    }
