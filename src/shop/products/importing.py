"""Bulk import of the catalog file: upsert by SKU, in batches, every line all or nothing.

Each batch of lines is one transaction. Every line is checked first (the admin API's rules, a
known category, a SKU that is not another product's) and planned against what the batch read and
locked up front; a line that changes nothing writes nothing, and stock is set through stock
movements (reason "import"). The plans of a batch are written together with a few multi-row
statements inside one SAVEPOINT. Should the database refuse any of it (a NUL character, a SKU
another writer took meanwhile), that savepoint is rolled back and the batch is written again one
line per SAVEPOINT, so only the refused line is undone — the product it would have created
included — and the rest of the batch still commits. After each batch the touched products get
their price sort and visibility recomputed, and their cached views are invalidated once the
batch has committed.

No transaction spans the file. A caller that must know exactly how far the import got passes
`checkpoint(session, batch)`: it runs inside each batch's transaction, just before the commit, so
what it records (a job's position, counts and rejected lines) commits with the batch or not at
all. To resume, pass only the lines after the last recorded `Batch.last_line`.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop.core.cache import invalidate_after_commit
from shop.core.db import commit, new_id, rollback, violated_constraint
from shop.products import repository
from shop.products.catalog_file import CatalogRow, SourceLine, parse_row
from shop.products.service.catalog import product_keys

log = structlog.get_logger()

BATCH_SIZE = 500
STOCK_REASON = "import"
# A batch that loses a deadlock (or a serialization race) to a concurrent writer is run again.
BATCH_ATTEMPTS = 3
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
# SQLSTATE classes of a refusal caused by a line's own values: data exceptions (22: say, a NUL
# character in a text) and constraint violations (23: say, a SKU another writer took meanwhile).
_LINE_REFUSAL_CLASSES = frozenset({"22", "23"})

Rejection = tuple[int, str]
Rows = dict[uuid.UUID, dict[str, Any]]


@dataclass
class ImportReport:
    total: int = 0
    applied: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class Batch:
    """One batch as it is about to commit."""

    lines: int
    last_line: int  # the file line of its last row: a resumed import starts after it
    rejected: list[Rejection]


# Runs in the batch's transaction, before its commit (use `after_commit` for what must wait for it).
Checkpoint = Callable[[AsyncSession, Batch], Awaitable[None]]


async def import_catalog(
    sessions: async_sessionmaker[AsyncSession],
    lines: Iterable[SourceLine],
    *,
    actor_id: uuid.UUID | None = None,
    batch_size: int = BATCH_SIZE,
    checkpoint: Checkpoint | None = None,
) -> ImportReport:
    """Apply every line that can be applied; the report lists the others with their reasons."""
    report = ImportReport()
    for batch in _batches(lines, batch_size):
        rejected = await _run_batch(sessions, batch, actor_id, checkpoint)
        report.total += len(batch)
        report.applied += len(batch) - len(rejected)
        report.rejected.extend(rejected)
    log.info("catalog.imported", total=report.total, applied=report.applied, rejected=len(report.rejected))
    return report


def _batches(lines: Iterable[SourceLine], size: int) -> Iterator[list[SourceLine]]:
    batch: list[SourceLine] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _run_batch(
    sessions: async_sessionmaker[AsyncSession],
    batch: list[SourceLine],
    actor_id: uuid.UUID | None,
    checkpoint: Checkpoint | None,
) -> list[Rejection]:
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        async with sessions() as session:
            try:
                rejected = await _apply_batch(session, batch, actor_id)
                if checkpoint is not None:
                    await checkpoint(session, Batch(len(batch), batch[-1].line, rejected))
                await commit(session)
            except DBAPIError as exc:
                await rollback(session)
                if _sqlstate(exc) not in _RETRYABLE_SQLSTATES or attempt == BATCH_ATTEMPTS:
                    raise
                log.warning("catalog.import_batch_retried", first_line=batch[0].line, attempt=attempt)
                continue
            except BaseException:
                await rollback(session)
                raise
            return rejected
    raise AssertionError("unreachable")


async def _apply_batch(session: AsyncSession, batch: list[SourceLine], actor_id: uuid.UUID | None) -> list[Rejection]:
    rejected: list[Rejection] = []
    valid: list[tuple[int, CatalogRow]] = []
    for source in batch:
        parsed = parse_row(source)
        if isinstance(parsed, str):
            rejected.append((source.line, parsed))
        else:
            valid.append((source.line, parsed))
    rows = [row for _, row in valid]
    state = await _Batch.load(session, rows, actor_id)
    refused = await _write_together(session, state, valid)
    if refused is None:
        # The database refused something; the picture is as it was before the savepoint.
        state = await _Batch.load(session, rows, actor_id)
        refused = await _write_line_by_line(session, state, valid)
    await repository.refresh_products(session, state.touched.keys())
    keys = [key for product_id, slug in state.touched.items() for key in product_keys(product_id, slug)]
    invalidate_after_commit(session, *keys)
    return sorted(rejected + refused)


async def _write_together(
    session: AsyncSession, state: "_Batch", lines: list[tuple[int, CatalogRow]]
) -> list[Rejection] | None:
    """All the batch's writes in one savepoint: its rejections, or None when the database refused any."""
    rejected: list[Rejection] = []
    writes = _Writes()
    for line, row in lines:
        if reason := state.check(row):
            rejected.append((line, reason))
            continue
        plan = state.plan(row)
        state.accept(plan)
        writes.add(plan.writes)
    try:
        async with session.begin_nested():
            await writes.execute(session)
    except DBAPIError as exc:
        if not _is_refusal(exc):
            raise
        log.info("catalog.import_batch_refused", first_line=lines[0][0], error=type(exc).__name__)
        return None
    return rejected


