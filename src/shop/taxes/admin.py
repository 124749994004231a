"""Staff tax routes: `/admin/tax-classes` and `/admin/tax-rates`.

Taxes know nothing of accounts, so shop.api guards these routers when it mounts them: staff may
read (`read_router`), only an admin may change what the store charges (`write_router`).
"""

import uuid
from typing import Annotated

from fastapi import Query, Response

from shop.core.countries import CountryCode
from shop.core.deps import SessionDep
from shop.core.errors import error_responses
from shop.core.routing import shop_router
from shop.core.schemas import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize
from shop.taxes import schemas
from shop.taxes.errors import (
    TaxClassBuiltin,
    TaxClassInUse,
    TaxClassNotFound,
    TaxClassTaken,
    TaxRateNotFound,
    TaxRateTaken,
    UnknownTaxClass,
)
from shop.taxes.service import tax_classes, tax_rates

read_router = shop_router(prefix="/admin", tags=["admin: taxes"])
write_router = shop_router(prefix="/admin", tags=["admin: taxes"])


# -- tax classes ------------------------------------------------------------------------------


@read_router.get("/tax-classes")
async def list_tax_classes(
    session: SessionDep, limit: PageSize = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Page[schemas.TaxClass]:
    """Tax classes, newest first (the built-in standard, reduced and zero among them)."""
    return await tax_classes.page(session, limit=limit, cursor=cursor)


@read_router.get("/tax-classes/{tax_class_id}", responses=error_responses(TaxClassNotFound))
async def get_tax_class(tax_class_id: uuid.UUID, session: SessionDep) -> schemas.TaxClass:
    """One tax class."""
    return await tax_classes.get(session, tax_class_id=tax_class_id)


@write_router.post("/tax-classes", status_code=201, responses=error_responses(TaxClassTaken))
async def create_tax_class(data: schemas.TaxClassCreate, session: SessionDep) -> schemas.TaxClass:
    """Create a tax class; its code is unique and never changes."""
    return await tax_classes.create(session, data=data)


@write_router.patch("/tax-classes/{tax_class_id}", responses=error_responses(TaxClassNotFound))
async def update_tax_class(
    tax_class_id: uuid.UUID, data: schemas.TaxClassUpdate, session: SessionDep
) -> schemas.TaxClass:
    """Rename a tax class (its code stays)."""
    return await tax_classes.update(session, tax_class_id=tax_class_id, data=data)


@write_router.delete(
    "/tax-classes/{tax_class_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(TaxClassNotFound, TaxClassBuiltin, TaxClassInUse),
)
async def delete_tax_class(tax_class_id: uuid.UUID, session: SessionDep) -> None:
    """Delete a tax class and its rates: not a built-in one, nor one a variant or shipping method uses."""
    await tax_classes.delete(session, tax_class_id=tax_class_id)


# -- tax rates --------------------------------------------------------------------------------


@read_router.get("/tax-rates")
async def list_tax_rates(
    session: SessionDep,
    country: Annotated[CountryCode | None, Query(description="Only the rates of this country.")] = None,
    tax_class: Annotated[
        schemas.TaxClassCode | None, Query(description="Only the rates of the class with this code.")
    ] = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[schemas.TaxRate]:
    """Tax rates, newest first, by country and by class."""
    return await tax_rates.page(session, limit=limit, cursor=cursor, country=country, tax_class=tax_class)


@read_router.get("/tax-rates/{tax_rate_id}", responses=error_responses(TaxRateNotFound))
async def get_tax_rate(tax_rate_id: uuid.UUID, session: SessionDep) -> schemas.TaxRate:
    """One tax rate."""
    return await tax_rates.get(session, tax_rate_id=tax_rate_id)


@write_router.post("/tax-rates", status_code=201, responses=error_responses(TaxRateTaken, UnknownTaxClass))
async def create_tax_rate(data: schemas.TaxRateCreate, session: SessionDep) -> schemas.TaxRate:
    """Set a class's rate in a country, or in one region of it (which wins there over the country's)."""
    return await tax_rates.create(session, data=data)


@write_router.patch("/tax-rates/{tax_rate_id}", responses=error_responses(TaxRateNotFound))
async def update_tax_rate(tax_rate_id: uuid.UUID, data: schemas.TaxRateUpdate, session: SessionDep) -> schemas.TaxRate:
    """Change a rate's percentage (its class and place stay: delete it and create another)."""
    return await tax_rates.update(session, tax_rate_id=tax_rate_id, data=data)


@write_router.delete(
    "/tax-rates/{tax_rate_id}", status_code=204, response_class=Response, responses=error_responses(TaxRateNotFound)
)
async def delete_tax_rate(tax_rate_id: uuid.UUID, session: SessionDep) -> None:
    """Delete a tax rate."""
    await tax_rates.delete(session, tax_rate_id=tax_rate_id)
