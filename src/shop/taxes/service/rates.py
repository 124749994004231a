"""The tax rates a cart or an order is priced with, for where it goes.

Rule: a tax class with no rate at the destination is taxed at 0 %. The store collects tax only
where it has entered rates; a country it has no rate for is an export (or a place it does not
collect in), and its orders carry no tax. A class with a rate only for some region of a country
(ES-CN) is likewise 0 % in the rest of that country unless the country has its own rate.

The queries live here rather than in the domain's repository, which the admin API owns; they are
the read side the checkout needs and nothing else.
"""

from collections.abc import Collection
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shop import pricing
from shop.core.config_cache import ConfigCache
from shop.pricing.taxes import percent
from shop.taxes.models import TaxClass, TaxRate

# ISO 3166-1 reserves "ZZ" for an unknown country; no address or rate can name it. A cart with no
# address yet is priced for it: no tax until the address is known.
UNKNOWN_COUNTRY = "ZZ"
NOWHERE = pricing.Destination(country=UNKNOWN_COUNTRY)


_configured = ConfigCache()


class RateService:
    async def for_destination(
        self,
        session: AsyncSession,
        *,
        destination: pricing.Destination,
        tax_classes: Collection[str],
        generation: int,
    ) -> list[pricing.TaxRate]:
        """The rates at `destination`'s country (regional rows included), plus a 0 % rate for each
        of `tax_classes` the country has no rate of its own for: every class is then priced.

        A country's rates come from the configuration cache (`generation`: core/config_cache.py)."""
        found: list[pricing.TaxRate] = []
        if destination.country != UNKNOWN_COUNTRY:
            country = destination.country
            found = list(await _configured.get(session, generation, country, lambda: _rates_in(session, country)))
        nationwide = {rate.tax_class for rate in found if rate.region is None}
        found.extend(
            pricing.TaxRate(tax_class=tax_class, country=destination.country, percent=Decimal(0))
            for tax_class in sorted(set(tax_classes) - nationwide)
        )
        return found


async def _rates_in(session: AsyncSession, country: str) -> tuple[pricing.TaxRate, ...]:
    rows = await session.execute(
        select(TaxClass.code, TaxRate.region, TaxRate.rate_ppm)
        .join(TaxClass, TaxClass.id == TaxRate.tax_class_id)
        .where(TaxRate.country == country)
    )
    return tuple(
        pricing.TaxRate(tax_class=code, country=country, percent=percent(ppm), region=region)
        for code, region, ppm in rows
    )


rates = RateService()
