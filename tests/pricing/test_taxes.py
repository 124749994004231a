"""Tax by destination: the rate of a region wins over its country's, every class needs a rate, and
shipping is taxed at its own class's rate."""

from decimal import Decimal

import pytest

from shop.pricing import Destination, MissingTaxRate, ShippingRate, TaxMode, TaxRate, price, rates_for
from tests.pricing.carts import NOW, line

SPAIN = [
    TaxRate("standard", "ES", Decimal(21)),
    TaxRate("standard", "ES", Decimal(0), region="ES-CN"),  # the Canary Islands: outside EU VAT
    TaxRate("reduced", "ES", Decimal(10)),
    TaxRate("standard", "PT", Decimal(23)),
]


@pytest.mark.parametrize(
    ("destination", "standard", "reduced"),
    [
        (Destination("ES"), Decimal(21), Decimal(10)),
        (Destination("ES", "ES-CN"), Decimal(0), Decimal(10)),  # no regional reduced rate: the country's
        (Destination("ES", "ES-MD"), Decimal(21), Decimal(10)),
    ],
)
def test_a_regions_rate_wins_over_its_countrys(destination: Destination, standard: Decimal, reduced: Decimal) -> None:
    found = rates_for(destination, SPAIN)
    assert (found["standard"].percent, found["reduced"].percent) == (standard, reduced)
    assert rates_for(destination, list(reversed(SPAIN)))["standard"].percent == standard


def test_a_class_without_a_rate_at_the_destination_is_an_error() -> None:
    with pytest.raises(MissingTaxRate) as refused:
        price(
            [line(1_000, tax_class="books")],
            currency="EUR",
            tax_mode=TaxMode.inclusive,
            destination=Destination("ES"),
            tax_rates=SPAIN,
            now=NOW,
        )
    assert refused.value.tax_class == "books"
    with pytest.raises(MissingTaxRate):
        price(
            [line(1_000)],
            currency="EUR",
            tax_mode=TaxMode.inclusive,
            destination=Destination("FR"),
            tax_rates=SPAIN,
            now=NOW,
        )


def test_shipping_is_taxed_at_its_own_class() -> None:
    breakdown = price(
        [line(1_000, tax_class="reduced")],
        currency="EUR",
        tax_mode=TaxMode.exclusive,
        destination=Destination("ES"),
        tax_rates=SPAIN,
        now=NOW,
        shipping=ShippingRate.flat(500, tax_class="standard"),
    )
    assert (breakdown.lines[0].tax, breakdown.lines[0].tax_rate) == (100, Decimal(10))
    assert (breakdown.shipping_tax, breakdown.shipping_tax_rate, breakdown.shipping_total) == (105, Decimal(21), 605)
    assert breakdown.total == 1_000 + 100 + 605


def test_a_cart_without_a_shipping_method_yet_pays_no_shipping() -> None:
    breakdown = price(
        [line(1_000)],
        currency="EUR",
        tax_mode=TaxMode.exclusive,
        destination=Destination("PT"),
        tax_rates=SPAIN,
        now=NOW,
    )
    assert (breakdown.shipping, breakdown.shipping_tax, breakdown.total) == (0, 0, 1_230)
    assert [(row.rate, row.taxable, row.tax) for row in breakdown.taxes] == [(Decimal(23), 1_000, 230)]


def test_a_currency_without_decimals_rounds_to_the_yen() -> None:
    # 10 % consumption tax included in ¥1,099: 1099 / 11 = 99.9 -> ¥100.
    breakdown = price(
        [line(1_099)],
        currency="JPY",
        tax_mode=TaxMode.inclusive,
        destination=Destination("JP"),
        tax_rates=[TaxRate("standard", "JP", Decimal(10))],
        now=NOW,
    )
    assert (breakdown.tax, breakdown.lines[0].net, breakdown.total) == (100, 999, 1_099)
