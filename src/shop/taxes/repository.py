"""Every query on the tax tables. Nothing here commits."""

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.taxes.models import TaxClass, TaxRate

TAX_CLASS_CODE_UNIQUE = "uq_tax_class_code"
TAX_RATE_PLACE_UNIQUE = "uq_tax_rate_class_place"


async def get_tax_class(session: AsyncSession, tax_class_id: uuid.UUID) -> TaxClass | None:
    return await session.get(TaxClass, tax_class_id)


async def tax_class_id_by_code(session: AsyncSession, code: str) -> uuid.UUID | None:
    return await session.scalar(select(TaxClass.id).where(TaxClass.code == code))


async def page_tax_classes(session: AsyncSession, *, limit: int, before_id: uuid.UUID | None) -> Sequence[TaxClass]:
    """Newest first (ids are time-ordered); keyset pagination on the id."""
    query = select(TaxClass).order_by(TaxClass.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(TaxClass.id < before_id)
    return (await session.scalars(query)).all()


async def delete_tax_class(session: AsyncSession, tax_class_id: uuid.UUID) -> None:
    """Its rates go with it; a variant or a shipping method under it makes this fail (RESTRICT)."""
    await session.execute(delete(TaxClass).where(TaxClass.id == tax_class_id))


async def get_tax_rate(session: AsyncSession, tax_rate_id: uuid.UUID) -> tuple[TaxRate, str] | None:
    """The rate and its class's code."""
    query = select(TaxRate, TaxClass.code).join(TaxClass, TaxClass.id == TaxRate.tax_class_id)
    row = (await session.execute(query.where(TaxRate.id == tax_rate_id))).first()
    return (row[0], row[1]) if row is not None else None


async def page_tax_rates(
    session: AsyncSession,
    *,
    limit: int,
    before_id: uuid.UUID | None,
    country: str | None,
    tax_class: str | None,
) -> Sequence[tuple[TaxRate, str]]:
    query = (
        select(TaxRate, TaxClass.code)
        .join(TaxClass, TaxClass.id == TaxRate.tax_class_id)
        .order_by(TaxRate.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(TaxRate.id < before_id)
    if country is not None:
        query = query.where(TaxRate.country == country)
    if tax_class is not None:
        query = query.where(TaxClass.code == tax_class)
    return [(rate, code) for rate, code in (await session.execute(query)).all()]


async def delete_tax_rate(session: AsyncSession, tax_rate_id: uuid.UUID) -> bool:
    result = await session.execute(delete(TaxRate).where(TaxRate.id == tax_rate_id).returning(TaxRate.id))
    return result.first() is not None
