"""Promotions as the pricing reads them, and the uses a checkout takes of them (and gives back).

Reading: the active automatic promotions a customer may still use, and a code the customer typed
(matched case-insensitively), each as `shop.pricing` takes it. Whether a promotion's window is
open is for the pricing to judge (it has the time); a limit already reached is judged here.

Taking uses is race-proof: every counter is taken with one conditional UPDATE (or an upsert for
the per-customer counter) that returns no row when the limit is reached, under the row's lock
until the checkout commits; the CHECK constraints of the tables refuse any excess whatever wrote
it. Locks are taken in one fixed order (promotion rows by id, then code rows by id, then customer
rows by promotion id), after the checkout's stock locks, so no two checkouts deadlock.

Which counters are taken: a code that takes something off counts on its promotion and on itself
(one that takes nothing off, free shipping where it is free already, holds no use); an automatic
promotion counts only when it has a limit (an unlimited one applies to every checkout, which would
otherwise all queue on its row); a per-customer counter only when the promotion has that limit.
What was taken is recorded as `Claim`s on the order, and given back exactly when it is cancelled.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shop import pricing
from shop.core.config_cache import ConfigCache
from shop.pricing.taxes import percent
from shop.promotions.models import CustomerUse, Promotion, PromotionCode


@dataclass(frozen=True, slots=True)
class Limits:
    """Which of a promotion's counters a use of it takes."""

    counted: bool  # the promotion's own `uses`
    per_customer: bool  # the customer's `uses` of it


@dataclass(frozen=True, slots=True)
class Offer:
    """The automatic promotions a customer may use now (limits permitting), and what a use takes."""

    promotions: tuple[pricing.Promotion, ...]
    limits: dict[uuid.UUID, Limits]


@dataclass(frozen=True, slots=True)
class FoundCode:
    coupon: pricing.Coupon
    code_id: uuid.UUID | None  # None: no such (active) code
    per_customer: bool


@dataclass(frozen=True, slots=True)
class Claim:
    """A use an order takes of a promotion: the counters it holds until the order is cancelled."""

    promotion_id: uuid.UUID
    code_id: uuid.UUID | None
    counted: bool
    per_customer: bool


