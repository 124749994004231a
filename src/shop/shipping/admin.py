"""Staff shipping routes: `/admin/shipping-zones` and their methods (`/admin/shipping-methods`).

Shipping knows nothing of accounts, so shop.api guards these routers when it mounts them: staff
may read (`read_router`), only an admin may change what the store charges (`write_router`).
"""

import uuid

from fastapi import Response

from shop.core.deps import SessionDep, SettingsDep
from shop.core.errors import error_responses
from shop.core.routing import shop_router
from shop.core.schemas import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize
from shop.shipping import schemas
from shop.shipping.errors import CountryInOtherZone, DefaultZoneExists, ShippingMethodNotFound, ShippingZoneNotFound
from shop.shipping.service import methods, zones
from shop.taxes.errors import UnknownTaxClass

read_router = shop_router(prefix="/admin", tags=["admin: shipping"])
write_router = shop_router(prefix="/admin", tags=["admin: shipping"])


# -- zones ------------------------------------------------------------------------------------


@read_router.get("/shipping-zones")
async def list_shipping_zones(
    session: SessionDep, limit: PageSize = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Page[schemas.ShippingZone]:
    """Shipping zones with their countries, newest first."""
    return await zones.page(session, limit=limit, cursor=cursor)


@read_router.get("/shipping-zones/{zone_id}", responses=error_responses(ShippingZoneNotFound))
async def get_shipping_zone(zone_id: uuid.UUID, session: SessionDep) -> schemas.ShippingZone:
    """One zone, with its countries (its methods are listed at `/shipping-zones/{zone_id}/methods`)."""
    return await zones.get(session, zone_id=zone_id)


@write_router.post("/shipping-zones", status_code=201, responses=error_responses(CountryInOtherZone, DefaultZoneExists))
async def create_shipping_zone(data: schemas.ShippingZoneCreate, session: SessionDep) -> schemas.ShippingZone:
    """Create a zone; a country belongs to one zone at most, and one zone at most is the default."""
    return await zones.create(session, data=data)


@write_router.patch(
    "/shipping-zones/{zone_id}",
    responses=error_responses(ShippingZoneNotFound, CountryInOtherZone, DefaultZoneExists),
)
async def update_shipping_zone(
    zone_id: uuid.UUID, data: schemas.ShippingZoneUpdate, session: SessionDep
) -> schemas.ShippingZone:
    """Rename a zone, make it the default or not, or replace its set of countries."""
    return await zones.update(session, zone_id=zone_id, data=data)


@write_router.delete(
    "/shipping-zones/{zone_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(ShippingZoneNotFound),
)
async def delete_shipping_zone(zone_id: uuid.UUID, session: SessionDep) -> None:
    """Delete a zone, its countries and its methods (carts and orders keep their amounts)."""
    await zones.delete(session, zone_id=zone_id)


# -- methods ----------------------------------------------------------------------------------


@read_router.get("/shipping-zones/{zone_id}/methods", responses=error_responses(ShippingZoneNotFound))
async def list_shipping_methods(
    zone_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[schemas.ShippingMethod]:
    """The methods of a zone, oldest first."""
    return await methods.page(session, zone_id=zone_id, limit=limit, cursor=cursor, currency=settings.currency)


@write_router.post(
    "/shipping-zones/{zone_id}/methods",
    status_code=201,
    responses=error_responses(ShippingZoneNotFound, UnknownTaxClass),
)
async def create_shipping_method(
    zone_id: uuid.UUID, data: schemas.ShippingMethodCreate, session: SessionDep, settings: SettingsDep
) -> schemas.ShippingMethod:
    """Offer a method in a zone, priced by bands of the subtotal (the first from 0, each next higher)."""
    return await methods.create(session, zone_id=zone_id, data=data, currency=settings.currency)


@read_router.get("/shipping-methods/{method_id}", responses=error_responses(ShippingMethodNotFound))
async def get_shipping_method(
    method_id: uuid.UUID, session: SessionDep, settings: SettingsDep
) -> schemas.ShippingMethod:
    """One shipping method."""
    return await methods.get(session, method_id=method_id, currency=settings.currency)


@write_router.patch("/shipping-methods/{method_id}", responses=error_responses(ShippingMethodNotFound, UnknownTaxClass))
async def update_shipping_method(
    method_id: uuid.UUID, data: schemas.ShippingMethodUpdate, session: SessionDep, settings: SettingsDep
) -> schemas.ShippingMethod:
    """Change a method; `free_from` and the delivery days take null to clear them."""
    return await methods.update(session, method_id=method_id, data=data, currency=settings.currency)


@write_router.delete(
    "/shipping-methods/{method_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(ShippingMethodNotFound),
)
async def delete_shipping_method(method_id: uuid.UUID, session: SessionDep) -> None:
    """Delete a shipping method (carts that chose it choose again)."""
    await methods.delete(session, method_id=method_id)
