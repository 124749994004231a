"""Export of the catalog file: every product that is not archived, one row per variant.

Rows are sorted by product slug, then SKU, so one catalog always gives the same bytes, and an
export imported into an emptied catalog exports again byte for byte. A row's `is_active` says
whether that variant can be sold: it and its product are active (the file has no separate column
for the product; importing the row back sets the variant, and the product is visible while one
of its variants is). A product without variants has no row. The whole file is read from one
snapshot, a page of products at a time.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop.products import repository
from shop.products.catalog_file import CatalogRow, CatalogWriter, FileFormat
from shop.products.models import Variant

PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class ExportReport:
    products: int
    lines: int


async def export_catalog(
    sessions: async_sessionmaker[AsyncSession], out: TextIO, file_format: FileFormat, *, page_size: int = PAGE_SIZE
) -> ExportReport:
    writer = CatalogWriter(out, file_format)
    products = lines = 0
    async with sessions() as session:
        # Pages read in one REPEATABLE READ transaction all see the same catalog.
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        after: str | None = None
        while page := await repository.export_products(session, after, page_size):
            variants = _by_product(await repository.export_variants(session, [p.id for p in page]))
            for product in page:
                if product.id in variants:
                    products += 1
                for variant in variants.get(product.id, []):
                    writer.write(
                        CatalogRow.model_construct(
                            sku=variant.sku,
                            product_slug=product.slug,
                            product_name=product.name,
                            description=product.description,
                            category_slug=product.category_slug,
                            variant_name=variant.name,
                            price_amount=variant.price_amount,
                            stock=variant.stock,
                            attributes=dict(variant.attributes),
                            images=list(product.images),
                            is_active=product.is_active and variant.is_active,
                        )
                    )
                    lines += 1
            after = page[-1].slug
    return ExportReport(products=products, lines=lines)


def _by_product(variants: Sequence[Variant]) -> dict[uuid.UUID, list[Variant]]:
    grouped: dict[uuid.UUID, list[Variant]] = defaultdict(list)
    for variant in variants:
        grouped[variant.product_id].append(variant)
    return grouped