class RedemptionService:
    async def automatic(self, session: AsyncSession, *, customer_id: uuid.UUID | None, generation: int) -> Offer:
        """The active automatic promotions whose limits this customer has not reached.

        The promotions come from the configuration cache (`generation`: core/config_cache.py);
        only the counters of those with limits are read each time, and only when there are some.
        """
        configured = await _configured.get(session, generation, "automatic", lambda: _automatic(session))
        limited = [entry.promotion.id for entry in configured if entry.limited]
        counts = await _counts(session, limited, customer_id) if limited else {}
        found, limits = [], {}
        for entry in configured:
            if entry.limited:
                if entry.promotion.id not in counts:
                    continue  # deleted since it was cached
                uses, customer_uses = counts[entry.promotion.id]
                if entry.max_uses is not None and uses >= entry.max_uses:
                    continue
                if entry.per_customer is not None and customer_uses >= entry.per_customer:
                    continue
            found.append(entry.promotion)
            limits[entry.promotion.id] = Limits(counted=entry.limited, per_customer=entry.per_customer is not None)
        return Offer(promotions=tuple(found), limits=limits)

    async def find_code(self, session: AsyncSession, *, code: str, customer_id: uuid.UUID | None) -> FoundCode:
        """The code as typed (any case), with the counts its limits are judged on."""
        typed = code.strip().upper()
        row = (
            await session.execute(
                select(PromotionCode, Promotion, CustomerUse.uses)
                .join(Promotion, Promotion.id == PromotionCode.promotion_id)
                .outerjoin(
                    CustomerUse,
                    (CustomerUse.promotion_id == Promotion.id) & (CustomerUse.customer_id == customer_id),
                )
                .where(PromotionCode.code == typed, Promotion.is_active)
            )
        ).one_or_none()
        if row is None:
            return FoundCode(pricing.Coupon(code=typed, promotion=None), None, per_customer=False)
        code_row, promotion, customer_uses = row
        uses, max_uses = _tighter((promotion.uses, promotion.max_uses), (code_row.uses, code_row.max_uses))
        coupon = pricing.Coupon(
            code=code_row.code,
            promotion=as_promotion(promotion),
            uses=uses,
            max_uses=max_uses,
            customer_uses=customer_uses or 0,
            max_uses_per_customer=uses_per_customer(promotion),
        )
        return FoundCode(coupon, code_row.id, per_customer=uses_per_customer(promotion) is not None)

    def customer(self, *, customer_id: uuid.UUID, groups: Sequence[str], has_orders: bool) -> pricing.Customer:
        """The customer as conditions see them; their first order is one with no other order not cancelled.

        The caller reads the groups (the account) and the orders: this domain reads neither table.
        """
        return pricing.Customer(id=customer_id, groups=frozenset(groups), first_order=not has_orders)

    async def take(self, session: AsyncSession, *, claims: Sequence[Claim], customer_id: uuid.UUID) -> Claim | None:
        """Take every claim's uses; the first claim whose limit is reached, or None when all were taken.

        On a refusal the caller must roll back: uses taken before it are still held.
        """
        for claim in sorted((c for c in claims if c.counted), key=lambda c: c.promotion_id):
            if not await _take_use(session, Promotion, claim.promotion_id):
                return claim
        for claim in sorted((c for c in claims if c.code_id is not None), key=lambda c: str(c.code_id)):
            assert claim.code_id is not None
            if not await _take_use(session, PromotionCode, claim.code_id):
                return claim
        for claim in sorted((c for c in claims if c.per_customer), key=lambda c: c.promotion_id):
            if not await self._take_customer_use(session, claim.promotion_id, customer_id):
                return claim
        return None

    async def give_back(self, session: AsyncSession, *, claims: Sequence[tuple[Claim, uuid.UUID]]) -> None:
        """Give back the uses of cancelled orders: (claim, customer id) pairs, in the order `take` locks."""
        promotions: dict[uuid.UUID, int] = {}
        codes: dict[uuid.UUID, int] = {}
        customers: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
        for claim, customer_id in claims:
            if claim.counted:
                promotions[claim.promotion_id] = promotions.get(claim.promotion_id, 0) + 1
            if claim.code_id is not None:
                codes[claim.code_id] = codes.get(claim.code_id, 0) + 1
            if claim.per_customer:
                key = (claim.promotion_id, customer_id)
                customers[key] = customers.get(key, 0) + 1
        # GREATEST: a counter an admin reset meanwhile never goes below zero.
        for promotion_id in sorted(promotions):
            await _give_back_uses(session, Promotion, promotion_id, promotions[promotion_id])
        for code_id in sorted(codes, key=str):
            await _give_back_uses(session, PromotionCode, code_id, codes[code_id])
        for promotion_id, customer_id in sorted(customers):
            await session.execute(
                update(CustomerUse)
                .where(CustomerUse.promotion_id == promotion_id, CustomerUse.customer_id == customer_id)
                .values(uses=func.greatest(CustomerUse.uses - customers[(promotion_id, customer_id)], 0))
            )

    async def _take_customer_use(self, session: AsyncSession, promotion_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
        # As uses_per_customer() reads it: LEAST ignores a NULL, and is NULL only when both are.
        first_order_once = case((Promotion.first_order_only, 1), else_=None)
        limit = (
            select(func.least(Promotion.max_uses_per_customer, first_order_once))
            .where(Promotion.id == promotion_id)
            .scalar_subquery()
        )
        statement = insert(CustomerUse).values(promotion_id=promotion_id, customer_id=customer_id, uses=1)
        statement = statement.on_conflict_do_update(
            index_elements=[CustomerUse.promotion_id, CustomerUse.customer_id],
            set_={"uses": CustomerUse.uses + 1},
            where=(limit.is_(None)) | (CustomerUse.uses < limit),
        )
        return await session.scalar(statement.returning(CustomerUse.uses)) is not None


async def _take_use(session: AsyncSession, counter: type[Promotion] | type[PromotionCode], row_id: uuid.UUID) -> bool:
    """One more use on a promotion's or a code's counter, unless its limit is reached (then False)."""
    taken = await session.scalar(
        update(counter)
        .where(counter.id == row_id, counter.max_uses.is_(None) | (counter.uses < counter.max_uses))
        .values(uses=counter.uses + 1)
        .returning(counter.id)
    )
    return taken is not None


async def _give_back_uses(
    session: AsyncSession, counter: type[Promotion] | type[PromotionCode], row_id: uuid.UUID, count: int
) -> None:
    # GREATEST: a counter an admin reset meanwhile never goes below zero.
    await session.execute(
        update(counter).where(counter.id == row_id).values(uses=func.greatest(counter.uses - count, 0))
    )


@dataclass(frozen=True, slots=True)
class _Automatic:
    """An automatic promotion as cached: what the pricing reads, and the limits its uses are held to."""

    promotion: pricing.Promotion
    max_uses: int | None
    per_customer: int | None

    @property
    def limited(self) -> bool:
        """Whether a use is counted: only then are its counters read and taken."""
        return self.max_uses is not None or self.per_customer is not None


_configured = ConfigCache()


async def _automatic(session: AsyncSession) -> tuple[_Automatic, ...]:
    rows = await session.scalars(
        select(Promotion)
        .where(
            Promotion.automatic,
            Promotion.is_active,
            # Over for good: not worth keeping (the pricing judges the rest of the window, at the
            # transaction's time; one that ends later stays cached and is judged over then).
            Promotion.ends_at.is_(None) | (Promotion.ends_at > func.now()),
        )
        .order_by(Promotion.id)
    )
    return tuple(_Automatic(as_promotion(row), row.max_uses, uses_per_customer(row)) for row in rows)


async def _counts(
    session: AsyncSession, promotion_ids: Sequence[uuid.UUID], customer_id: uuid.UUID | None
) -> dict[uuid.UUID, tuple[int, int]]:
    """(uses, this customer's uses) of each promotion, as the last commit left them."""
    rows = await session.execute(
        select(Promotion.id, Promotion.uses, CustomerUse.uses)
        .outerjoin(CustomerUse, (CustomerUse.promotion_id == Promotion.id) & (CustomerUse.customer_id == customer_id))
        .where(Promotion.id.in_(promotion_ids))
    )
    return {promotion_id: (uses, customer_uses or 0) for promotion_id, uses, customer_uses in rows}


def uses_per_customer(row: Promotion) -> int | None:
    """How many uses one customer's live orders may hold (None: no limit). A first-order-only
    promotion is once per customer: two first orders racing each see no earlier order, and only
    this counter, taken under its row lock, lets just one of them have it."""
    limits = [limit for limit in (row.max_uses_per_customer, 1 if row.first_order_only else None) if limit is not None]
    return min(limits) if limits else None


def as_promotion(row: Promotion) -> pricing.Promotion:
    """A promotion row as the pricing reads it."""
    benefit: pricing.Benefit
    if row.benefit == "percent" and row.percent_ppm is not None:
        benefit = pricing.PercentOff(percent(row.percent_ppm))
    elif row.benefit == "amount" and row.amount is not None:
        benefit = pricing.AmountOff(row.amount)
    else:
        benefit = pricing.FreeShipping()
    targets = (row.product_ids, row.variant_ids, row.category_ids)
    applies_to = (
        pricing.LineFilter(frozenset(row.product_ids), frozenset(row.variant_ids), frozenset(row.category_ids))
        if any(targets)
        else None
    )
    conditions = pricing.Conditions(
        min_subtotal=row.min_subtotal,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        first_order_only=row.first_order_only,
        customer_ids=frozenset(row.customer_ids),
        customer_groups=frozenset(row.customer_groups),
    )
    return pricing.Promotion(id=row.id, name=row.name, benefit=benefit, applies_to=applies_to, conditions=conditions)


def _tighter(*limits: tuple[int, int | None]) -> tuple[int, int | None]:
    """Of several (uses, max) pairs, the one with the fewest uses left: it decides whether a use is left."""
    bounded = [(uses, most) for uses, most in limits if most is not None]
    if not bounded:
        return limits[0][0], None
    return min(bounded, key=lambda pair: pair[1] - pair[0])


redemptions = RedemptionService()
