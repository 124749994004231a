"""Promotion rules: what a promotion may say (what pricing can compute), and the limits a change
must respect (a limit never below the uses taken, no codes on an automatic promotion)."""

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.errors import UnprocessableEntity
from shop.core.schemas import Page, after_id, next_id_cursor, store_amount
from shop.pricing.arithmetic import ppm
from shop.promotions import repository, schemas
from shop.promotions.errors import LimitBelowUses, PromotionHasCodes, PromotionNotFound
from shop.promotions.models import Promotion
from shop.promotions.repository import PromotionFilter


def present(promotion: Promotion, currency: str) -> schemas.Promotion:
    """The API's view of a promotion row."""
    targets = (promotion.product_ids, promotion.variant_ids, promotion.category_ids)
    applies_to = None
    if any(targets):
        applies_to = schemas.AppliesTo(
            product_ids=list(promotion.product_ids),
            variant_ids=list(promotion.variant_ids),
            category_ids=list(promotion.category_ids),
        )
    minimum = promotion.min_subtotal
    conditions = schemas.Conditions(
        min_subtotal=None if minimum is None else schemas.Threshold(amount=minimum, currency=currency),
        starts_at=promotion.starts_at,
        ends_at=promotion.ends_at,
        first_order_only=promotion.first_order_only,
        customer_ids=list(promotion.customer_ids),
        customer_groups=list(promotion.customer_groups),
    )
    return schemas.Promotion(
        id=promotion.id,
        name=promotion.name,
        automatic=promotion.automatic,
        benefit=_benefit_view(promotion, currency),
        applies_to=applies_to,
        conditions=conditions,
        max_uses=promotion.max_uses,
        max_uses_per_customer=promotion.max_uses_per_customer,
        uses=promotion.uses,
        is_active=promotion.is_active,
        created_at=promotion.created_at,
        updated_at=promotion.updated_at,
    )


def _benefit_view(promotion: Promotion, currency: str) -> schemas.PercentOff | schemas.AmountOff | schemas.FreeShipping:
    if promotion.benefit == "percent" and promotion.percent_ppm is not None:
        return schemas.PercentOff(type="percent", percent=schemas.percent_of(promotion.percent_ppm))
    if promotion.benefit == "amount" and promotion.amount is not None:
        return schemas.AmountOff(
            type="amount", amount=schemas.AmountOffMoney(amount=promotion.amount, currency=currency)
        )
    return schemas.FreeShipping(type="free_shipping")


class PromotionService:
    async def page(
        self, session: AsyncSession, *, currency: str, where: PromotionFilter, limit: int, cursor: str | None
    ) -> Page[schemas.Promotion]:
        rows = await repository.page_promotions(session, limit=limit + 1, before_id=after_id(cursor), where=where)
        items = [present(row, currency) for row in rows[:limit]]
        next_cursor = next_id_cursor([row.id for row in rows], limit)
        return Page[schemas.Promotion](items=items, next_cursor=next_cursor)

    async def get(self, session: AsyncSession, *, promotion_id: uuid.UUID, currency: str) -> schemas.Promotion:
        promotion = await repository.get_promotion(session, promotion_id)
        if promotion is None:
            raise PromotionNotFound("No such promotion.")
        return present(promotion, currency)

    async def create(self, session: AsyncSession, *, data: schemas.PromotionCreate, currency: str) -> schemas.Promotion:
        promotion = Promotion(
            name=data.name,
            automatic=data.automatic,
            max_uses=data.max_uses,
            max_uses_per_customer=data.max_uses_per_customer,
            is_active=data.is_active,
        )
        _set_benefit(promotion, data.benefit, currency)
        _set_targets(promotion, data.applies_to)
        _set_conditions(promotion, data.conditions, currency)
        session.add(promotion)
        await session.flush()
        await session.refresh(promotion)
        return present(promotion, currency)

    async def update(
        self, session: AsyncSession, *, promotion_id: uuid.UUID, data: schemas.PromotionUpdate, currency: str
    ) -> schemas.Promotion:
        # Locked: a checkout taking a use, or a code being added, waits for this change or goes first.
        promotion = await repository.lock_promotion(session, promotion_id)
        if promotion is None:
            raise PromotionNotFound("No such promotion.")
        given = data.model_fields_set
        if data.automatic is True and not promotion.automatic and await repository.has_codes(session, promotion.id):
            raise PromotionHasCodes("The promotion has codes: delete them before making it automatic.")
        if "max_uses" in given and data.max_uses is not None and data.max_uses < promotion.uses:
            raise LimitBelowUses(f"Orders already hold {promotion.uses} uses of this promotion.")
        if data.name is not None:
            promotion.name = data.name
        if data.automatic is not None:
            promotion.automatic = data.automatic
        if data.benefit is not None:
            _set_benefit(promotion, data.benefit, currency)
        if "applies_to" in given:
            _set_targets(promotion, data.applies_to)
        if "conditions" in given:
            if data.conditions is None:
                _set_conditions(promotion, schemas.Conditions(), currency)
            else:
                _merge_conditions(promotion, data.conditions, currency)
        if "max_uses" in given:
            promotion.max_uses = data.max_uses
        if "max_uses_per_customer" in given:
            promotion.max_uses_per_customer = data.max_uses_per_customer
        if data.is_active is not None:
            promotion.is_active = data.is_active
        await session.flush()
        await session.refresh(promotion)
        return present(promotion, currency)

    async def delete(self, session: AsyncSession, *, promotion_id: uuid.UUID) -> None:
        """Delete a promotion with its codes; past orders keep their own copy of what it took off."""
        promotion = await repository.lock_promotion(session, promotion_id)
        if promotion is None:
            raise PromotionNotFound("No such promotion.")
        await repository.delete_promotion(session, promotion)


