"""Staff catalog routes (mounted under `/admin` with the staff role required, see shop.api)."""

import uuid
from typing import Annotated

from fastapi import File, Response, UploadFile

from shop.core.deps import SessionDep, SettingsDep
from shop.core.errors import Conflict, NotFound, PayloadTooLarge, error_responses
from shop.core.openapi import LOCATED
from shop.core.routing import shop_router
from shop.core.security import PrincipalDep
from shop.products import schemas
from shop.products.errors import (
    CategoryNotEmpty,
    InsufficientStock,
    SkuTaken,
    SlugTaken,
    UnsupportedCatalogFile,
    UnusableCatalogFile,
)
from shop.products.service import catalog
from shop.products.service.categories import categories
from shop.products.tasks import request_import
from shop.taxes.errors import UnknownTaxClass

router = shop_router(prefix="/admin", tags=["catalog admin"])


@router.post("/categories", status_code=201, responses=error_responses(SlugTaken))
async def create_category(data: schemas.CategoryCreate, session: SessionDep) -> schemas.Category:
    """Create a category (slug derived from the name when not given)."""
    return await categories.create(session, data=data)


@router.patch("/categories/{category_id}", responses=error_responses(NotFound, SlugTaken))
async def update_category(
    category_id: uuid.UUID, data: schemas.CategoryUpdate, session: SessionDep
) -> schemas.Category:
    """Rename, re-slug or move a category (a move that would make a cycle is refused)."""
    return await categories.update(session, category_id=category_id, data=data)


@router.delete(
    "/categories/{category_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(NotFound, CategoryNotEmpty),
)
async def delete_category(category_id: uuid.UUID, session: SessionDep) -> None:
    """Delete a category that has no sub-categories and no products."""
    await categories.delete(session, category_id=category_id)


@router.post("/products", status_code=201, responses=error_responses(SkuTaken, SlugTaken, UnknownTaxClass))
async def create_product(data: schemas.ProductCreate, session: SessionDep, settings: SettingsDep) -> schemas.Product:
    """Create a product, with its variants."""
    return await catalog.create_product(session, data=data, currency=settings.currency)


@router.post(
    "/products/import",
    status_code=202,
    responses={202: LOCATED, **error_responses(UnsupportedCatalogFile, UnusableCatalogFile, PayloadTooLarge)},
)
async def import_products(
    file: Annotated[UploadFile, File(description="A CSV or JSON Lines catalog file (see the README).")],
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
) -> schemas.ImportAccepted:
    """Queue an import of a catalog file (upsert by SKU); follow it at `/admin/jobs/{job_id}`."""
    data = await file.read()
    job_id = await request_import(session, data, file.filename, file.content_type, principal.user_id)
    response.headers["Location"] = f"/api/v1/admin/jobs/{job_id}"
    return schemas.ImportAccepted(job_id=job_id)


@router.patch("/products/{product_id}", responses=error_responses(NotFound, SkuTaken, SlugTaken, UnknownTaxClass))
async def update_product(
    product_id: uuid.UUID, data: schemas.ProductUpdate, session: SessionDep, settings: SettingsDep
) -> schemas.Product:
    """Change a product; `variants` are upserted by SKU."""
    return await catalog.update_product(session, product_id=product_id, data=data, currency=settings.currency)


@router.delete("/products/{product_id}", status_code=204, response_class=Response, responses=error_responses(NotFound))
async def archive_product(product_id: uuid.UUID, session: SessionDep) -> None:
    """Archive a product: hidden from the storefront, kept for past orders."""
    await catalog.archive_product(session, product_id=product_id)


@router.post(
    "/products/{product_id}/variants",
    status_code=201,
    responses=error_responses(NotFound, SkuTaken, UnknownTaxClass),
)
async def add_variant(
    product_id: uuid.UUID, data: schemas.VariantCreate, session: SessionDep, settings: SettingsDep
) -> schemas.Variant:
    """Add a variant to a product."""
    return await catalog.add_variant(session, product_id=product_id, data=data, currency=settings.currency)


@router.patch("/variants/{variant_id}", responses=error_responses(NotFound, UnknownTaxClass))
async def update_variant(
    variant_id: uuid.UUID, data: schemas.VariantUpdate, session: SessionDep, settings: SettingsDep
) -> schemas.Variant:
    """Change a variant's price, name, attributes or availability."""
    return await catalog.update_variant(session, variant_id=variant_id, data=data, currency=settings.currency)


@router.post("/variants/{variant_id}/stock", responses=error_responses(NotFound, InsufficientStock, Conflict))
async def adjust_stock(
    variant_id: uuid.UUID,
    change: schemas.StockAdjustment,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> schemas.Variant:
    """Add or remove stock (never below zero); every change is kept with its reason and author."""
    return await catalog.adjust_stock(
        session, variant_id=variant_id, change=change, actor_id=principal.user_id, currency=settings.currency
    )