async def _write_line_by_line(
    session: AsyncSession, state: "_Batch", lines: list[tuple[int, CatalogRow]]
) -> list[Rejection]:
    rejected: list[Rejection] = []
    for line, row in lines:
        reason = state.check(row)
        if reason is None:
            plan = state.plan(row)
            try:
                async with session.begin_nested():
                    await plan.writes.execute(session)
            except DBAPIError as exc:
                if not _is_refusal(exc):
                    raise
                reason = _refusal(exc, row)
            else:
                state.accept(plan)
        if reason is not None:
            rejected.append((line, reason))
    return rejected


@dataclass
class _Writes:
    """Rows to insert, and whole rows to update, by id (a row made, then changed, is made as changed)."""

    new_products: Rows = field(default_factory=dict)
    changed_products: Rows = field(default_factory=dict)
    new_variants: Rows = field(default_factory=dict)
    changed_variants: Rows = field(default_factory=dict)
    movements: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new_products or self.changed_products or self.new_variants or self.changed_variants)

    def add(self, other: "_Writes") -> None:
        _merge(self.new_products, self.changed_products, other.new_products, other.changed_products)
        _merge(self.new_variants, self.changed_variants, other.new_variants, other.changed_variants)
        self.movements.extend(other.movements)

    async def execute(self, session: AsyncSession) -> None:
        await repository.insert_products(session, list(self.new_products.values()))
        await repository.update_products(session, list(self.changed_products.values()))
        await repository.insert_variants(session, list(self.new_variants.values()))
        await repository.update_variants(session, list(self.changed_variants.values()))
        await repository.record_movements(session, self.movements)


def _merge(new: Rows, changed: Rows, more_new: Rows, more_changed: Rows) -> None:
    new.update(more_new)
    for row_id, values in more_changed.items():
        if row_id in new:
            new[row_id] = {**new[row_id], **values}
        else:
            changed[row_id] = values


@dataclass(frozen=True)
class _Product:
    id: uuid.UUID
    slug: str
    archived: bool
    fields: dict[str, Any]  # name, description, category_id, images


@dataclass(frozen=True)
class _Variant:
    id: uuid.UUID
    sku: str
    product_slug: str
    fields: dict[str, Any]  # name, price_amount, attributes, is_active, stock


@dataclass(frozen=True)
class _Plan:
    """What one line writes, and its product and variant as the line leaves them."""

    writes: _Writes
    product: _Product
    variant: _Variant


