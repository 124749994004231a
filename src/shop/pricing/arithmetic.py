"""Integer arithmetic on minor units: one rounding (half up) and one allocation (largest remainder).

Rates and percentages are integers of parts per million (19 % is 190_000), so that every
computation stays in integers: no float ever touches an amount, and no Decimal is built on the
hot path.
"""

from collections.abc import Sequence
from decimal import Decimal

PPM = 1_000_000  # parts per million: 100 % as a rate
_PPM_PER_PERCENT = Decimal(PPM // 100)


def ppm(percent: Decimal) -> int:
    """`percent` (such as Decimal("5.5")) as parts per million; at most four decimals are exact."""
    scaled = percent * _PPM_PER_PERCENT
    if scaled != scaled.to_integral_value():
        raise ValueError(f"a percentage has at most four decimals, not {percent}")
    return int(scaled)


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero (both >= 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def share(amount: int, rate_ppm: int) -> int:
    """`rate_ppm` of `amount`, rounded half up: a percentage off, or the tax on a net amount."""
    return divide_half_up(amount * rate_ppm, PPM)


def included_share(gross: int, rate_ppm: int) -> int:
    """The tax inside a gross amount taxed at `rate_ppm`: gross * r / (1 + r), rounded half up."""
    return divide_half_up(gross * rate_ppm, PPM + rate_ppm)


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` into parts proportional to `weights` that add up to it exactly.

    Largest remainder (Hamilton's method): every part is first rounded down, and the units left
    over go one each to the parts with the largest remainders, the earlier part first on a tie,
    so the result depends on nothing but the arguments. When amount <= sum(weights) no part
    exceeds its weight. Weights that are all zero split nothing (amount must then be 0).
    """
    total = sum(weights)
    if total == 0:
        if amount:
            raise ValueError("cannot allocate an amount over weights that are all zero")
        return [0] * len(weights)
    parts: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        part, remainder = divmod(amount * weight, total)
        parts.append(part)
        if remainder:
            remainders.append((-remainder, index))
    left = amount - sum(parts)
    if left:
        remainders.sort()
        for _, index in remainders[:left]:
            parts[index] += 1
    return parts
