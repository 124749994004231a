"""Rounding tables reproduced to the cent."""

from decimal import Decimal

from shop.pricing import AmountOff, Destination, ShippingRate, TaxMode, TaxRate, price
from tests.pricing.carts import NOW, line, promotion

NO = Destination("NO")


def test_the_25_percent_breakdown_of_the_en_16931_example_invoice() -> None:
    # CEN/TC 434, EN 16931 UBL example 2 (invoice TOSL108, NOK), published with the standard's
    # validation artefacts: github.com/ConnectingEurope/eInvoicing-EN16931,
    # ubl/examples/ubl-tc434-example2.xml. Its 25 % VAT breakdown: line 1 (a laptop, 1273.00),
    # line 5 (250 m of cable at 0.75 = 187.50), a 100.00 freight charge and a 100.00 promotion
    # discount, both at 25 %: taxable amount 1460.50, VAT 365.13 (365.125 rounded half up; half
    # to even would give 365.12 and fail the standard's rule BR-CO-17).
    breakdown = price(
        [line(127_300, 1, n=0), line(75, 250, n=1)],
        currency="NOK",
        tax_mode=TaxMode.exclusive,
        destination=NO,
        tax_rates=[TaxRate("standard", "NO", Decimal(25))],
        now=NOW,
        shipping=ShippingRate.flat(10_000),
        promotions=[promotion(AmountOff(10_000))],
    )
    assert [(row.rate, row.taxable, row.tax) for row in breakdown.taxes] == [(Decimal(25), 146_050, 36_513)]
    assert breakdown.subtotal == 146_050
    assert breakdown.discount == 10_000
    assert breakdown.shipping == 10_000
    assert breakdown.total == 146_050 + 36_513  # TaxExclusiveAmount + TaxAmount of the 25 % part
    # The promotion and the tax reach the lines in proportion, to the øre.
    assert [(ln.discount, ln.tax, ln.total) for ln in breakdown.lines] == [
        (8_716, 29_646, 148_230),
        (1_284, 4_367, 21_833),
    ]
    assert breakdown.shipping_tax == 2_500


def test_a_german_gross_priced_basket_at_19_and_7_percent() -> None:
    # Prices including VAT, as a German shop enters them. Worked by hand: at 19 % the tax in a
    # gross amount is gross * 19/119, at 7 % gross * 7/107.
    #   19 %: 2 x 9.99 + 4.99 shipping = 24.97; 24.97 * 19/119 = 3.98680... -> 3.99; net 20.98
    #    7 %: 3 x 1.49 = 4.47;                   4.47 *  7/107 = 0.29242... -> 0.29; net  4.18
    # Rounding each line instead would give 19.98 -> 3.19 and 4.99 -> 0.80: 3.99 too, but the
    # per-rate sum is the rule, and the lines carry 3.19 and 0.80 of it (largest remainder).
    breakdown = price(
        [line(999, 2, n=0), line(149, 3, tax_class="reduced", n=1)],
        currency="EUR",
        tax_mode=TaxMode.inclusive,
        destination=Destination("DE"),
        tax_rates=[TaxRate("standard", "DE", Decimal(19)), TaxRate("reduced", "DE", Decimal(7))],
        now=NOW,
        shipping=ShippingRate.flat(499),
    )
    assert [(row.rate, row.taxable, row.tax) for row in breakdown.taxes] == [
        (Decimal(7), 418, 29),
        (Decimal(19), 2_098, 399),
    ]
    assert [(ln.tax, ln.total, ln.net) for ln in breakdown.lines] == [(319, 1_998, 1_679), (29, 447, 418)]
    assert (breakdown.shipping, breakdown.shipping_tax, breakdown.shipping_total) == (499, 80, 499)
    assert (breakdown.tax, breakdown.total) == (428, 2_944)
