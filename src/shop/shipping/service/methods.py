"""Shipping methods: what a zone offers, priced by bands of the order subtotal (shop.pricing's
ShippingRate), free from an optional threshold, taxed under a tax class."""

import uuid

import structlog
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.db import violated_constraint
from shop.core.schemas import Page, after_id, next_id_cursor, store_amount
from shop.shipping import repository, schemas
from shop.shipping.errors import ShippingMethodNotFound, ShippingZoneNotFound
from shop.shipping.models import ShippingMethod
from shop.shipping.service.present import invalid, method_view
from shop.taxes.errors import UnknownTaxClass
from shop.taxes.service import tax_classes

log = structlog.get_logger()
_TAX_CLASS_LOC = ("body", "tax_class")


def _bands(bands: list[schemas.BandIn], currency: str) -> list[dict[str, int]]:
    return repository.stored_bands(
        [
            (
                store_amount(band.from_subtotal, currency, ("body", "bands", index, "from_subtotal")),
                store_amount(band.price, currency, ("body", "bands", index, "price")),
            )
            for index, band in enumerate(bands)
        ]
    )


def _free_from(value: schemas.Amount | None, currency: str) -> int | None:
    return store_amount(value, currency, ("body", "free_from")) if value is not None else None


class MethodService:
    async def page(
        self, session: AsyncSession, *, zone_id: uuid.UUID, limit: int, cursor: str | None, currency: str
    ) -> Page[schemas.ShippingMethod]:
        after = after_id(cursor)
        if await repository.get_zone(session, zone_id) is None:
            raise ShippingZoneNotFound("There is no such shipping zone.")
        rows = await repository.page_methods(session, zone_id, limit=limit + 1, after_id=after)
        return Page[schemas.ShippingMethod](
            items=[method_view(method, currency) for method in rows[:limit]],
            next_cursor=next_id_cursor([method.id for method in rows], limit),
        )

    async def get(self, session: AsyncSession, *, method_id: uuid.UUID, currency: str) -> schemas.ShippingMethod:
        method = await repository.get_method(session, method_id)
        if method is None:
            raise ShippingMethodNotFound("There is no such shipping method.")
        return method_view(method, currency)

    async def create(
        self, session: AsyncSession, *, zone_id: uuid.UUID, data: schemas.ShippingMethodCreate, currency: str
    ) -> schemas.ShippingMethod:
        if await repository.get_zone(session, zone_id) is None:
            raise ShippingZoneNotFound("There is no such shipping zone.")
        await tax_classes.require(session, code=data.tax_class, loc=_TAX_CLASS_LOC)
        method = ShippingMethod(
            zone_id=zone_id,
            name=data.name,
            bands=_bands(data.bands, currency),
            free_from=_free_from(data.free_from, currency),
            tax_class=data.tax_class,
            min_delivery_days=data.min_delivery_days,
            max_delivery_days=data.max_delivery_days,
            is_active=data.is_active,
        )
        session.add(method)
        await _flush(session, method.tax_class)
        await session.refresh(method)
        log.info("shipping.method_created", method_id=str(method.id), zone_id=str(zone_id))
        return method_view(method, currency)

    async def update(
        self, session: AsyncSession, *, method_id: uuid.UUID, data: schemas.ShippingMethodUpdate, currency: str
    ) -> schemas.ShippingMethod:
        method = await repository.get_method(session, method_id, lock=True)
        if method is None:
            raise ShippingMethodNotFound("There is no such shipping method.")
        fields = data.model_fields_set
        if data.name is not None:
            method.name = data.name
        if data.bands is not None:
            method.bands = _bands(data.bands, currency)
        if "free_from" in fields:
            method.free_from = _free_from(data.free_from, currency)
        if data.tax_class is not None and data.tax_class != method.tax_class:
            await tax_classes.require(session, code=data.tax_class, loc=_TAX_CLASS_LOC)
            method.tax_class = data.tax_class
        for name in ("min_delivery_days", "max_delivery_days"):
            if name in fields:
                setattr(method, name, getattr(data, name))
        if data.is_active is not None:
            method.is_active = data.is_active
        low, high = method.min_delivery_days, method.max_delivery_days
        if low is not None and high is not None and low > high:
            raise invalid(("body", "min_delivery_days"), "min_delivery_days must not exceed max_delivery_days.")
        method.updated_at = func.now()
        await _flush(session, method.tax_class)
        await session.refresh(method)
        return method_view(method, currency)

    async def delete(self, session: AsyncSession, *, method_id: uuid.UUID) -> None:
        if not await repository.delete_method(session, method_id):
            raise ShippingMethodNotFound("There is no such shipping method.")
        log.info("shipping.method_deleted", method_id=str(method_id))


async def _flush(session: AsyncSession, tax_class: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        constraint = violated_constraint(exc)
        # The class or the zone was deleted between our check and this write.
        if constraint == repository.METHOD_TAX_CLASS_FK:
            raise UnknownTaxClass.at(_TAX_CLASS_LOC, tax_class) from None
        if constraint == repository.METHOD_ZONE_FK:
            raise ShippingZoneNotFound("There is no such shipping zone.") from None
        raise


methods = MethodService()
