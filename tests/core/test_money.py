"""Money as text: minor units scaled by the currency's own decimals, written in the locale's way."""

import pytest

from shop.core.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "text"),
    [
        (3900, "EUR", "en", "€39.00"),
        (5, "EUR", "en", "€0.05"),
        (123456789, "EUR", "en", "€1,234,567.89"),
        (3900, "JPY", "en", "¥3,900"),  # no minor unit: 3900 is ¥3,900, not ¥39
        (1234, "BHD", "en", "BHD1.234"),  # three decimals (fils)
        (500, "BHD", "en", "BHD0.500"),
        (3900, "EUR", "de_DE", "39,00\xa0€"),
        (3900, "JPY", "de_DE", "3.900\xa0¥"),
        (1234, "BHD", "fr_FR", "1,234\xa0BHD"),
    ],
)
def test_minor_units_become_text_in_the_currencys_decimals(amount: int, currency: str, locale: str, text: str) -> None:
    assert format_money(amount, currency, locale) == text
