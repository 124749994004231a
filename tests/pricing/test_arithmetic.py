"""The two integer operations every amount goes through: rounding half up, and largest-remainder allocation."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.pricing.arithmetic import allocate, divide_half_up, included_share, ppm, share
from tests.pricing.carts import PROPERTIES


@pytest.mark.parametrize(
    ("numerator", "denominator", "result"), [(5, 10, 1), (4, 10, 0), (15, 10, 2), (25, 10, 3), (0, 7, 0), (7, 7, 1)]
)
def test_halves_round_up_not_to_even(numerator: int, denominator: int, result: int) -> None:
    assert divide_half_up(numerator, denominator) == result


def test_rates_are_exact_to_four_decimals_of_a_percent() -> None:
    assert ppm(Decimal("19")) == 190_000
    assert ppm(Decimal("8.875")) == 88_750
    assert share(10_000, ppm(Decimal("8.875"))) == 888  # 887.5 rounds up
    assert included_share(11_900, ppm(Decimal("19"))) == 1_900
    with pytest.raises(ValueError, match="four decimals"):
        ppm(Decimal("8.87501"))


def test_leftover_units_go_to_the_largest_remainders_then_to_the_earlier_part() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    assert allocate(10, [3, 3, 4]) == [3, 3, 4]
    assert allocate(7, [10, 25, 65]) == [1, 2, 4]  # 0.7, 1.75, 4.55: the .75 gets the unit left
    assert allocate(0, [0, 0]) == [0, 0]


@PROPERTIES
@given(
    amount=st.integers(min_value=0, max_value=10**9), weights=st.lists(st.integers(0, 10**7), min_size=1, max_size=30)
)
def test_an_allocation_adds_up_exactly_and_no_part_exceeds_its_weight(amount: int, weights: list[int]) -> None:
    total = sum(weights)
    if total == 0:
        assert allocate(0, weights) == [0] * len(weights)
        return
    amount = min(amount, total)
    parts = allocate(amount, weights)
    assert sum(parts) == amount
    for part, weight in zip(parts, weights, strict=True):
        assert 0 <= part <= weight
        assert abs(part * total - amount * weight) < total  # within one unit of the exact share
    assert allocate(amount, weights) == parts


def test_an_amount_over_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="all zero"):
        allocate(1, [0, 0])
