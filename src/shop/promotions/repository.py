"""Every query on the promotion tables. Nothing here commits."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shop.promotions.models import Promotion, PromotionCode

# The advisory lock bulk code runs take ("promocod" as a number): one at a time, whatever the promotion.
BULK_CODES_LOCK = int.from_bytes(b"promocod", "big")


@dataclass(frozen=True, slots=True)
class PromotionFilter:
    automatic: bool | None = None
    active: bool | None = None


async def get_promotion(session: AsyncSession, promotion_id: uuid.UUID) -> Promotion | None:
    return await session.get(Promotion, promotion_id)


async def lock_promotion(session: AsyncSession, promotion_id: uuid.UUID, *, share: bool = False) -> Promotion | None:
    """The promotion, locked until the transaction ends: FOR UPDATE to change it, FOR KEY SHARE to
    add codes to it (so it cannot turn automatic meanwhile, while other code writers go on, and a
    checkout's `UPDATE promotion SET uses = uses + 1`, which takes FOR NO KEY UPDATE, never waits)."""
    query = select(Promotion).where(Promotion.id == promotion_id).execution_options(populate_existing=True)
    query = query.with_for_update(read=share, key_share=share)
    return await session.scalar(query)


async def page_promotions(
    session: AsyncSession, *, limit: int, before_id: uuid.UUID | None, where: PromotionFilter
) -> Sequence[Promotion]:
    """Newest first (ids are time-ordered); keyset pagination on the id, never OFFSET."""
    query = select(Promotion).order_by(Promotion.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Promotion.id < before_id)
    if where.automatic is not None:
        query = query.where(Promotion.automatic.is_(where.automatic))
    if where.active is not None:
        query = query.where(Promotion.is_active.is_(where.active))
    return (await session.scalars(query)).all()


async def delete_promotion(session: AsyncSession, promotion: Promotion) -> None:
    await session.delete(promotion)
    await session.flush()


async def has_codes(session: AsyncSession, promotion_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(PromotionCode.promotion_id == promotion_id))))


async def code_exists(session: AsyncSession, code: str) -> bool:
    return bool(await session.scalar(select(exists().where(PromotionCode.code == code))))


async def get_code(session: AsyncSession, code_id: uuid.UUID) -> PromotionCode | None:
    return await session.get(PromotionCode, code_id)


async def delete_code(session: AsyncSession, code_id: uuid.UUID) -> bool:
    deleted = await session.scalar(delete(PromotionCode).where(PromotionCode.id == code_id).returning(PromotionCode.id))
    return deleted is not None


async def page_codes(
    session: AsyncSession, *, promotion_id: uuid.UUID, limit: int, before_id: uuid.UUID | None
) -> Sequence[PromotionCode]:
    """Newest first, keyset on the id."""
    query = (
        select(PromotionCode)
        .where(PromotionCode.promotion_id == promotion_id)
        .order_by(PromotionCode.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(PromotionCode.id < before_id)
    return (await session.scalars(query)).all()


async def export_codes(
    session: AsyncSession, *, promotion_id: uuid.UUID, after_id: uuid.UUID | None, limit: int
) -> Sequence[PromotionCode]:
    """Oldest first from `after_id` on: the export reads a page at a time."""
    query = (
        select(PromotionCode).where(PromotionCode.promotion_id == promotion_id).order_by(PromotionCode.id).limit(limit)
    )
    if after_id is not None:
        query = query.where(PromotionCode.id > after_id)
    return (await session.scalars(query)).all()


async def try_lock_bulk_codes(session: AsyncSession) -> bool:
    """Take the bulk runs' turn until this transaction ends, or False at once if another run has it.

    Concurrent runs would wait on each other's uncommitted codes when they collide, and a run
    topping up could then wait on one that waits on it: a deadlock. Runs one after the other
    cannot; each still skips whatever exists when it inserts. Never waiting for the turn keeps a
    queue of runs from holding pooled connections and running into the statement timeout.
    """
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(BULK_CODES_LOCK))))


async def insert_new_codes(
    session: AsyncSession, *, promotion_id: uuid.UUID, codes: Sequence[str], max_uses: int | None
) -> int:
    """Insert the codes no other row has (ON CONFLICT DO NOTHING); how many went in.

    A code another transaction is inserting makes this wait for it, then skips the code if it
    committed: two concurrent runs never both get one code.
    """
    if not codes:
        return 0
    rows = [{"promotion_id": promotion_id, "code": code, "max_uses": max_uses} for code in sorted(codes)]
    statement = insert(PromotionCode).values(rows).on_conflict_do_nothing(index_elements=["code"])
    inserted = await session.scalars(statement.returning(PromotionCode.id))
    return len(inserted.all())
