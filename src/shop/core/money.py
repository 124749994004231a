"""Money as text. Amounts are kept in minor units; the currency says how many make one unit.

The number of decimals of each currency is the Unicode CLDR's, which Babel ships: EUR 2, JPY 0,
BHD 3. It is ISO 4217's minor unit for every currency in use except a few whose minor unit has
no coins left (IQD, LBP, RSD, ...), where CLDR counts whole units.
"""

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision


def format_money(amount: int, currency: str, locale: str) -> str:
    """`amount` minor units of `currency`, written as `locale` writes money: 3900 EUR in en is €39.00."""
    return format_currency(Decimal(amount).scaleb(-get_currency_precision(currency)), currency, locale=locale)
