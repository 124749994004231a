"""Bulk import: good lines applied, bad lines reported exactly and never half-applied."""

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.core.db import unit_of_work
from shop.core.resources import Resources
from shop.products.catalog_file import CSV_HEADER, CatalogFile, FileFormat, UnusableInput, format_of
from shop.products.importing import Batch, ImportReport, import_catalog
from shop.products.models import Product, StockMovement, Variant
from tests.fixtures.catalog import create_category


def csv_file(*lines: str) -> CatalogFile:
    return CatalogFile.from_bytes("\n".join([CSV_HEADER, *lines, ""]).encode(), FileFormat.csv)


def jsonl_file(*lines: str | dict[str, Any]) -> CatalogFile:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    return CatalogFile.from_bytes(text.encode(), FileFormat.jsonl)


def row(sku: str, slug: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sku": sku,
        "product_slug": slug,
        "product_name": slug.replace("-", " ").title(),
        "price_amount": 1000,
        "stock": 1,
    }
    values.update(fields)
    return values


async def run_import(resources: Resources, file: CatalogFile, batch_size: int = 500) -> ImportReport:
    return await import_catalog(resources.database.sessionmaker, file.lines(), batch_size=batch_size)


async def products(resources: Resources) -> dict[str, Product]:
    async with resources.database.sessionmaker() as session:
        rows = await session.scalars(select(Product))
        return {product.slug: product for product in rows}


async def variants(resources: Resources) -> dict[str, Variant]:
    async with resources.database.sessionmaker() as session:
        rows = await session.scalars(select(Variant))
        return {variant.sku: variant for variant in rows}


