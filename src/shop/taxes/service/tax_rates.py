"""Tax rates: the percentage of each class in a country, or in one region of it.

Stored in ppm as shop.pricing reads them; shown as the normalised decimal string.
"""

import uuid
from decimal import Decimal

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.db import violated_constraint
from shop.core.schemas import Page, after_id, next_id_cursor
from shop.pricing.arithmetic import ppm
from shop.pricing.taxes import percent
from shop.taxes import repository, schemas
from shop.taxes.errors import TaxRateNotFound, TaxRateTaken, UnknownTaxClass
from shop.taxes.models import TaxRate

log = structlog.get_logger()


def present(rate: TaxRate, code: str) -> schemas.TaxRate:
    return schemas.TaxRate(
        id=rate.id,
        tax_class=code,
        country=rate.country,
        region=rate.region,
        rate=str(percent(rate.rate_ppm)),
        created_at=rate.created_at,
        updated_at=rate.updated_at,
    )


class TaxRateService:
    async def page(
        self, session: AsyncSession, *, limit: int, cursor: str | None, country: str | None, tax_class: str | None
    ) -> Page[schemas.TaxRate]:
        rows = await repository.page_tax_rates(
            session, limit=limit + 1, before_id=after_id(cursor), country=country, tax_class=tax_class
        )
        return Page[schemas.TaxRate](
            items=[present(rate, code) for rate, code in rows[:limit]],
            next_cursor=next_id_cursor([rate.id for rate, _ in rows], limit),
        )

    async def get(self, session: AsyncSession, *, tax_rate_id: uuid.UUID) -> schemas.TaxRate:
        return present(*await self._get(session, tax_rate_id))

    async def create(self, session: AsyncSession, *, data: schemas.TaxRateCreate) -> schemas.TaxRate:
        tax_class_id = await repository.tax_class_id_by_code(session, data.tax_class)
        if tax_class_id is None:
            raise UnknownTaxClass.at(("body", "tax_class"), data.tax_class)
        rate = TaxRate(
            tax_class_id=tax_class_id, country=data.country, region=data.region, rate_ppm=ppm(Decimal(data.rate))
        )
        session.add(rate)
        try:
            await session.flush()
        except IntegrityError as exc:
            constraint = violated_constraint(exc)
            if constraint == repository.TAX_RATE_PLACE_UNIQUE:
                place = data.region or data.country
                raise TaxRateTaken(f"The {data.tax_class!r} class has a rate for {place} already.") from None
            if constraint == "fk_tax_rate_tax_class_id_tax_class":  # the class was deleted meanwhile
                raise UnknownTaxClass.at(("body", "tax_class"), data.tax_class) from None
            raise
        await session.refresh(rate)
        log.info("taxes.rate_created", tax_class=data.tax_class, country=rate.country, region=rate.region)
        return present(rate, data.tax_class)

    async def update(
        self, session: AsyncSession, *, tax_rate_id: uuid.UUID, data: schemas.TaxRateUpdate
    ) -> schemas.TaxRate:
        rate, code = await self._get(session, tax_rate_id)
        rate.rate_ppm = ppm(Decimal(data.rate))
        await session.flush()
        await session.refresh(rate)
        return present(rate, code)

    async def delete(self, session: AsyncSession, *, tax_rate_id: uuid.UUID) -> None:
        if not await repository.delete_tax_rate(session, tax_rate_id):
            raise TaxRateNotFound("There is no such tax rate.")

    async def _get(self, session: AsyncSession, tax_rate_id: uuid.UUID) -> tuple[TaxRate, str]:
        found = await repository.get_tax_rate(session, tax_rate_id)
        if found is None:
            raise TaxRateNotFound("There is no such tax rate.")
        return found


tax_rates = TaxRateService()
