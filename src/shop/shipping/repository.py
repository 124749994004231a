"""Every query on the shipping tables. Nothing here commits."""

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shop.shipping.models import ShippingMethod, ShippingZone, ShippingZoneCountry

DEFAULT_ZONE_UNIQUE = "uq_shipping_zone_default"
METHOD_TAX_CLASS_FK = "fk_shipping_method_tax_class_tax_class"
METHOD_ZONE_FK = "fk_shipping_method_zone_id_shipping_zone"
# The pg_advisory_xact_lock key that serialises every change of which zone holds which country;
# a fixed bigint ("shipzone" in ASCII), no other advisory lock of the shop uses it.
ZONE_COUNTRIES_LOCK = 0x73_68_69_70_7A_6F_6E_65


async def lock_zone_countries(session: AsyncSession) -> None:
    """Wait until no other transaction changes zones, then hold that until this one ends.

    Two writers that each delete a country of their zone, then claim the other's, would each
    wait for the other's row and deadlock (PostgreSQL aborts one, 40P01); one at a time they
    cannot. Admins change zones rarely, so serialising them costs nothing noticeable.
    """
    await session.execute(select(func.pg_advisory_xact_lock(ZONE_COUNTRIES_LOCK)))


async def get_zone(session: AsyncSession, zone_id: uuid.UUID, *, lock: bool = False) -> ShippingZone | None:
    query = select(ShippingZone).where(ShippingZone.id == zone_id)
    return await session.scalar(query.with_for_update() if lock else query)


async def page_zones(session: AsyncSession, *, limit: int, before_id: uuid.UUID | None) -> Sequence[ShippingZone]:
    """Newest first (ids are time-ordered); keyset pagination on the id."""
    query = select(ShippingZone).order_by(ShippingZone.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(ShippingZone.id < before_id)
    return (await session.scalars(query)).all()


async def countries_of(session: AsyncSession, zone_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    query = select(ShippingZoneCountry.zone_id, ShippingZoneCountry.country).where(
        ShippingZoneCountry.zone_id.in_(zone_ids)
    )
    found: dict[uuid.UUID, list[str]] = {zone_id: [] for zone_id in zone_ids}
    for zone_id, country in (await session.execute(query.order_by(ShippingZoneCountry.country))).all():
        found[zone_id].append(country)
    return found


async def claim_countries(session: AsyncSession, zone_id: uuid.UUID, countries: Collection[str]) -> set[str]:
    """Give `zone_id` each country no zone has; the ones it got.

    The primary key decides, never a read made before the write. Rows are inserted in sorted
    order, so two claims of overlapping countries take their row locks in one order.
    """
    if not countries:
        return set()
    statement = (
        insert(ShippingZoneCountry)
        .values([{"country": country, "zone_id": zone_id} for country in sorted(countries)])
        .on_conflict_do_nothing(index_elements=[ShippingZoneCountry.country])
        .returning(ShippingZoneCountry.country)
    )
    return set((await session.scalars(statement)).all())


async def zones_of_countries(session: AsyncSession, countries: Collection[str]) -> dict[str, uuid.UUID]:
    query = select(ShippingZoneCountry.country, ShippingZoneCountry.zone_id).where(
        ShippingZoneCountry.country.in_(countries)
    )
    return {row.country: row.zone_id for row in (await session.execute(query)).all()}


async def release_countries(session: AsyncSession, zone_id: uuid.UUID, *, keep: Collection[str]) -> None:
    """Take from the zone every country not in `keep`."""
    await session.execute(
        delete(ShippingZoneCountry).where(
            ShippingZoneCountry.zone_id == zone_id, ShippingZoneCountry.country.not_in(list(keep))
        )
    )


async def delete_zone(session: AsyncSession, zone_id: uuid.UUID) -> bool:
    """Its countries and methods go with it (ON DELETE CASCADE)."""
    result = await session.execute(delete(ShippingZone).where(ShippingZone.id == zone_id).returning(ShippingZone.id))
    return result.first() is not None


async def page_methods(
    session: AsyncSession, zone_id: uuid.UUID, *, limit: int, after_id: uuid.UUID | None
) -> Sequence[ShippingMethod]:
    """A zone's methods, oldest first (ids are time-ordered); keyset pagination on the id."""
    query = select(ShippingMethod).where(ShippingMethod.zone_id == zone_id).order_by(ShippingMethod.id).limit(limit)
    if after_id is not None:
        query = query.where(ShippingMethod.id > after_id)
    return (await session.scalars(query)).all()


async def get_method(session: AsyncSession, method_id: uuid.UUID, *, lock: bool = False) -> ShippingMethod | None:
    query = select(ShippingMethod).where(ShippingMethod.id == method_id)
    return await session.scalar(query.with_for_update() if lock else query)


async def delete_method(session: AsyncSession, method_id: uuid.UUID) -> bool:
    result = await session.execute(
        delete(ShippingMethod).where(ShippingMethod.id == method_id).returning(ShippingMethod.id)
    )
    return result.first() is not None


def stored_bands(bands: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
    """Bands as the JSONB column holds them (shop.shipping.models)."""
    return [{"from_subtotal": start, "amount": amount} for start, amount in bands]