def _set_benefit(
    promotion: Promotion, benefit: schemas.PercentOff | schemas.AmountOff | schemas.FreeShipping, currency: str
) -> None:
    promotion.benefit = benefit.type
    promotion.percent_ppm = ppm(Decimal(benefit.percent)) if isinstance(benefit, schemas.PercentOff) else None
    if isinstance(benefit, schemas.AmountOff):
        promotion.amount = store_amount(benefit.amount, currency, ("body", "benefit", "amount"))
    else:
        promotion.amount = None


def _set_targets(promotion: Promotion, applies_to: schemas.AppliesTo | None) -> None:
    targets = applies_to or schemas.AppliesTo()
    promotion.product_ids = list(targets.product_ids)
    promotion.variant_ids = list(targets.variant_ids)
    promotion.category_ids = list(targets.category_ids)


def _set_conditions(promotion: Promotion, conditions: schemas.Conditions, currency: str) -> None:
    minimum = conditions.min_subtotal
    loc = ("body", "conditions", "min_subtotal")
    promotion.min_subtotal = None if minimum is None else store_amount(minimum, currency, loc)
    promotion.starts_at = conditions.starts_at
    promotion.ends_at = conditions.ends_at
    promotion.first_order_only = conditions.first_order_only
    promotion.customer_ids = list(conditions.customer_ids)
    promotion.customer_groups = list(conditions.customer_groups)


def _merge_conditions(promotion: Promotion, patch: schemas.ConditionsUpdate, currency: str) -> None:
    """Change the conditions the patch gives, keep the others; the window left must start before it ends."""
    given = patch.model_fields_set
    if "min_subtotal" in given:
        minimum = patch.min_subtotal
        loc = ("body", "conditions", "min_subtotal")
        promotion.min_subtotal = None if minimum is None else store_amount(minimum, currency, loc)
    if "starts_at" in given:
        promotion.starts_at = patch.starts_at
    if "ends_at" in given:
        promotion.ends_at = patch.ends_at
    if patch.first_order_only is not None:
        promotion.first_order_only = patch.first_order_only
    if patch.customer_ids is not None:
        promotion.customer_ids = list(patch.customer_ids)
    if patch.customer_groups is not None:
        promotion.customer_groups = list(patch.customer_groups)
    starts_at, ends_at = promotion.starts_at, promotion.ends_at
    if starts_at is not None and ends_at is not None and starts_at >= ends_at:
        field = "ends_at" if "ends_at" in given else "starts_at"
        msg = "starts_at must come before ends_at"
        error = {"loc": ["body", "conditions", field], "msg": msg, "type": "value_error"}
        raise UnprocessableEntity("The promotion's window must start before it ends.", errors=[error])


promotions = PromotionService()
