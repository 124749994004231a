"""The API views of zones and methods, and the store-currency check of the amounts a body sends.

Shared by the zone and method services.
"""

from collections.abc import Sequence

from shop.core.errors import UnprocessableEntity
from shop.core.schemas import Money
from shop.shipping import schemas
from shop.shipping.models import ShippingMethod, ShippingZone


def method_view(method: ShippingMethod, currency: str) -> schemas.ShippingMethod:
    return schemas.ShippingMethod(
        id=method.id,
        zone_id=method.zone_id,
        name=method.name,
        bands=[
            schemas.BandOut(
                from_subtotal=Money(amount=band["from_subtotal"], currency=currency),
                price=Money(amount=band["amount"], currency=currency),
            )
            for band in method.bands
        ],
        free_from=Money(amount=method.free_from, currency=currency) if method.free_from is not None else None,
        tax_class=method.tax_class,
        min_delivery_days=method.min_delivery_days,
        max_delivery_days=method.max_delivery_days,
        is_active=method.is_active,
        created_at=method.created_at,
        updated_at=method.updated_at,
    )


def zone_view(zone: ShippingZone, countries: list[str]) -> schemas.ShippingZone:
    return schemas.ShippingZone(
        id=zone.id,
        name=zone.name,
        is_default=zone.is_default,
        countries=countries,
        created_at=zone.created_at,
        updated_at=zone.updated_at,
    )


def invalid(loc: Sequence[str | int], message: str) -> UnprocessableEntity:
    return UnprocessableEntity(message, errors=[{"loc": list(loc), "msg": message, "type": "value_error"}])
