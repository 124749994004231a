"""Tax classes: what a variant or a shipping method is taxed under. The code is the key others
refer to and never changes; the built-in classes (standard, reduced, zero) are never deleted."""

import uuid
from collections.abc import Sequence

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.db import violated_constraint
from shop.core.schemas import Page, after_id, next_id_cursor
from shop.taxes import repository, schemas
from shop.taxes.errors import TaxClassBuiltin, TaxClassInUse, TaxClassNotFound, TaxClassTaken, UnknownTaxClass
from shop.taxes.models import TaxClass

log = structlog.get_logger()


class TaxClassService:
    async def page(self, session: AsyncSession, *, limit: int, cursor: str | None) -> Page[schemas.TaxClass]:
        rows = await repository.page_tax_classes(session, limit=limit + 1, before_id=after_id(cursor))
        return Page[schemas.TaxClass](
            items=[schemas.TaxClass.model_validate(row) for row in rows[:limit]],
            next_cursor=next_id_cursor([row.id for row in rows], limit),
        )

    async def get(self, session: AsyncSession, *, tax_class_id: uuid.UUID) -> schemas.TaxClass:
        return schemas.TaxClass.model_validate(await self._get(session, tax_class_id))

    async def create(self, session: AsyncSession, *, data: schemas.TaxClassCreate) -> schemas.TaxClass:
        tax_class = TaxClass(code=data.code, name=data.name)
        session.add(tax_class)
        try:
            await session.flush()
        except IntegrityError as exc:
            # The unique index decides, so two admins creating one code at once get one 201 and one 409.
            if violated_constraint(exc) == repository.TAX_CLASS_CODE_UNIQUE:
                raise TaxClassTaken(f"The tax class {data.code!r} exists.") from None
            raise
        await session.refresh(tax_class)  # the timestamps the database set
        log.info("taxes.class_created", code=tax_class.code)
        return schemas.TaxClass.model_validate(tax_class)

    async def update(
        self, session: AsyncSession, *, tax_class_id: uuid.UUID, data: schemas.TaxClassUpdate
    ) -> schemas.TaxClass:
        tax_class = await self._get(session, tax_class_id)
        if data.name is not None:
            tax_class.name = data.name
        await session.flush()
        await session.refresh(tax_class)  # updated_at, set by the database
        return schemas.TaxClass.model_validate(tax_class)

    async def delete(self, session: AsyncSession, *, tax_class_id: uuid.UUID) -> None:
        tax_class = await self._get(session, tax_class_id)
        if tax_class.builtin:
            raise TaxClassBuiltin(f"The tax class {tax_class.code!r} is built in and cannot be deleted.")
        try:
            # The foreign keys of variants and shipping methods (RESTRICT) decide, so a variant
            # moved to this class while it is being deleted cannot be left pointing at nothing.
            await repository.delete_tax_class(session, tax_class.id)
        except IntegrityError as exc:
            if (violated_constraint(exc) or "").endswith("_tax_class_tax_class"):
                raise TaxClassInUse(
                    f"The tax class {tax_class.code!r} is used by variants or shipping methods."
                ) from None
            raise
        log.info("taxes.class_deleted", code=tax_class.code)

    async def require(self, session: AsyncSession, *, code: str, loc: Sequence[str | int]) -> None:
        """Raise 422 `unknown_tax_class` (at `loc` of the body) unless a class has this code."""
        if await repository.tax_class_id_by_code(session, code) is None:
            raise UnknownTaxClass.at(loc, code)

    async def _get(self, session: AsyncSession, tax_class_id: uuid.UUID) -> TaxClass:
        tax_class = await repository.get_tax_class(session, tax_class_id)
        if tax_class is None:
            raise TaxClassNotFound("There is no such tax class.")
        return tax_class


tax_classes = TaxClassService()