async def movements(resources: Resources, sku: str) -> list[tuple[int, int, str]]:
    async with resources.database.sessionmaker() as session:
        rows = await session.execute(
            select(StockMovement.delta, StockMovement.stock_after, StockMovement.reason)
            .join(Variant, Variant.id == StockMovement.variant_id)
            .where(Variant.sku == sku)
            .order_by(StockMovement.created_at, StockMovement.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture
async def shirts(resources: Resources) -> uuid.UUID:
    return await create_category(resources, "Shirts")


class TestCsv:
    async def test_good_lines_apply_and_bad_lines_are_reported_with_their_reasons(
        self, resources: Resources, client: httpx.AsyncClient, shirts: uuid.UUID
    ) -> None:
        file = csv_file(
            'TEE-S,tee,Tee,"Soft, cotton",shirts,S,1999,5,"{""size"":""S""}",https://img.example/tee.jpg,true',
            'TEE-M,tee,Tee,"Soft, cotton",shirts,M,2499,0,"{""size"":""M""}",https://img.example/tee.jpg,true',
            "BAD-PRICE,mug,Mug,,,,-5,1,,,true",
            'MUG-1,mug,Mug,"A mug',
            'on two lines",kitchen,,900,1,,,true',
            "CAP-1,cap,Cap,,,One size,19.99,3,,,true",
            "HAT-1,hat,Hat,,,,1500,2,,,maybe",
            "TEE-S,other,Other,,,,100,1,,,true",
            "SOCK-1,socks,Socks,,shirts,Pair,500,10,,https://img.example/a.jpg|https://img.example/b.jpg,false",
            "SHORT,row",
        )
        report = await run_import(resources, file)

        assert report.rejected == [
            (4, "price_amount: Input should be greater than or equal to 0"),
            (5, "unknown category_slug 'kitchen'"),
            (7, "price_amount: must be a whole number (minor units for prices), not '19.99'"),
            (8, "is_active: must be true or false, not 'maybe'"),
            (9, "SKU 'TEE-S' belongs to another product ('tee')"),
            (11, "expected 11 fields, found 2"),
        ]
        assert (report.total, report.applied) == (9, 3)
        assert set(await products(resources)) == {"tee", "socks"}, "nothing of a rejected line exists"
        stored = await variants(resources)
        assert set(stored) == {"TEE-S", "TEE-M", "SOCK-1"}
        assert (stored["TEE-S"].price_amount, stored["TEE-S"].stock) == (1999, 5)
        assert stored["TEE-S"].attributes == {"size": "S"}
        assert await movements(resources, "TEE-S") == [(5, 5, "import")]
        assert await movements(resources, "TEE-M") == []

        listed = (await client.get("/api/v1/products")).json()["items"]
        assert [p["slug"] for p in listed] == ["tee"], "an inactive line hides its product"
        tee = listed[0]
        assert tee["description"] == "Soft, cotton"
        assert tee["category"]["slug"] == "shirts"
        assert tee["images"] == ["https://img.example/tee.jpg"]
        assert tee["price_range"]["min"]["amount"] == 1999
        assert tee["price_range"]["max"]["amount"] == 2499
        socks = (await products(resources))["socks"]
        assert socks.images == ["https://img.example/a.jpg", "https://img.example/b.jpg"]
        assert not socks.is_active
        assert not stored["SOCK-1"].is_active

    async def test_a_product_spread_over_lines_and_batches_gets_every_variant(
        self, resources: Resources, client: httpx.AsyncClient
    ) -> None:
        file = csv_file(
            "P-1,pants,Pants,,,32,3000,1,,,true",
            "J-1,jacket,Jacket,,,M,9000,1,,,true",
            "P-2,pants,Pants,,,34,2800,1,,,true",
            "J-2,jacket,Jacket,,,L,9500,1,,,true",
            "P-3,pants,Pants,,,36,3200,0,,,true",
        )
        report = await run_import(resources, file, batch_size=2)
        assert (report.total, report.applied, report.rejected) == (5, 5, [])
        pants = (await client.get("/api/v1/products/by-slug/pants")).json()
        assert sorted(v["sku"] for v in pants["variants"]) == ["P-1", "P-2", "P-3"]
        assert pants["price_range"]["min"]["amount"] == 2800
        by_price = (await client.get("/api/v1/products", params={"sort": "price"})).json()["items"]
        assert [p["slug"] for p in by_price] == ["pants", "jacket"]
        cheapest_first = (await client.get("/api/v1/products", params={"sort": "-price"})).json()["items"]
        assert [p["slug"] for p in cheapest_first] == ["jacket", "pants"]


class TestCheckpoints:
    async def test_a_checkpoint_commits_with_its_batch_and_a_resumed_import_applies_each_line_once(
        self, resources: Resources
    ) -> None:
        file = csv_file(
            "A-1,a,A,,,,100,1,,,true",
            "B-1,b,B,,,,nope,1,,,true",
            "C-1,c,C,,,,300,3,,,true",
            "D-1,d,D,,,,400,4,,,true",
            "E-1,e,E,,,,500,5,,,true",
        )
        recorded: list[Batch] = []

        async def crash_in_the_second_batch(session: AsyncSession, batch: Batch) -> None:
            if recorded:
                raise ConnectionResetError("the worker died before this batch committed")
            recorded.append(batch)

        with pytest.raises(ConnectionResetError):
            await import_catalog(
                resources.database.sessionmaker,
                file.lines(),
                batch_size=2,
                checkpoint=crash_in_the_second_batch,
            )
        (first,) = recorded
        assert (first.lines, first.last_line, [line for line, _ in first.rejected]) == (2, 3, [3])
        assert set(await variants(resources)) == {"A-1"}, "the second batch rolled back with its checkpoint"

        async def keep(session: AsyncSession, batch: Batch) -> None:
            recorded.append(batch)

        resumed = (line for line in file.lines() if line.line > first.last_line)
        report = await import_catalog(resources.database.sessionmaker, resumed, batch_size=2, checkpoint=keep)
        assert (report.total, report.applied, report.rejected) == (3, 3, [])
        assert [(b.lines, b.last_line) for b in recorded] == [(2, 3), (2, 5), (1, 6)]
        assert set(await variants(resources)) == {"A-1", "C-1", "D-1", "E-1"}
        assert [await movements(resources, sku) for sku in ("A-1", "C-1")] == [
            [(1, 1, "import")],
            [(3, 3, "import")],
        ]


class TestJsonLines:
    async def test_good_and_bad_lines(self, resources: Resources, shirts: uuid.UUID) -> None:
        file = jsonl_file(
            row("A-1", "alpha", attributes={"colour": "red"}, images=["https://img.example/a.jpg"], stock=3),
            "{not json",
            "",
            '["a list"]',
            row("B-1", "beta", colour="red"),
            row("C-1", "gamma", images="https://img.example/c.jpg"),
            row("D-1", "delta", attributes={"size": 42}),
            row("E-1", "epsilon", price_amount="100"),
            # The database refuses a NUL character: the new product of this line must not stay behind.
            row("F-1", "phi", variant_name="bad\u0000name"),
            row("A-2", "alpha", category_slug="shirts", is_active=False, price_amount=500),
        )
        report = await run_import(resources, file)
        reasons = dict(report.rejected)
        assert sorted(reasons) == [2, 4, 5, 6, 7, 8, 9]
        assert reasons[2].startswith("not valid JSON: ")
        assert reasons[4] == "not a JSON object"
        assert reasons[5] == "colour: Extra inputs are not permitted"
        assert reasons[6] == "images: Input should be a valid list"
        assert reasons[7] == "attributes.size: Input should be a valid string"
        assert reasons[8] == "price_amount: Input should be a valid integer"
        assert reasons[9] == 'refused by the database: invalid byte sequence for encoding "UTF8": 0x00'
        assert (report.total, report.applied) == (9, 2)
        assert set(await products(resources)) == {"alpha"}
        alpha = (await products(resources))["alpha"]
        assert alpha.category_id == shirts, "the line applied last sets the product's fields"
        assert alpha.is_active, "a product stays visible while one of its variants is active"
        assert alpha.price_sort == 1000, "only active variants count for the price"


class TestUpdateBySku:
    async def test_price_and_stock_change_are_seen_at_once_and_stock_moves_are_kept(
        self, resources: Resources, client: httpx.AsyncClient
    ) -> None:
        await run_import(resources, jsonl_file(row("U-1", "umbrella", price_amount=1500, stock=4)))
        before = (await client.get("/api/v1/products/by-slug/umbrella")).json()
        assert before["variants"][0]["price"]["amount"] == 1500
        await client.get(f"/api/v1/products/{before['id']}")  # both views are now cached

        report = await run_import(resources, jsonl_file(row("U-1", "umbrella", price_amount=1700, stock=1)))
        assert (report.applied, report.rejected) == (1, [])
        by_slug = (await client.get("/api/v1/products/by-slug/umbrella")).json()
        by_id = (await client.get(f"/api/v1/products/{before['id']}")).json()
        for view in (by_slug, by_id):
            assert view["variants"][0]["price"]["amount"] == 1700
            assert view["variants"][0]["stock_available"] == 1
        assert by_id["id"] == before["id"], "updated in place, by SKU"
        assert await movements(resources, "U-1") == [(4, 4, "import"), (-3, 1, "import")]

    async def test_the_same_file_twice_changes_nothing_the_second_time(self, resources: Resources) -> None:
        file = jsonl_file(row("S-1", "same", stock=2), row("S-2", "same", stock=0))
        await run_import(resources, file)
        first = (await products(resources))["same"].updated_at
        report = await run_import(resources, file)
        assert (report.applied, report.rejected) == (2, [])
        assert (await products(resources))["same"].updated_at == first
        assert await movements(resources, "S-1") == [(2, 2, "import")]

    async def test_an_archived_product_is_not_revived(self, resources: Resources) -> None:
        await run_import(resources, jsonl_file(row("Z-1", "zombie")))
        async with unit_of_work(resources.database) as session:
            await session.execute(Product.__table__.update().values(archived_at=func.now()))
        report = await run_import(resources, jsonl_file(row("Z-1", "zombie", price_amount=1), row("Z-2", "zombie")))
        assert report.rejected == [(1, "product 'zombie' is archived"), (2, "product 'zombie' is archived")]


class TestUnusableInput:
    def test_a_wrong_header_a_wrong_encoding_or_an_unknown_type(self) -> None:
        wrong = CatalogFile.from_bytes(b"sku,name\nA,B\n", FileFormat.csv)
        with pytest.raises(UnusableInput, match="the CSV header must be exactly: sku,product_slug,"):
            wrong.check()
        with pytest.raises(UnusableInput, match="header"):
            CatalogFile.from_bytes(b"", FileFormat.csv).check()
        latin1 = CatalogFile.from_bytes(f"{CSV_HEADER}\nA,b,Caf\xe9,,,,1,1,,,true\n".encode("latin-1"), FileFormat.csv)
        with pytest.raises(UnusableInput, match="line 2 is not UTF-8 text"):
            latin1.check()
        with pytest.raises(UnusableInput, match="neither CSV"):
            format_of("catalog.xlsx")
        assert format_of("CATALOG.CSV") is FileFormat.csv
        assert format_of("upload", "application/x-ndjson; charset=utf-8") is FileFormat.jsonl
        assert format_of("data.jsonl", "text/csv") is FileFormat.jsonl, "the extension wins"

    def test_a_byte_order_mark_and_crlf_line_ends_are_fine(self) -> None:
        text = "\ufeff" + CSV_HEADER + "\r\n" + "A-1,a,A,,,,100,1,,,true\r\n"
        file = CatalogFile.from_bytes(text.encode(), FileFormat.csv)
        assert file.check() == 1
        [line] = list(file.lines())
        assert line.line == 2
        assert line.values is not None and line.values["is_active"] is True
