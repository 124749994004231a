"""Export: every product that is not archived, and a round trip that gives the same bytes back."""

import io
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shop.core.resources import Resources
from shop.core.security import Role
from shop.products.catalog_file import CSV_HEADER, CatalogFile, FileFormat
from shop.products.exporting import export_catalog
from shop.products.importing import import_catalog
from tests.fixtures.auth import Account, create_user
from tests.fixtures.catalog import eur

TRICKY_TEXT = 'Soft, "combed" cotton\nover two lines\r\nand CRLF — café ☕ \u2028 separator'


@pytest.fixture
async def staff(resources: Resources) -> Account:
    return await create_user(resources, role=Role.staff)


async def post(client: httpx.AsyncClient, staff: Account, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1/admin/{path}", json=body, headers=staff.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def variant(sku: str, amount: int, **fields: Any) -> dict[str, Any]:
    return {"sku": sku, "price": eur(amount), **fields}


async def build_catalog(client: httpx.AsyncClient, staff: Account) -> None:
    top = await post(client, staff, "categories", {"name": "Clothing"})
    shirts = await post(client, staff, "categories", {"name": "Shirts", "parent_id": top["id"]})
    await post(
        client,
        staff,
        "products",
        {
            "name": "Tee",
            "description": TRICKY_TEXT,
            "category_id": shirts["id"],
            "images": ["https://img.example/tee.jpg", "https://img.example/a|b.jpg"],
            "variants": [
                variant("TEE-S", 1999, name="S", stock=5, attributes={"size": "S", "colour": "navy"}),
                variant("TEE-M", 2499, name="M", is_active=False),
                variant("TEE-L", 2599, name="L, large", stock=7, attributes={"size": "L"}),
            ],
        },
    )
    await post(client, staff, "products", {"name": "Mug", "variants": [variant("MUG-1", 900, stock=3)]})
    await post(client, staff, "products", {"name": "Hidden", "is_active": False, "variants": [variant("HID-1", 100)]})
    await post(client, staff, "products", {"name": "Bare"})
    archived = await post(client, staff, "products", {"name": "Old", "variants": [variant("OLD-1", 100)]})
    await client.delete(f"/api/v1/admin/products/{archived['id']}", headers=staff.headers)


async def export(resources: Resources, file_format: FileFormat) -> bytes:
    out = io.StringIO(newline="")
    await export_catalog(resources.database.sessionmaker, out, file_format, page_size=2)
    return out.getvalue().encode()


async def empty_the_catalog(resources: Resources) -> None:
    """Products, variants and their stock history go; the categories stay (the file names them)."""
    async with resources.database.engine.begin() as connection:
        await connection.execute(text("TRUNCATE stock_movement, variant, product CASCADE"))


class TestExport:
    async def test_rows_per_variant_sorted_without_archived_or_bare_products(
        self, resources: Resources, client: httpx.AsyncClient, staff: Account
    ) -> None:
        await build_catalog(client, staff)
        lines = (await export(resources, FileFormat.jsonl)).decode().splitlines()
        assert len(lines) == 5, "one line per variant; U+2028 inside a value does not break a line"
        csv_text = (await export(resources, FileFormat.csv)).decode()
        assert csv_text.startswith(CSV_HEADER + "\n")
        assert "HID-1,hidden,Hidden,,,,100,0,,,false\n" in csv_text, "an inactive product's rows are inactive"
        assert "MUG-1,mug,Mug,,,,900,3,,,true\n" in csv_text
        assert "https://img.example/tee.jpg|https://img.example/a%7Cb.jpg" in csv_text
        assert "OLD-1" not in csv_text and "bare" not in csv_text
        order = [line.split(",")[0] for line in csv_text.splitlines() if line.split(",")[0].isupper()]
        assert order == ["HID-1", "MUG-1", "TEE-L", "TEE-M", "TEE-S"], "by product slug, then SKU"


@pytest.mark.parametrize("file_format", [FileFormat.csv, FileFormat.jsonl])
async def test_export_import_export_gives_the_same_bytes(
    resources: Resources, client: httpx.AsyncClient, staff: Account, file_format: FileFormat
) -> None:
    await build_catalog(client, staff)
    first = await export(resources, file_format)
    await empty_the_catalog(resources)
    assert await export(resources, file_format) in (CSV_HEADER.encode() + b"\n", b"")

    file = CatalogFile.from_bytes(first, file_format)
    report = await import_catalog(resources.database.sessionmaker, file.lines(), batch_size=2)
    assert (report.total, report.applied, report.rejected) == (5, 5, [])
    assert await export(resources, file_format) == first

    tee = (await client.get("/api/v1/products/by-slug/tee")).json()
    assert tee["description"] == TRICKY_TEXT
    assert tee["category"]["slug"] == "shirts"
    assert [v["sku"] for v in tee["variants"]] == ["TEE-L", "TEE-S"], "the inactive variant stays hidden"
    assert (await client.get("/api/v1/products/by-slug/hidden")).status_code == 404
