"""What shipping an address can have: the active methods of the zone its country belongs to.

A country named by a zone gets that zone's methods, and only those; a country no zone names gets
the default zone's. No zone (and no default zone), or no active method there: the store does not
ship to that country. The queries live here, not in the repository the admin API owns.
"""

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop import pricing
from shop.core.config_cache import ConfigCache
from shop.shipping.models import ShippingMethod, ShippingZone, ShippingZoneCountry

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Quote:
    """One method offered at an address, with its price rule and how long it takes."""

    id: uuid.UUID
    name: str
    rate: pricing.ShippingRate
    min_days: int | None
    max_days: int | None


_configured = ConfigCache()


class QuoteService:
    async def offered(self, session: AsyncSession, *, country: str, generation: int | None = None) -> list[Quote]:
        """The active methods offered in `country` (its zone, else the default zone), by name.

        With a `generation` (core/config_cache.py), from the configuration cache: the pricing's
        reads, on every cart and checkout. Without, from the tables: a choice being checked."""
        if generation is None:
            return list(await _offered(session, country))
        return list(await _configured.get(session, generation, country, lambda: _offered(session, country)))


async def _offered(session: AsyncSession, country: str) -> tuple[Quote, ...]:
    named = select(ShippingZoneCountry.zone_id).where(ShippingZoneCountry.country == country).scalar_subquery()
    default = select(ShippingZone.id).where(ShippingZone.is_default).scalar_subquery()
    methods = await session.scalars(
        select(ShippingMethod)
        .where(ShippingMethod.zone_id == func.coalesce(named, default), ShippingMethod.is_active)
        .order_by(ShippingMethod.name, ShippingMethod.id)
    )
    quotes = []
    for method in methods:
        rate = _rate(method.bands, method.free_from, method.tax_class)
        if rate is None:
            # The admin API validates bands; a row written around it is not offered, never a 500.
            log.warning("shipping_method_invalid_bands", method_id=str(method.id))
            continue
        quotes.append(Quote(method.id, method.name, rate, method.min_delivery_days, method.max_delivery_days))
    return tuple(quotes)


def _rate(bands: list[dict[str, Any]], free_from: int | None, tax_class: str) -> pricing.ShippingRate | None:
    try:
        return pricing.ShippingRate(
            bands=tuple(pricing.Band(int(band["from_subtotal"]), int(band["amount"])) for band in bands),
            free_from=free_from,
            tax_class=tax_class,
        )
    except (KeyError, TypeError, ValueError):
        return None


quotes = QuoteService()