@dataclass
class _Batch:
    """What a batch knows of the database: read (and locked) up front, kept current line by line."""

    categories: dict[str, uuid.UUID]
    products: dict[str, _Product]
    variants: dict[str, _Variant]
    actor_id: uuid.UUID | None
    touched: dict[uuid.UUID, str] = field(default_factory=dict)  # product id -> slug

    @classmethod
    async def load(cls, session: AsyncSession, rows: list[CatalogRow], actor_id: uuid.UUID | None) -> "_Batch":
        category_slugs = {row.category_slug for row in rows if row.category_slug}
        products = await repository.lock_products_by_slug(session, {row.product_slug for row in rows})
        variants = await repository.lock_variants_by_sku(session, {row.sku for row in rows})
        return cls(
            categories=await repository.category_ids_by_slug(session, category_slugs),
            products={
                p.slug: _Product(
                    p.id,
                    p.slug,
                    p.archived_at is not None,
                    {"name": p.name, "description": p.description, "category_id": p.category_id, "images": p.images},
                )
                for p in products
            },
            variants={
                v.sku: _Variant(
                    v.id,
                    v.sku,
                    v.product_slug,
                    {
                        "name": v.name,
                        "price_amount": v.price_amount,
                        "attributes": v.attributes,
                        "is_active": v.is_active,
                        "stock": v.stock,
                    },
                )
                for v in variants
            },
            actor_id=actor_id,
        )

    def check(self, row: CatalogRow) -> str | None:
        """Why the line cannot apply, as far as can be told without writing."""
        if row.category_slug and row.category_slug not in self.categories:
            return f"unknown category_slug {row.category_slug!r}"
        product = self.products.get(row.product_slug)
        if product is not None and product.archived:
            return f"product {row.product_slug!r} is archived"
        variant = self.variants.get(row.sku)
        if variant is not None and variant.product_slug != row.product_slug:
            return f"SKU {row.sku!r} belongs to another product ({variant.product_slug!r})"
        return None

    def plan(self, row: CatalogRow) -> _Plan:
        """The writes of a line that passed `check`."""
        writes = _Writes()
        product = self._plan_product(row, writes)
        variant = self._plan_variant(row, product, writes)
        return _Plan(writes, product, variant)

    def accept(self, plan: _Plan) -> None:
        """The line's writes hold: the picture moves on."""
        self.products[plan.product.slug] = plan.product
        self.variants[plan.variant.sku] = plan.variant
        if plan.writes:
            self.touched[plan.product.id] = plan.product.slug

    def _plan_product(self, row: CatalogRow, writes: _Writes) -> _Product:
        fields = {
            "name": row.product_name,
            "description": row.description,
            "category_id": self.categories[row.category_slug] if row.category_slug else None,
            "images": list(row.images),
        }
        current = self.products.get(row.product_slug)
        if current is None:
            product = _Product(new_id(), row.product_slug, False, fields)
            # Visibility is settled after the batch, from its variants.
            writes.new_products[product.id] = {"id": product.id, "slug": product.slug, "is_active": True, **fields}
            return product
        if current.fields == fields:
            return current
        writes.changed_products[current.id] = {"id": current.id, **fields}
        return _Product(current.id, current.slug, current.archived, fields)

    def _plan_variant(self, row: CatalogRow, product: _Product, writes: _Writes) -> _Variant:
        fields = {
            "name": row.variant_name,
            "price_amount": row.price_amount,
            "attributes": dict(row.attributes),
            "is_active": row.is_active,
            "stock": row.stock,
        }
        current = self.variants.get(row.sku)
        if current is None:
            variant = _Variant(new_id(), row.sku, product.slug, fields)
            writes.new_variants[variant.id] = {"id": variant.id, "product_id": product.id, "sku": row.sku, **fields}
            before = 0
        elif current.fields == fields:
            return current
        else:
            variant = _Variant(current.id, row.sku, product.slug, fields)
            writes.changed_variants[variant.id] = {"id": variant.id, **fields}
            before = current.fields["stock"]
        if row.stock != before:
            writes.movements.append(
                {
                    "variant_id": variant.id,
                    "delta": row.stock - before,
                    "stock_after": row.stock,
                    "reason": STOCK_REASON,
                    "actor_id": self.actor_id,
                }
            )
        return variant


def _is_refusal(exc: DBAPIError) -> bool:
    return (_sqlstate(exc) or "")[:2] in _LINE_REFUSAL_CLASSES


def _refusal(exc: DBAPIError, row: CatalogRow) -> str:
    constraint = violated_constraint(exc) if isinstance(exc, IntegrityError) else None
    if constraint and constraint.startswith("uq_variant_sku"):
        return f"SKU {row.sku!r} was taken meanwhile by another product"
    if constraint and constraint.startswith("uq_product_slug"):
        return f"product_slug {row.product_slug!r} was taken meanwhile"
    cause = exc.orig.__cause__ if exc.orig is not None else None
    return f"refused by the database: {str(cause or exc.orig).splitlines()[0]}"


def _sqlstate(exc: DBAPIError) -> str | None:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None
