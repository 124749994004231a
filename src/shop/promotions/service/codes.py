"""Promotion codes: one by one, in bulk (random, unique even against concurrent runs), and exported.

Codes are stored upper case and unique across every promotion; only a code-only promotion
(`automatic` false) has codes. Adding codes locks the promotion FOR KEY SHARE, so it cannot turn
automatic at the same moment (its update locks it FOR UPDATE and checks for codes), while a
checkout taking a use of it (FOR NO KEY UPDATE) never waits for a bulk run.

A bulk run draws random codes with `secrets` from an alphabet without look-alikes, inserts them
with ON CONFLICT DO NOTHING (a code that exists, in any promotion, is skipped) and draws again
for the shortfall. One bulk run at a time (`repository.try_lock_bulk_codes`), so two of them
never deadlock on each other's codes; a run that finds another one going answers 409
`bulk_generation_in_progress` at once instead of queueing.
"""

import csv
import io
import secrets
import uuid
from collections.abc import AsyncIterator

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop.core.db import violated_constraint
from shop.core.schemas import Page, after_id, next_id_cursor
from shop.promotions import repository, schemas
from shop.promotions.errors import (
    BulkGenerationInProgress,
    CodeTaken,
    PromotionCodeNotFound,
    PromotionIsAutomatic,
    PromotionNotFound,
)
from shop.promotions.models import Promotion, PromotionCode

# No 0/O or 1/I: a code read aloud or copied from paper is typed right.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
INSERT_CHUNK = 1000
EXPORT_PAGE = 1000
CSV_HEADER = ("code", "max_uses", "uses", "created_at")
# A run that keeps colliding has exhausted its space (a short length on a busy prefix): give up
# rather than loop for ever.
MAX_ROUNDS = 50


def random_code(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


class CodeService:
    async def create(
        self, session: AsyncSession, *, promotion_id: uuid.UUID, data: schemas.PromotionCodeCreate
    ) -> PromotionCode:
        await _code_only_promotion(session, promotion_id)
        if await repository.code_exists(session, data.code):
            raise CodeTaken(f"The code {data.code!r} is taken.")
        code = PromotionCode(promotion_id=promotion_id, code=data.code, max_uses=data.max_uses)
        session.add(code)
        try:
            await session.flush()
        except IntegrityError as exc:
            # Another request added the same code between the check and this write.
            if (violated_constraint(exc) or "") == "uq_promotion_code_code":
                raise CodeTaken(f"The code {data.code!r} is taken.") from None
            raise
        await session.refresh(code)
        return code

    async def create_many(
        self, session: AsyncSession, *, promotion_id: uuid.UUID, data: schemas.PromotionCodeBulkCreate
    ) -> schemas.PromotionCodesCreated:
        """`count` new random codes: each round inserts what it lacks, skipping any code that exists."""
        await _code_only_promotion(session, promotion_id)
        if not await repository.try_lock_bulk_codes(session):
            raise BulkGenerationInProgress()
        prefix = data.prefix or ""
        created = 0
        for _ in range(MAX_ROUNDS):
            wanted = min(data.count - created, INSERT_CHUNK)
            if wanted == 0:
                break
            # A set: one round never asks for the same code twice (a repeat drawn is made up
            # for by the next round, like a code that exists).
            candidates = {random_code(prefix, data.length) for _ in range(wanted)}
            created += await repository.insert_new_codes(
                session, promotion_id=promotion_id, codes=list(candidates), max_uses=data.max_uses
            )
        if created < data.count:
            raise CodeTaken("Too many of the possible codes are taken: use a longer length or another prefix.")
        return schemas.PromotionCodesCreated(created=created, prefix=data.prefix)

    async def page(
        self, session: AsyncSession, *, promotion_id: uuid.UUID, limit: int, cursor: str | None
    ) -> Page[schemas.PromotionCode]:
        if await repository.get_promotion(session, promotion_id) is None:
            raise PromotionNotFound("No such promotion.")
        before_id = after_id(cursor)
        rows = await repository.page_codes(session, promotion_id=promotion_id, limit=limit + 1, before_id=before_id)
        items = [schemas.PromotionCode.model_validate(row) for row in rows[:limit]]
        next_cursor = next_id_cursor([row.id for row in rows], limit)
        return Page[schemas.PromotionCode](items=items, next_cursor=next_cursor)

    async def delete(self, session: AsyncSession, *, code_id: uuid.UUID) -> None:
        if not await repository.delete_code(session, code_id):
            raise PromotionCodeNotFound("No such promotion code.")

    async def check_exists(self, session: AsyncSession, *, promotion_id: uuid.UUID) -> None:
        if await repository.get_promotion(session, promotion_id) is None:
            raise PromotionNotFound("No such promotion.")

    async def export_csv(
        self, sessions: async_sessionmaker[AsyncSession], *, promotion_id: uuid.UUID
    ) -> AsyncIterator[bytes]:
        """The codes as CSV, a page at a time (keyset on the id): never all of them in memory.

        The download goes at the client's pace, so each page is read in a short session of its
        own, closed before the page is yielded: a slow or paused client holds no pooled
        connection and no open transaction. Codes added or deleted while it runs may or may not
        be in it; every code that exists throughout is in it once.
        """
        yield _csv_row(CSV_HEADER)
        after: uuid.UUID | None = None
        while True:
            async with sessions() as session:
                page = await repository.export_codes(
                    session, promotion_id=promotion_id, after_id=after, limit=EXPORT_PAGE
                )
                chunk = b"".join(_csv_row(_export_row(code)) for code in page)
            if not page:
                return
            yield chunk
            after = page[-1].id


async def _code_only_promotion(session: AsyncSession, promotion_id: uuid.UUID) -> Promotion:
    promotion = await repository.lock_promotion(session, promotion_id, share=True)
    if promotion is None:
        raise PromotionNotFound("No such promotion.")
    if promotion.automatic:
        raise PromotionIsAutomatic("An automatic promotion applies without a code.")
    return promotion


def _export_row(code: PromotionCode) -> tuple[object, ...]:
    return (code.code, "" if code.max_uses is None else code.max_uses, code.uses, code.created_at.isoformat())


def _csv_row(values: tuple[object, ...]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue().encode()


codes = CodeService()
