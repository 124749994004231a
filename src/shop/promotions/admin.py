"""Staff promotion routes: promotions and their codes (mounted with the staff role required, see shop.api)."""

import uuid
from typing import Annotated, Any

from fastapi import Query, Response
from fastapi.responses import StreamingResponse

from shop.core.deps import ResourcesDep, SessionDep, SettingsDep
from shop.core.errors import error_responses
from shop.core.idempotency import IdempotencyInProgress, IdempotencyKeyReused, InvalidIdempotencyKey
from shop.core.routing import shop_router
from shop.core.schemas import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize
from shop.promotions import schemas
from shop.promotions.dependencies import IdempotencyKey
from shop.promotions.errors import (
    BulkGenerationInProgress,
    CodeTaken,
    LimitBelowUses,
    PromotionCodeNotFound,
    PromotionHasCodes,
    PromotionIsAutomatic,
    PromotionNotFound,
)
from shop.promotions.models import PromotionCode
from shop.promotions.repository import PromotionFilter
from shop.promotions.service import codes, promotions

IDEMPOTENCY_ERRORS = (InvalidIdempotencyKey, IdempotencyKeyReused, IdempotencyInProgress)

router = shop_router(prefix="/admin", tags=["admin: promotions"])

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The codes as CSV: a header `code,max_uses,uses,created_at`, then one row per code.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.get("/promotions")
async def list_promotions(
    session: SessionDep,
    settings: SettingsDep,
    automatic: Annotated[bool | None, Query(description="Only automatic (true) or code-only (false) ones.")] = None,
    active: Annotated[bool | None, Query(description="Only active (true) or inactive (false) ones.")] = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[schemas.Promotion]:
    """Promotions, newest first."""
    where = PromotionFilter(automatic=automatic, active=active)
    return await promotions.page(session, currency=settings.currency, where=where, limit=limit, cursor=cursor)


@router.post("/promotions", status_code=201)
async def create_promotion(
    data: schemas.PromotionCreate, session: SessionDep, settings: SettingsDep
) -> schemas.Promotion:
    """Create an automatic or a code-only promotion."""
    return await promotions.create(session, data=data, currency=settings.currency)


@router.get("/promotions/{promotion_id}", responses=error_responses(PromotionNotFound))
async def get_promotion(promotion_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> schemas.Promotion:
    """One promotion, with the uses taken so far."""
    return await promotions.get(session, promotion_id=promotion_id, currency=settings.currency)


@router.patch(
    "/promotions/{promotion_id}",
    responses=error_responses(PromotionNotFound, LimitBelowUses, PromotionHasCodes),
)
async def update_promotion(
    promotion_id: uuid.UUID, data: schemas.PromotionUpdate, session: SessionDep, settings: SettingsDep
) -> schemas.Promotion:
    """Change a promotion; `max_uses` never below the uses taken, and one with codes cannot turn automatic."""
    return await promotions.update(session, promotion_id=promotion_id, data=data, currency=settings.currency)


@router.delete(
    "/promotions/{promotion_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(PromotionNotFound),
)
async def delete_promotion(promotion_id: uuid.UUID, session: SessionDep) -> None:
    """Delete a promotion and its codes (past orders keep what it took off); `is_active` false pauses one."""
    await promotions.delete(session, promotion_id=promotion_id)


@router.post(
    "/promotions/{promotion_id}/codes",
    status_code=201,
    responses=error_responses(PromotionNotFound, CodeTaken, PromotionIsAutomatic),
)
async def create_promotion_code(
    promotion_id: uuid.UUID, data: schemas.PromotionCodeCreate, session: SessionDep
) -> schemas.PromotionCode:
    """Add a code to a code-only promotion; codes are unique across promotions, whatever their case."""
    code: PromotionCode = await codes.create(session, promotion_id=promotion_id, data=data)
    return schemas.PromotionCode.model_validate(code)


@router.post(
    "/promotions/{promotion_id}/codes/bulk",
    status_code=201,
    dependencies=[IdempotencyKey],
    responses=error_responses(
        PromotionNotFound, CodeTaken, PromotionIsAutomatic, BulkGenerationInProgress, *IDEMPOTENCY_ERRORS
    ),
)
async def generate_promotion_codes(
    promotion_id: uuid.UUID, data: schemas.PromotionCodeBulkCreate, session: SessionDep
) -> schemas.PromotionCodesCreated:
    """Generate `count` random codes (single-use unless `max_uses` says otherwise), all new.

    One run at a time: while another runs, 409 `bulk_generation_in_progress` with `Retry-After`.
    A retry with the request's `Idempotency-Key` gets the first answer instead of more codes."""
    return await codes.create_many(session, promotion_id=promotion_id, data=data)


@router.get("/promotions/{promotion_id}/codes", responses=error_responses(PromotionNotFound))
async def list_promotion_codes(
    promotion_id: uuid.UUID, session: SessionDep, limit: PageSize = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Page[schemas.PromotionCode]:
    """A promotion's codes, newest first."""
    return await codes.page(session, promotion_id=promotion_id, limit=limit, cursor=cursor)


@router.get(
    "/promotions/{promotion_id}/codes.csv",
    response_class=StreamingResponse,
    responses={**CSV_RESPONSE, **error_responses(PromotionNotFound)},
)
async def export_promotion_codes(
    promotion_id: uuid.UUID, session: SessionDep, resources: ResourcesDep
) -> StreamingResponse:
    """A promotion's codes as CSV, oldest first, streamed."""
    await codes.check_exists(session, promotion_id=promotion_id)
    rows = codes.export_csv(resources.database.sessionmaker, promotion_id=promotion_id)
    filename = f"promotion-{promotion_id}-codes.csv"
    return StreamingResponse(
        rows, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.delete(
    "/promotion-codes/{code_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(PromotionCodeNotFound),
)
async def delete_promotion_code(code_id: uuid.UUID, session: SessionDep) -> None:
    """Delete a code; orders that used it keep it in their record."""
    await codes.delete(session, code_id=code_id)
