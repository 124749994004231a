"""Carts for the pricing tests: a few fixed ids and rates, and hypothesis strategies over them."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from shop.pricing import (
    REDUCED,
    STANDARD,
    ZERO,
    AmountOff,
    Band,
    Conditions,
    Coupon,
    Customer,
    Destination,
    FreeShipping,
    Line,
    LineFilter,
    PercentOff,
    Promotion,
    ShippingRate,
    TaxMode,
    TaxRate,
)

# Deterministic in CI and quick: the same examples on every run, no example database on disk.
PROPERTIES = settings(
    max_examples=150, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
BOOKS = "books"  # a class an admin defined
CLASSES = (STANDARD, REDUCED, ZERO, BOOKS)
PRODUCTS = tuple(uuid.UUID(int=n) for n in range(1, 5))
VARIANTS = tuple(uuid.UUID(int=100 + n) for n in range(1, 9))
CATEGORIES = tuple(uuid.UUID(int=200 + n) for n in range(1, 4))
CUSTOMER_ID = uuid.UUID(int=300)
# Rates as they are written somewhere in the world: whole, one decimal, three (New York City).
PERCENTS = ("0", "2.1", "5.5", "7", "8.875", "10", "19", "20", "21", "25.5", "27")
DE = Destination("DE")


def rates(standard: str = "19", reduced: str = "7", books: str = "7", country: str = "DE") -> list[TaxRate]:
    return [
        TaxRate(STANDARD, country, Decimal(standard)),
        TaxRate(REDUCED, country, Decimal(reduced)),
        TaxRate(ZERO, country, Decimal(0)),
        TaxRate(BOOKS, country, Decimal(books)),
    ]


def line(unit_price: int, quantity: int = 1, *, tax_class: str = STANDARD, n: int = 0, **ids: Any) -> Line:
    return Line(
        product_id=ids.get("product_id", PRODUCTS[n % len(PRODUCTS)]),
        variant_id=ids.get("variant_id", VARIANTS[n % len(VARIANTS)]),
        unit_price=unit_price,
        quantity=quantity,
        tax_class=tax_class,
        category_ids=ids.get("category_ids", frozenset()),
    )


def promotion(benefit: object, n: int = 1, **fields: Any) -> Promotion:
    return Promotion(id=uuid.UUID(int=1000 + n), name=f"promotion {n}", benefit=benefit, **fields)


amounts = st.integers(min_value=0, max_value=2_000_000)
percents = st.sampled_from(PERCENTS).map(Decimal)

lines = st.builds(
    Line,
    product_id=st.sampled_from(PRODUCTS),
    variant_id=st.sampled_from(VARIANTS),
    unit_price=amounts,
    quantity=st.integers(min_value=1, max_value=50),
    tax_class=st.sampled_from(CLASSES),
    category_ids=st.frozensets(st.sampled_from(CATEGORIES), max_size=2),
)
carts = st.lists(lines, min_size=1, max_size=8)

tax_tables = st.builds(
    lambda standard, reduced, books: rates(str(standard), str(reduced), str(books)), percents, percents, percents
)

shipping_rates = st.one_of(
    st.none(),
    st.builds(ShippingRate.flat, amounts, free_from=st.none() | amounts, tax_class=st.sampled_from(CLASSES)),
    st.builds(
        lambda pairs, free_from, tax_class: ShippingRate(
            bands=tuple(Band(start, amount) for start, amount in sorted({0: pairs[0][1], **dict(pairs)}.items())),
            free_from=free_from,
            tax_class=tax_class,
        ),
        st.lists(st.tuples(amounts, amounts), min_size=1, max_size=4),
        st.none() | amounts,
        st.sampled_from(CLASSES),
    ),
)

benefits = st.one_of(
    st.builds(PercentOff, st.sampled_from(("5", "10", "12.5", "33.33", "50", "100")).map(Decimal)),
    st.builds(AmountOff, st.integers(min_value=1, max_value=5_000_000)),
    st.just(FreeShipping()),
)
line_filters = st.none() | st.builds(
    LineFilter,
    product_ids=st.frozensets(st.sampled_from(PRODUCTS), max_size=2),
    variant_ids=st.frozensets(st.sampled_from(VARIANTS), max_size=2),
    category_ids=st.frozensets(st.sampled_from(CATEGORIES), max_size=1),
)
# Most generated promotions apply unconditionally, so that the discounts get exercised too.
conditions = st.sampled_from((Conditions(), Conditions())) | st.builds(
    Conditions,
    min_subtotal=st.none() | amounts,
    starts_at=st.none() | st.just(NOW - timedelta(days=1)) | st.just(NOW + timedelta(days=1)),
    ends_at=st.none() | st.just(NOW) | st.just(NOW + timedelta(days=1)),
    first_order_only=st.booleans(),
    customer_groups=st.frozensets(st.sampled_from(("vip", "staff")), max_size=1),
)


def _promotions(first_id: int) -> st.SearchStrategy[Promotion]:
    return st.builds(
        Promotion,
        id=st.integers(min_value=first_id, max_value=first_id + 50).map(lambda n: uuid.UUID(int=n)),
        name=st.just("generated"),
        benefit=benefits,
        applies_to=line_filters,
        conditions=conditions,
    )


# Automatic promotions and the coupons' promotions have ids of their own.
automatic = st.lists(_promotions(1000), max_size=3, unique_by=lambda promotion: promotion.id)
coupons = st.none() | st.builds(
    Coupon,
    code=st.just("CODE"),
    promotion=_promotions(2000) | _promotions(2000) | st.none(),
    uses=st.integers(min_value=0, max_value=3),
    max_uses=st.none() | st.integers(min_value=1, max_value=3),
)
customers = st.builds(
    Customer,
    id=st.just(CUSTOMER_ID),
    groups=st.frozensets(st.sampled_from(("vip", "staff")), max_size=1),
    first_order=st.booleans(),
)
modes = st.sampled_from(TaxMode)
