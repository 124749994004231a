"""Shipping zones: sets of countries, each country in one zone at most, and one default zone at
most for every country no zone names.

Both rules are the database's (the country is the primary key of its row, a partial unique index
holds the default): concurrent writes cannot break them, and a loser gets the 409 here. Every
write of a zone first takes one advisory lock (repository.lock_zone_countries), so two writers that
trade countries wait for each other instead of deadlocking.
"""

import uuid
from collections.abc import Collection

import structlog
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.db import violated_constraint
from shop.core.schemas import Page, after_id, next_id_cursor
from shop.shipping import repository, schemas
from shop.shipping.errors import CountryInOtherZone, DefaultZoneExists, ShippingZoneNotFound
from shop.shipping.models import ShippingZone
from shop.shipping.service.present import invalid, zone_view

log = structlog.get_logger()


class ZoneService:
    async def page(self, session: AsyncSession, *, limit: int, cursor: str | None) -> Page[schemas.ShippingZone]:
        rows = await repository.page_zones(session, limit=limit + 1, before_id=after_id(cursor))
        shown = rows[:limit]
        countries = await repository.countries_of(session, [zone.id for zone in shown])
        return Page[schemas.ShippingZone](
            items=[zone_view(zone, countries[zone.id]) for zone in shown],
            next_cursor=next_id_cursor([zone.id for zone in rows], limit),
        )

    async def get(self, session: AsyncSession, *, zone_id: uuid.UUID) -> schemas.ShippingZone:
        zone = await repository.get_zone(session, zone_id)
        if zone is None:
            raise ShippingZoneNotFound("There is no such shipping zone.")
        return await self._view(session, zone)

    async def create(self, session: AsyncSession, *, data: schemas.ShippingZoneCreate) -> schemas.ShippingZone:
        await repository.lock_zone_countries(session)
        zone = ShippingZone(name=data.name, is_default=data.is_default)
        session.add(zone)
        await _flush(session)
        await _claim(session, zone.id, set(data.countries))
        log.info("shipping.zone_created", zone_id=str(zone.id), countries=len(set(data.countries)))
        return await self._view(session, zone)

    async def update(
        self, session: AsyncSession, *, zone_id: uuid.UUID, data: schemas.ShippingZoneUpdate
    ) -> schemas.ShippingZone:
        await repository.lock_zone_countries(session)
        zone = await repository.get_zone(session, zone_id, lock=True)
        if zone is None:
            raise ShippingZoneNotFound("There is no such shipping zone.")
        if data.name is not None:
            zone.name = data.name
        if data.is_default is not None:
            zone.is_default = data.is_default
        zone.updated_at = func.now()  # its countries count as the zone's too
        await _flush(session)
        if data.countries is not None:
            await repository.release_countries(session, zone.id, keep=set(data.countries))
            await _claim(session, zone.id, set(data.countries))
        if not zone.is_default and not (await repository.countries_of(session, [zone.id]))[zone.id]:
            raise invalid(("body", "countries"), "A zone that is not the default names at least one country.")
        return await self._view(session, zone)

    async def delete(self, session: AsyncSession, *, zone_id: uuid.UUID) -> None:
        await repository.lock_zone_countries(session)
        if not await repository.delete_zone(session, zone_id):
            raise ShippingZoneNotFound("There is no such shipping zone.")
        log.info("shipping.zone_deleted", zone_id=str(zone_id))

    async def _view(self, session: AsyncSession, zone: ShippingZone) -> schemas.ShippingZone:
        await session.refresh(zone)  # the timestamps the database set
        return zone_view(zone, (await repository.countries_of(session, [zone.id]))[zone.id])


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) == repository.DEFAULT_ZONE_UNIQUE:
            raise DefaultZoneExists("Another zone is the default zone.") from None
        raise


async def _claim(session: AsyncSession, zone_id: uuid.UUID, countries: Collection[str]) -> None:
    """Give the zone every country asked for, or raise 409 naming each one another zone holds.

    The caller holds the zones' lock: no zone gives up a country between the claim and the look-up.
    """
    pending = set(countries) - await repository.claim_countries(session, zone_id, countries)
    owners = await repository.zones_of_countries(session, pending) if pending else {}
    taken = sorted((country, owner) for country, owner in owners.items() if owner != zone_id)
    if taken:
        raise CountryInOtherZone(
            f"Already in another zone: {', '.join(country for country, _ in taken)}.",
            errors=[{"country": country, "zone_id": str(owner)} for country, owner in taken],
        )


zones = ZoneService()
